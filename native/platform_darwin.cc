// macOS side of platform.h. No close_range, pipe2, SOCK_CLOEXEC, MSG_NOSIGNAL, setresuid or
// prctl: each is emulated with what Darwin has, or reported as ENOSYS.
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

namespace dk {

int CloseRangeCloexec(int first, int limit) {
  for (int fd = first; fd < limit; fd++) {
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0) continue;
    if (!(flags & FD_CLOEXEC) && fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) return -errno;
  }
  return 0;
}

pid_t ForkInChild() { return fork(); }

void BlockAllSignals(sigset_t* old) {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, old);
}

void RestoreSignals(const sigset_t* old) { pthread_sigmask(SIG_SETMASK, old, nullptr); }

// Darwin has neither O_PATH nor a chmod that refuses links: lstat, then chmod. A link swapped
// in between is followed; keep socket paths in directories only the service owns.
int ChmodSocketFile(const char* path, mode_t mode) {
  struct stat st;
  if (lstat(path, &st) < 0) return -errno;
  if (!S_ISSOCK(st.st_mode)) return -ELOOP;
  return chmod(path, mode) == 0 ? 0 : -errno;
}

static int SetCloexec(int fd) {
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) return -errno;
  return 0;
}

int PipeCloexec(int fds[2]) {
  if (pipe(fds) < 0) return -errno;
  int r = SetCloexec(fds[0]);
  if (r == 0) r = SetCloexec(fds[1]);
  if (r < 0) {
    close(fds[0]);
    close(fds[1]);
  }
  return r;
}

int SocketCloexec(int domain, int type, int protocol) {
  int fd = socket(domain, type, protocol);
  if (fd < 0) return -errno;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
  int r = SetCloexec(fd);
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
// Darwin cannot read the saved ids; after setuid(2) as root they equal the real id.
int GetResGid(gid_t* r, gid_t* e, gid_t* s) {
  *r = getgid();
  *e = getegid();
  *s = *r;
  return 0;
}
int GetResUid(uid_t* r, uid_t* e, uid_t* s) {
  *r = getuid();
  *e = geteuid();
  *s = *r;
  return 0;
}

int GetGroupList(const char* user, gid_t gid, gid_t* groups, int* n) {
  int capacity = *n;
  if (getgrouplist(user, (int)gid, (int*)groups, n) < 0) return *n >= capacity ? -ERANGE : -EINVAL;
  return *n;
}

int SetChildSubreaper(int) { return -ENOSYS; }
int GetChildSubreaper(int*) { return -ENOSYS; }
int SetParentDeathSignal(int) { return -ENOSYS; }
int GetParentDeathSignal(int*) { return -ENOSYS; }
int SetNoNewPrivs() { return -ENOSYS; }
int GetNoNewPrivs(int*) { return -ENOSYS; }

bool HasAbstractSockets() { return false; }

int EnableSenderCredentials(int) {
  errno = ENOSYS;
  return -1;
}

ssize_t RecvWithSender(int fd, char* buf, size_t len, pid_t*) { return recv(fd, buf, len, MSG_DONTWAIT); }

}  // namespace dk
