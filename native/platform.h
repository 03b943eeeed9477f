// What differs between Linux, macOS and other POSIX systems, behind one set of names
// (platform_linux.cc, platform_darwin.cc, platform_posix.cc). Each function returns 0 (or a
// value >= 0) on success and -errno on failure, and is async-signal-safe unless noted, so
// spawn.cc may call it between fork and execve.
#ifndef DAEMONKIT_PLATFORM_H
#define DAEMONKIT_PLATFORM_H

#include <signal.h>
#include <sys/types.h>

namespace dk {

// Marks every descriptor >= first close-on-exec. close_range(2) where the kernel has it;
// otherwise fcntl(2) on each descriptor below limit (computed before fork).
int CloseRangeCloexec(int first, int limit);

// fork(2) in a process that is single-threaded but was forked from a multithreaded one (the
// middle process of a double fork): no pthread_atfork handlers (they may take locks another
// thread of the original parent held), and no libc symbol newer than the oldest libc we load
// on (glibc 2.28: _Fork(3) is 2.34).
pid_t ForkInChild();

// Blocks every signal for the calling thread around fork(2), so no handler runs in the child
// before it resets them, and restores the previous mask.
void BlockAllSignals(sigset_t* old);
void RestoreSignals(const sigset_t* old);

// chmod(2) of the socket file just bound at path, without following a symbolic link that
// may have replaced it; -ELOOP if it is not a socket any more.
int ChmodSocketFile(const char* path, mode_t mode);

// pipe(2) with both ends close-on-exec and, on request, non-blocking.
int PipeCloexec(int fds[2]);

// socket(2) with the descriptor close-on-exec (SOCK_CLOEXEC where it exists).
int SocketCloexec(int domain, int type, int protocol);

// Flags for send(2) that keep a closed peer from raising SIGPIPE.
int SendNoSignalFlags();

// Real, effective and saved ids. macOS (and some other systems) have no setresuid(2): they
// use setuid/setgid, which for root set all three.
int SetResGid(gid_t rgid, gid_t egid, gid_t sgid);
int SetResUid(uid_t ruid, uid_t euid, uid_t suid);
int GetResGid(gid_t* rgid, gid_t* egid, gid_t* sgid);  // not signal-safe on macOS
int GetResUid(uid_t* ruid, uid_t* euid, uid_t* suid);

// getgrouplist(3): Linux takes gid_t*, macOS int*; elsewhere getgrent(3). Returns the count
// or -errno; *n is the capacity on input and the needed size when it is too small (-ERANGE).
// Not signal-safe.
int GetGroupList(const char* user, gid_t gid, gid_t* groups, int* n);

// prctl(2) on Linux; -ENOSYS elsewhere.
int SetChildSubreaper(int on);
int GetChildSubreaper(int* on);
int SetParentDeathSignal(int sig);
int GetParentDeathSignal(int* sig);
int SetNoNewPrivs();
int GetNoNewPrivs(int* on);

// Asks the kernel to attach the sender's credentials to each datagram received on fd
// (SO_PASSCRED); -1 with errno ENOSYS where it cannot.
int EnableSenderCredentials(int fd);

// recvmsg(2) of one datagram without blocking; *pid is the sender's pid where the kernel
// attached it, else left alone. Returns the size, or -1 with errno.
ssize_t RecvWithSender(int fd, char* buf, size_t len, pid_t* pid);

// Abstract AF_UNIX names exist only on Linux.
bool HasAbstractSockets();

}  // namespace dk

#endif
