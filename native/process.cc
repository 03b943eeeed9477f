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
