// Sessions and process groups, and the prctl(2) settings a daemon or supervisor wants.
#include "napi_util.h"
#include "platform.h"

#include <errno.h>
#include <unistd.h>

namespace dk {

namespace {

Napi::Value SetSid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "setsid", 0);
  if (!args.Ok()) return env.Undefined();
  pid_t sid = setsid();
  if (sid < 0) {
    ThrowErrno(env, errno, "setsid");
    return env.Undefined();
  }
  return Napi::Number::New(env, sid);
}

// getsid(pid) / getpgid(pid); 0 means this process.
Napi::Value GetSid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "getsid", 1);
  pid_t pid = (pid_t)args.Int32(0, "pid");
  if (!args.Ok()) return env.Undefined();
  pid_t sid = getsid(pid);
  if (sid < 0) {
    ThrowErrno(env, errno, "getsid");
    return env.Undefined();
  }
  return Napi::Number::New(env, sid);
}

Napi::Value GetPgid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "getpgid", 1);
  pid_t pid = (pid_t)args.Int32(0, "pid");
  if (!args.Ok()) return env.Undefined();
  pid_t pgid = getpgid(pid);
  if (pgid < 0) {
    ThrowErrno(env, errno, "getpgid");
    return env.Undefined();
  }
  return Napi::Number::New(env, pgid);
}

// pipe() -> [read, write], both close-on-exec: the readiness channel between a launcher and
// its daemon.
Napi::Value Pipe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "pipe", 0);
  if (!args.Ok()) return env.Undefined();
  int fds[2];
  int r = PipeCloexec(fds);
  if (r < 0) {
    ThrowErrno(env, -r, "pipe");
    return env.Undefined();
  }
  Napi::Array out = Napi::Array::New(env, 2);
  if (!Put(out, 0u, Napi::Number::New(env, fds[0])) || !Put(out, 1u, Napi::Number::New(env, fds[1]))) {
    // Nobody will ever learn these numbers: they would leak.
    close(fds[0]);
    close(fds[1]);
    return env.Undefined();
  }
  return out;
}

// chroot(path). The caller chdirs to "/" afterwards (chroot(2) leaves the cwd outside).
Napi::Value Chroot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "chroot", 1);
  std::string path = args.String(0, "path");
  if (!args.Ok()) return env.Undefined();
  if (chroot(path.c_str()) < 0) ThrowErrno(env, errno, "chroot");
  return env.Undefined();
}

// dup2(old, new): points a descriptor (stdout, stderr) at another open file.
Napi::Value Dup2(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "dup2", 2);
  int old_fd = args.Fd(0, "oldFd");
  int new_fd = args.Fd(1, "newFd");
  if (!args.Ok()) return env.Undefined();
  int r;
  do {
    r = dup2(old_fd, new_fd);
  } while (r < 0 && errno == EINTR);
  if (r < 0) ThrowErrno(env, errno, "dup2");
  return env.Undefined();
}

Napi::Value Result(Napi::Env env, int r, Napi::Value value) {
  if (r < 0) {
    ThrowErrno(env, -r, "prctl");
    return env.Undefined();
  }
  return value;
}

Napi::Value SetChildSubreaperJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "setChildSubreaper", 1);
  bool on = args.Bool(0, "on");
  if (!args.Ok()) return env.Undefined();
  return Result(env, SetChildSubreaper(on ? 1 : 0), env.Undefined());
}

Napi::Value GetChildSubreaperJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "getChildSubreaper", 0);
  if (!args.Ok()) return env.Undefined();
  int on = 0;
  int r = GetChildSubreaper(&on);
  return Result(env, r, Napi::Boolean::New(env, on != 0));
}

Napi::Value SetParentDeathSignalJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "setParentDeathSignal", 1);
  int sig = args.Int32(0, "signal");
  if (!args.Ok()) return env.Undefined();
  return Result(env, SetParentDeathSignal(sig), env.Undefined());
}

Napi::Value GetParentDeathSignalJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "getParentDeathSignal", 0);
  if (!args.Ok()) return env.Undefined();
  int sig = 0;
  int r = GetParentDeathSignal(&sig);
  return Result(env, r, Napi::Number::New(env, sig));
}

Napi::Value SetNoNewPrivsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "setNoNewPrivs", 0);
  if (!args.Ok()) return env.Undefined();
  return Result(env, SetNoNewPrivs(), env.Undefined());
}

Napi::Value GetNoNewPrivsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "getNoNewPrivs", 0);
  if (!args.Ok()) return env.Undefined();
  int on = 0;
  int r = GetNoNewPrivs(&on);
  return Result(env, r, Napi::Boolean::New(env, on != 0));
}

}  // namespace

bool InitProcess(Napi::Env env, Napi::Object exports) {
  return Export(exports, "setsid", SetSid) && Export(exports, "pipe", Pipe) && Export(exports, "chroot", Chroot) &&
         Export(exports, "dup2", Dup2) && Export(exports, "getsid", GetSid) && Export(exports, "getpgid", GetPgid) &&
         Export(exports, "setChildSubreaper", SetChildSubreaperJs) &&
         Export(exports, "getChildSubreaper", GetChildSubreaperJs) &&
         Export(exports, "setParentDeathSignal", SetParentDeathSignalJs) &&
         Export(exports, "getParentDeathSignal", GetParentDeathSignalJs) &&
         Export(exports, "setNoNewPrivs", SetNoNewPrivsJs) && Export(exports, "getNoNewPrivs", GetNoNewPrivsJs);
}

}  // namespace dk
