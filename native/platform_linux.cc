// Linux side of platform.h.
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)  // linux/close_range.h, kernel 5.11
#endif

namespace dk {

int CloseRangeCloexec(int first, int limit) {
#ifdef SYS_close_range
  // glibc < 2.34 has no wrapper; the raw syscall is async-signal-safe either way.
  if (syscall(SYS_close_range, (unsigned int)first, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return 0;
  if (errno != ENOSYS && errno != EINVAL) return -errno;
#endif
  for (int fd = first; fd < limit; fd++) {
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0) continue;  // EBADF: not open
    if (!(flags & FD_CLOEXEC) && fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) return -errno;
  }
  return 0;
}

pid_t ForkInChild() {
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 34)
  return _Fork();
#else
  return fork();
#endif
}

int PipeCloexec(int fds[2]) {
  return pipe2(fds, O_CLOEXEC) == 0 ? 0 : -errno;
}

int SocketCloexec(int domain, int type, int protocol) {
  int fd = socket(domain, type | SOCK_CLOEXEC, protocol);
  return fd >= 0 ? fd : -errno;
}

int SendNoSignalFlags() { return MSG_NOSIGNAL; }

int SetResGid(gid_t r, gid_t e, gid_t s) { return setresgid(r, e, s) == 0 ? 0 : -errno; }
int SetResUid(uid_t r, uid_t e, uid_t s) { return setresuid(r, e, s) == 0 ? 0 : -errno; }
int GetResGid(gid_t* r, gid_t* e, gid_t* s) { return getresgid(r, e, s) == 0 ? 0 : -errno; }
int GetResUid(uid_t* r, uid_t* e, uid_t* s) { return getresuid(r, e, s) == 0 ? 0 : -errno; }

int GetGroupList(const char* user, gid_t gid, gid_t* groups, int* n) {
  int capacity = *n;
  if (getgrouplist(user, gid, groups, n) < 0) return *n > capacity ? -ERANGE : -EINVAL;
  return *n;
}

int SetChildSubreaper(int on) {
  return prctl(PR_SET_CHILD_SUBREAPER, on ? 1 : 0, 0, 0, 0) == 0 ? 0 : -errno;
}
int GetChildSubreaper(int* on) {
  return prctl(PR_GET_CHILD_SUBREAPER, on, 0, 0, 0) == 0 ? 0 : -errno;
}
int SetParentDeathSignal(int sig) {
  return prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) == 0 ? 0 : -errno;
}
int GetParentDeathSignal(int* sig) {
  return prctl(PR_GET_PDEATHSIG, sig, 0, 0, 0) == 0 ? 0 : -errno;
}
int SetNoNewPrivs() {
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 ? 0 : -errno;
}
int GetNoNewPrivs(int* on) {
  int r = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
  if (r < 0) return -errno;
  *on = r;
  return 0;
}

bool HasAbstractSockets() { return true; }

}  // namespace dk
