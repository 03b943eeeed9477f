// platform.h for the systems that are neither Linux nor macOS (the BSDs, illumos, AIX...):
// plain POSIX.1-2008 only, with the few extensions every one of them is known to have
// chosen at compile time by their macros. What POSIX has no call for is reported as ENOSYS,
// as on macOS: prctl(2) settings, sender credentials on datagrams; and there are no abstract
// socket names. binding.gyp builds this file for every OS but linux, mac and win.
#include "platform.h"
#include "platform_common.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

// setresuid(2)/getresuid(2) are not POSIX, but FreeBSD, DragonFly, OpenBSD (and Linux) have
// them. Elsewhere the ids are set with setuid/setreuid and read with getuid/geteuid.
// -DDK_HAVE_SETRESUID=0 builds the fallback where setresuid exists (to test it).
#ifndef DK_HAVE_SETRESUID
#if defined(__FreeBSD__) || defined(__DragonFly__) || defined(__OpenBSD__) || defined(__linux__)
#define DK_HAVE_SETRESUID 1
#else
#define DK_HAVE_SETRESUID 0
#endif
#endif

namespace dk {

// The file bind(2) just made must be a socket, with one link, owned by us: not a link to
// another service's socket swapped in. fchmodat(2) with AT_SYMLINK_NOFOLLOW changes a
// symbolic link put there in the meantime (or refuses to), never what it points to. Where
// that flag is not supported (EOPNOTSUPP, as the specification allows for links, or EINVAL)
// this is lstat then chmod, as on macOS: a link swapped in between is followed, so keep
// socket paths in directories only the service owns.
int ChmodSocketFile(const char* path, mode_t mode) {
  struct stat st;
  if (lstat(path, &st) < 0) return -errno;
  if (!S_ISSOCK(st.st_mode) || st.st_nlink != 1 || st.st_uid != geteuid()) return -ELOOP;
  if (fchmodat(AT_FDCWD, path, mode, AT_SYMLINK_NOFOLLOW) == 0) return 0;
  if (errno != EOPNOTSUPP && errno != ENOTSUP && errno != EINVAL) return -errno;
  if (lstat(path, &st) < 0) return -errno;
  if (!S_ISSOCK(st.st_mode)) return -ELOOP;
  return chmod(path, mode) == 0 ? 0 : -errno;
}

int SocketCloexec(int domain, int type, int protocol) {
#ifdef SOCK_CLOEXEC
  int fd = socket(domain, type | SOCK_CLOEXEC, protocol);
  if (fd < 0) return -errno;
#else
  int fd = socket(domain, type, protocol);
  if (fd < 0) return -errno;
  int r = common::SetCloexec(fd);
  if (r < 0) {
    close(fd);
    return r;
  }
#endif
#if !defined(MSG_NOSIGNAL) && defined(SO_NOSIGPIPE)
  // No per-call flag: the socket itself is told not to raise SIGPIPE (as on macOS).
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
  return fd;
}

// MSG_NOSIGNAL is POSIX.1-2008; a system without it and without SO_NOSIGPIPE raises SIGPIPE
// on a closed peer, which Node ignores (it sets SIGPIPE to SIG_IGN at start-up).
int SendNoSignalFlags() {
#ifdef MSG_NOSIGNAL
  return MSG_NOSIGNAL;
#else
  return 0;
#endif
}

#if DK_HAVE_SETRESUID
int SetResGid(gid_t r, gid_t e, gid_t s) { return setresgid(r, e, s) == 0 ? 0 : -errno; }
int SetResUid(uid_t r, uid_t e, uid_t s) { return setresuid(r, e, s) == 0 ? 0 : -errno; }
int GetResGid(gid_t* r, gid_t* e, gid_t* s) { return getresgid(r, e, s) == 0 ? 0 : -errno; }
int GetResUid(uid_t* r, uid_t* e, uid_t* s) { return getresuid(r, e, s) == 0 ? 0 : -errno; }
#else
// All three ids alike (what a privilege drop asks for, and the only call spawn.cc makes
// between fork and execve): setuid(2), which with privilege sets the real, effective and
// saved ids (POSIX) and is async-signal-safe. Otherwise setreuid(2), which sets the saved id
// to the new effective one whenever the real one is set; other combinations cannot be made
// with POSIX calls.
int SetResGid(gid_t r, gid_t e, gid_t s) {
  if (r == e && e == s) return setgid(r) == 0 ? 0 : -errno;
  if (s != e || r == (gid_t)-1) return -ENOSYS;
  return setregid(r, e) == 0 ? 0 : -errno;
}
int SetResUid(uid_t r, uid_t e, uid_t s) {
  if (r == e && e == s) return setuid(r) == 0 ? 0 : -errno;
  if (s != e || r == (uid_t)-1) return -ENOSYS;
  return setreuid(r, e) == 0 ? 0 : -errno;
}
// POSIX cannot read the saved ids.
int GetResGid(gid_t* r, gid_t* e, gid_t* s) { return common::IdsWithoutSaved(getgid(), getegid(), r, e, s); }
int GetResUid(uid_t* r, uid_t* e, uid_t* s) { return common::IdsWithoutSaved(getuid(), geteuid(), r, e, s); }
#endif

// getgrouplist(3) is an extension whose signature differs between systems (gid_t* or int*);
// this walks the group database with getgrent(3) (POSIX, XSI) instead: gid first, then every
// group that lists user as a member, each once. getgrent is not reentrant: this runs on the
// JavaScript thread only, never between fork and execve. A group source that cannot be
// enumerated (some LDAP setups) yields fewer groups: a drop then keeps fewer, never more.
int GetGroupList(const char* user, gid_t gid, gid_t* groups, int* n) {
  int capacity = *n;
  int count = 0;
  auto add = [&](gid_t g) {
    for (int i = 0; i < count && i < capacity; i++) {
      if (groups[i] == g) return;
    }
    if (count < capacity) groups[count] = g;
    count++;  // past capacity: counted for the size needed (duplicates may overcount)
  };
  add(gid);
  setgrent();
  int err = 0;
  for (;;) {
    errno = 0;
    struct group* gr = getgrent();
    if (gr == nullptr) {
      // End of the database or an error, told apart by errno (getgrent(3)); some libcs set
      // ENOENT at the end.
      if (errno != 0 && errno != ENOENT) err = errno;
      break;
    }
    for (char** member = gr->gr_mem; member != nullptr && *member != nullptr; member++) {
      if (strcmp(*member, user) == 0) {
        add(gr->gr_gid);
        break;
      }
    }
  }
  endgrent();
  if (err != 0) return -err;
  *n = count;
  return count > capacity ? -ERANGE : count;
}

// MSG_DONTWAIT is not POSIX.1-2008; bindDatagram's sockets are O_NONBLOCK, which does the
// same for them.
ssize_t RecvWithSender(int fd, char* buf, size_t len, pid_t*) {
#ifdef MSG_DONTWAIT
  return recv(fd, buf, len, MSG_DONTWAIT);
#else
  return recv(fd, buf, len, 0);
#endif
}

}  // namespace dk
