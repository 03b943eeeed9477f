// Linux side of platform.h.
#include "platform.h"
#include "platform_common.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)  // linux/close_range.h, kernel 5.11
#endif

namespace dk {

#ifndef SYS_close_range
#define SYS_close_range 436  // the same number on every architecture (asm-generic)
#endif

int CloseRangeCloexec(int first, int limit) {
  // glibc < 2.34 has no wrapper; the raw syscall is async-signal-safe either way. Any failure
  // falls back to the sweep: old kernels say ENOSYS, kernels before 5.11 EINVAL for the flag,
  // and container seccomp profiles written before close_range existed say EPERM.
  if (syscall(SYS_close_range, (unsigned int)first, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return 0;
  return common::SweepCloexec(first, limit);
}

pid_t ForkInChild() {
  // clone(2) with only the exit signal is fork(2) without libc: no atfork handlers and no
  // _Fork@GLIBC_2.34. The caller was forked by libc's fork(), which left libc's state (locks,
  // thread list) consistent for one thread; the child only makes raw system calls until
  // execve, so the thread id libc cached for it is never read. The other arguments are zero;
  // only s390 takes the stack before the flags (clone(2), NOTES).
#if defined(__s390__)
  return (pid_t)syscall(SYS_clone, 0, SIGCHLD, 0, 0, 0);
#else
  return (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
#endif
}

// sigprocmask(2) and pthread_sigmask(3) are the same per-thread call in glibc and musl, and
// pthread_sigmask moved to GLIBC_2.32 when libpthread was merged into libc.
void BlockAllSignals(sigset_t* old) {
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, old);
}

void RestoreSignals(const sigset_t* old) { sigprocmask(SIG_SETMASK, old, nullptr); }

// The type, link count and owner of an open descriptor (an O_PATH one too). statx(2)
// (GLIBC_2.28) under glibc, because glibc >= 2.33 headers bind fstat(2) to
// fstat64@GLIBC_2.33; musl has no symbol versions, and statx only from 1.2.5.
static int StatFd(int fd, mode_t* mode, nlink_t* nlink, uid_t* uid) {
#if defined(__GLIBC__)
  struct statx st;
  if (statx(fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_NLINK | STATX_UID, &st) < 0) return -errno;
  *mode = st.stx_mode;
  *nlink = st.stx_nlink;
  *uid = st.stx_uid;
#else
  struct stat st;
  if (fstat(fd, &st) < 0) return -errno;
  *mode = st.st_mode;
  *nlink = st.st_nlink;
  *uid = st.st_uid;
#endif
  return 0;
}

int ChmodSocketFile(const char* path, mode_t mode) {
  // chmod(2) follows symbolic links and fchmod(2) on the socket descriptor changes the
  // socket, not the file. An O_PATH descriptor of the file itself, checked to be the socket
  // bind(2) just made (a socket, one link, ours: not a link to another service's socket
  // swapped in), then chmod through /proc/self/fd: what glibc's
  // fchmodat(AT_SYMLINK_NOFOLLOW) does.
  int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -errno;
  mode_t type = 0;
  nlink_t nlink = 0;
  uid_t uid = 0;
  int r = StatFd(fd, &type, &nlink, &uid);
  if (r == 0 && (!S_ISSOCK(type) || nlink != 1 || uid != geteuid())) r = -ELOOP;
  if (r == 0) {
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    if (chmod(proc, mode) < 0) r = -errno;
  }
  close(fd);
  return r;
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

int EnableSenderCredentials(int fd) {
  int on = 1;
  return setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
}

ssize_t RecvWithSender(int fd, char* buf, size_t len, pid_t* pid) {
  struct iovec iov = {buf, len};
  union {
    struct cmsghdr align;
    char space[CMSG_SPACE(sizeof(struct ucred))];
  } control;
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.space;
  msg.msg_controllen = sizeof control.space;
  ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (n < 0) return n;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
      struct ucred cred;
      memcpy(&cred, CMSG_DATA(c), sizeof cred);
      *pid = cred.pid;
    }
  }
  return n;
}

}  // namespace dk
