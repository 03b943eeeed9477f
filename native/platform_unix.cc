// The part of platform.h that macOS and the other non-Linux Unixes share word for word: no
// close_range(2), no raw clone, no pipe2(2) everywhere (Linux has its own, platform_linux.cc).
#include "platform.h"
#include "platform_common.h"

#include <errno.h>
#include <unistd.h>

namespace dk {

// fcntl(2) on each descriptor: the only sweep POSIX has (close_range(2) and closefrom(3) are
// extensions, and closefrom closes instead of marking). fcntl is async-signal-safe.
int CloseRangeCloexec(int first, int limit) { return common::SweepCloexec(first, limit); }

// fork(2), which runs the pthread_atfork(3) handlers the Linux build avoids: the fork that
// runs none, _Fork(3), is POSIX only since 2024 and not yet on every system this is for.
pid_t ForkInChild() { return fork(); }

void BlockAllSignals(sigset_t* old) { common::BlockAllSignals(old); }
void RestoreSignals(const sigset_t* old) { common::RestoreSignals(old); }

// pipe2(2) is POSIX only since 2024.
int PipeCloexec(int fds[2]) { return common::PipeThenCloexec(fds); }

// prctl(2) is Linux's.
int SetChildSubreaper(int) { return -ENOSYS; }
int GetChildSubreaper(int*) { return -ENOSYS; }
int SetParentDeathSignal(int) { return -ENOSYS; }
int GetParentDeathSignal(int*) { return -ENOSYS; }
int SetNoNewPrivs() { return -ENOSYS; }
int GetNoNewPrivs(int*) { return -ENOSYS; }

// Abstract socket names and SO_PASSCRED are Linux's: datagrams arrive without the sender's
// pid.
bool HasAbstractSockets() { return false; }

int EnableSenderCredentials(int) {
  errno = ENOSYS;
  return -1;
}

}  // namespace dk
