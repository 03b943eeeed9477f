// macOS side of platform.h. No close_range, pipe2, SOCK_CLOEXEC, MSG_NOSIGNAL, setresuid or
// prctl: each is emulated with what Darwin has, or reported as ENOSYS.
#include "platform.h"
#include "platform_common.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

namespace dk {

// Darwin has neither O_PATH nor a chmod that refuses links: lstat, then chmod. A link swapped
// in between is followed; keep socket paths in directories only the service owns.
int ChmodSocketFile(const char* path, mode_t mode) {
  struct stat st;
  if (lstat(path, &st) < 0) return -errno;
  if (!S_ISSOCK(st.st_mode)) return -ELOOP;
  return chmod(path, mode) == 0 ? 0 : -errno;
}

int SocketCloexec(int domain, int type, int protocol) {
  int fd = socket(domain, type, protocol);
  if (fd < 0) return -errno;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
  int r = common::SetCloexec(fd);
  if (r < 0) {
    close(fd);
    return r;
  }
  return fd;
}

int SendNoSignalFlags() { return 0; }  // SO_NOSIGPIPE is set on the socket instead

int SetResGid(gid_t r, gid_t e, gid_t s) {
  if (r != e || e != s) return -ENOSYS;
  return setgid(r) == 0 ? 0 : -errno;
}
int SetResUid(uid_t r, uid_t e, uid_t s) {
  if (r != e || e != s) return -ENOSYS;
  return setuid(r) == 0 ? 0 : -errno;
}
// Darwin cannot read the saved ids.
int GetResGid(gid_t* r, gid_t* e, gid_t* s) { return common::IdsWithoutSaved(getgid(), getegid(), r, e, s); }
int GetResUid(uid_t* r, uid_t* e, uid_t* s) { return common::IdsWithoutSaved(getuid(), geteuid(), r, e, s); }

int GetGroupList(const char* user, gid_t gid, gid_t* groups, int* n) {
  int capacity = *n;
  if (getgrouplist(user, (int)gid, (int*)groups, n) < 0) return *n >= capacity ? -ERANGE : -EINVAL;
  return *n;
}

ssize_t RecvWithSender(int fd, char* buf, size_t len, pid_t*) { return recv(fd, buf, len, MSG_DONTWAIT); }

}  // namespace dk
