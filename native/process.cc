// Sessions and process groups, and the prctl(2) settings a daemon or supervisor wants.
#include "napi_util.h"
#include "platform.h"

#include <errno.h>
#include <unistd.h>

namespace dk {

namespace {

Napi::Value SetSid(const Napi::CallbackInfo& info) {
  pid_t sid = setsid();
  if (sid < 0) {
    ThrowErrno(info.Env(), errno, "setsid");
    return info.Env().Undefined();
  }
  return Napi::Number::New(info.Env(), sid);
}

// getsid(pid) / getpgid(pid); 0 means this process.
Napi::Value GetSid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgsOk(info, 1)) return env.Undefined();
  pid_t sid = getsid((pid_t)info[0].ToNumber().Int32Value());
  if (sid < 0) {
    ThrowErrno(env, errno, "getsid");
    return env.Undefined();
  }
  return Napi::Number::New(env, sid);
}

Napi::Value GetPgid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgsOk(info, 1)) return env.Undefined();
  pid_t pgid = getpgid((pid_t)info[0].ToNumber().Int32Value());
  if (pgid < 0) {
    ThrowErrno(env, errno, "getpgid");
    return env.Undefined();
  }
  return Napi::Number::New(env, pgid);
}

// pipe() -> [read, write], both close-on-exec: the readiness channel between a launcher and
// its daemon.
Napi::Value Pipe(const Napi::CallbackInfo& info) {
  int fds[2];
  int r = PipeCloexec(fds);
  if (r < 0) {
    ThrowErrno(info.Env(), -r, "pipe");
    return info.Env().Undefined();
  }
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, Napi::Number::New(info.Env(), fds[0]));
  out.Set(1u, Napi::Number::New(info.Env(), fds[1]));
  return out;
}

// chroot(path). The caller chdirs to "/" afterwards (chroot(2) leaves the cwd outside).
Napi::Value Chroot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgsOk(info, 1)) return env.Undefined();
  std::string path = info[0].ToString().Utf8Value();
  if (chroot(path.c_str()) < 0) ThrowErrno(env, errno, "chroot");
  return env.Undefined();
}

// dup2(old, new): points a descriptor (stdout, stderr) at another open file.
Napi::Value Dup2(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgsOk(info, 2)) return env.Undefined();
  int r;
  do {
    r = dup2(info[0].ToNumber().Int32Value(), info[1].ToNumber().Int32Value());
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
  if (!ArgsOk(info, 1)) return env.Undefined();
  return Result(env, SetChildSubreaper(info[0].ToBoolean().Value() ? 1 : 0), env.Undefined());
}

Napi::Value GetChildSubreaperJs(const Napi::CallbackInfo& info) {
  int on = 0;
  int r = GetChildSubreaper(&on);
  return Result(info.Env(), r, Napi::Boolean::New(info.Env(), on != 0));
}

Napi::Value SetParentDeathSignalJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgsOk(info, 1)) return env.Undefined();
  return Result(env, SetParentDeathSignal(info[0].ToNumber().Int32Value()), env.Undefined());
}

Napi::Value GetParentDeathSignalJs(const Napi::CallbackInfo& info) {
  int sig = 0;
  int r = GetParentDeathSignal(&sig);
  return Result(info.Env(), r, Napi::Number::New(info.Env(), sig));
}

Napi::Value SetNoNewPrivsJs(const Napi::CallbackInfo& info) {
  return Result(info.Env(), SetNoNewPrivs(), info.Env().Undefined());
}

Napi::Value GetNoNewPrivsJs(const Napi::CallbackInfo& info) {
  int on = 0;
  int r = GetNoNewPrivs(&on);
  return Result(info.Env(), r, Napi::Boolean::New(info.Env(), on != 0));
}

}  // namespace

void InitProcess(Napi::Env env, Napi::Object exports) {
  exports.Set("setsid", Napi::Function::New(env, SetSid, "setsid"));
  exports.Set("pipe", Napi::Function::New(env, Pipe, "pipe"));
  exports.Set("chroot", Napi::Function::New(env, Chroot, "chroot"));
  exports.Set("dup2", Napi::Function::New(env, Dup2, "dup2"));
  exports.Set("getsid", Napi::Function::New(env, GetSid, "getsid"));
  exports.Set("getpgid", Napi::Function::New(env, GetPgid, "getpgid"));
  exports.Set("setChildSubreaper", Napi::Function::New(env, SetChildSubreaperJs, "setChildSubreaper"));
  exports.Set("getChildSubreaper", Napi::Function::New(env, GetChildSubreaperJs, "getChildSubreaper"));
  exports.Set("setParentDeathSignal", Napi::Function::New(env, SetParentDeathSignalJs, "setParentDeathSignal"));
  exports.Set("getParentDeathSignal", Napi::Function::New(env, GetParentDeathSignalJs, "getParentDeathSignal"));
  exports.Set("setNoNewPrivs", Napi::Function::New(env, SetNoNewPrivsJs, "setNoNewPrivs"));
  exports.Set("getNoNewPrivs", Napi::Function::New(env, GetNoNewPrivsJs, "getNoNewPrivs"));
}

}  // namespace dk
