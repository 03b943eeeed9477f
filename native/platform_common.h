// Pieces of platform.h that are the same plain POSIX on every platform file that needs them,
// written once. Each is async-signal-safe unless noted.
#ifndef DAEMONKIT_PLATFORM_COMMON_H
#define DAEMONKIT_PLATFORM_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

namespace dk {
namespace common {

inline int SetCloexec(int fd) {
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) return -errno;
  return 0;
}

// fcntl(2) on each descriptor below limit: the sweep where close_range(2) is missing or
// refused.
inline int SweepCloexec(int first, int limit) {
  for (int fd = first; fd < limit; fd++) {
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0) continue;  // EBADF: not open
    if (!(flags & FD_CLOEXEC) && fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) return -errno;
  }
  return 0;
}

// pipe(2) then FD_CLOEXEC, where pipe2(2) is missing. Between the two calls a fork and exec
// in another thread would inherit the descriptors; Node's child_process spawns from the main
// thread, as daemonkit does. Not signal-safe to rely on: called before fork only.
inline int PipeThenCloexec(int fds[2]) {
  if (pipe(fds) < 0) return -errno;
  int r = SetCloexec(fds[0]);
  if (r == 0) r = SetCloexec(fds[1]);
  if (r < 0) {
    close(fds[0]);
    close(fds[1]);
  }
  return r;
}

inline void BlockAllSignals(sigset_t* old) {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, old);
}

inline void RestoreSignals(const sigset_t* old) { pthread_sigmask(SIG_SETMASK, old, nullptr); }

// Without getresuid(2) the saved id cannot be read. After setuid(2) made with privilege it
// equals the real one; the drop's proof is that setuid(0) then fails (src/os/privileges.ts).
template <typename Id>
inline int IdsWithoutSaved(Id real, Id effective, Id* r, Id* e, Id* s) {
  *r = real;
  *e = effective;
  *s = real;
  return 0;
}

}  // namespace common
}  // namespace dk

#endif
