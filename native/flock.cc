// Lock files: open without following links, flock(2) without blocking, and the descriptor
// flags a file handed to another process needs (close-on-exec, blocking).
// A lock that is held comes back as its errno (EWOULDBLOCK); src/flock.ts makes it false.
#include "napi_util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace dk {

namespace {

// openLockFile(path, create, mode, exclusive) -> fd. O_NOFOLLOW: a symlink planted where the PID file
// belongs fails with ELOOP instead of redirecting a root-owned write. O_NONBLOCK: a FIFO or
// a device planted there cannot make open(2) wait; the caller fstat()s and refuses anything
// but a regular file, on which O_NONBLOCK changes nothing.
Napi::Value OpenLockFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "openLockFile", 4);
  std::string path = args.String(0, "path");
  bool create = args.Bool(1, "create");
  mode_t mode = (mode_t)args.Int(2, "mode", 0, 07777);
  bool exclusive = args.Bool(3, "exclusive");
  if (!args.Ok()) return env.Undefined();
  int flags = O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  if (create) flags |= O_CREAT;
  if (exclusive) flags |= O_CREAT | O_EXCL;
  int fd;
  do {
    fd = open(path.c_str(), flags, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    ThrowErrno(env, errno, "open");
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// flock(fd, operation): operation 0 unlock, 1 shared, 2 exclusive. Always LOCK_NB: a
// blocking flock would stall the event loop (or a threadpool thread, which is worse), so a
// lock another open file description holds fails with EWOULDBLOCK (flock(2)).
Napi::Value Flock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "flock", 2);
  int fd = args.Fd(0, "fd");
  int op = (int)args.Int(1, "operation", 0, 2);
  if (!args.Ok()) return env.Undefined();
  int how = op == 0 ? LOCK_UN : op == 1 ? LOCK_SH : LOCK_EX;
  int r;
  do {
    r = flock(fd, how | LOCK_NB);
  } while (r < 0 && errno == EINTR);
  if (r < 0) ThrowErrno(env, errno, "flock");
  return env.Undefined();
}

// setCloexec(fd, on)
Napi::Value SetCloexec(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "setCloexec", 2);
  int fd = args.Fd(0, "fd");
  bool on = args.Bool(1, "on");
  if (!args.Ok()) return env.Undefined();
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0 || fcntl(fd, F_SETFD, on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC)) < 0) {
    ThrowErrno(env, errno, "fcntl");
  }
  return env.Undefined();
}

// setNonBlocking(fd, on): O_NONBLOCK on the open file description (fcntl(2) F_SETFL).
Napi::Value SetNonBlocking(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "setNonBlocking", 2);
  int fd = args.Fd(0, "fd");
  bool on = args.Bool(1, "on");
  if (!args.Ok()) return env.Undefined();
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK)) < 0) {
    ThrowErrno(env, errno, "fcntl");
  }
  return env.Undefined();
}

// getCloexec(fd) -> boolean
Napi::Value GetCloexec(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "getCloexec", 1);
  int fd = args.Fd(0, "fd");
  if (!args.Ok()) return env.Undefined();
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0) {
    ThrowErrno(env, errno, "fcntl");
    return env.Undefined();
  }
  return Napi::Boolean::New(env, (flags & FD_CLOEXEC) != 0);
}

}  // namespace

bool InitFlock(Napi::Env env, Napi::Object exports) {
  return Export(exports, "openLockFile", OpenLockFile) && Export(exports, "flock", Flock) &&
         Export(exports, "setCloexec", SetCloexec) && Export(exports, "getCloexec", GetCloexec) &&
         Export(exports, "setNonBlocking", SetNonBlocking);
}

}  // namespace dk
