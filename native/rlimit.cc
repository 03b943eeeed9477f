// getrlimit(2)/setrlimit(2) for every resource this platform defines. Unlimited is Infinity.
#include "napi_util.h"

#include <errno.h>
#include <math.h>
#include <sys/resource.h>

namespace dk {

namespace {

struct Resource {
  const char* name;
  int id;
};

// Lower-case names without the RLIMIT_ prefix, as in prlimit(1) and systemd's Limit*=.
const Resource kResources[] = {
#ifdef RLIMIT_AS
    {"as", RLIMIT_AS},
#endif
#ifdef RLIMIT_CORE
    {"core", RLIMIT_CORE},
#endif
#ifdef RLIMIT_CPU
    {"cpu", RLIMIT_CPU},
#endif
#ifdef RLIMIT_DATA
    {"data", RLIMIT_DATA},
#endif
#ifdef RLIMIT_FSIZE
    {"fsize", RLIMIT_FSIZE},
#endif
#ifdef RLIMIT_LOCKS
    {"locks", RLIMIT_LOCKS},
#endif
#ifdef RLIMIT_MEMLOCK
    {"memlock", RLIMIT_MEMLOCK},
#endif
#ifdef RLIMIT_MSGQUEUE
    {"msgqueue", RLIMIT_MSGQUEUE},
#endif
#ifdef RLIMIT_NICE
    {"nice", RLIMIT_NICE},
#endif
#ifdef RLIMIT_NOFILE
    {"nofile", RLIMIT_NOFILE},
#endif
#ifdef RLIMIT_NPROC
    {"nproc", RLIMIT_NPROC},
#endif
#ifdef RLIMIT_RSS
    {"rss", RLIMIT_RSS},
#endif
#ifdef RLIMIT_RTPRIO
    {"rtprio", RLIMIT_RTPRIO},
#endif
#ifdef RLIMIT_RTTIME
    {"rttime", RLIMIT_RTTIME},
#endif
#ifdef RLIMIT_SIGPENDING
    {"sigpending", RLIMIT_SIGPENDING},
#endif
#ifdef RLIMIT_STACK
    {"stack", RLIMIT_STACK},
#endif
};

Napi::Value ToJs(Napi::Env env, rlim_t v) {
  return Napi::Number::New(env, v == RLIM_INFINITY ? INFINITY : (double)v);
}

rlim_t FromJs(Napi::Value v) {
  double d = v.ToNumber().DoubleValue();
  return isinf(d) ? RLIM_INFINITY : (rlim_t)d;
}

// getrlimit(resource) -> [soft, hard]
Napi::Value GetRlimit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgsOk(info, 1)) return env.Undefined();
  struct rlimit lim;
  if (getrlimit(info[0].ToNumber().Int32Value(), &lim) < 0) {
    ThrowErrno(env, errno, "getrlimit");
    return env.Undefined();
  }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, ToJs(env, lim.rlim_cur));
  out.Set(1u, ToJs(env, lim.rlim_max));
  return out;
}

// setrlimit(resource, soft, hard)
Napi::Value SetRlimit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgsOk(info, 3)) return env.Undefined();
  struct rlimit lim;
  lim.rlim_cur = FromJs(info[1]);
  lim.rlim_max = FromJs(info[2]);
  if (env.IsExceptionPending()) return env.Undefined();
  if (setrlimit(info[0].ToNumber().Int32Value(), &lim) < 0) ThrowErrno(env, errno, "setrlimit");
  return env.Undefined();
}

}  // namespace

void InitRlimit(Napi::Env env, Napi::Object exports) {
  Napi::Object resources = Napi::Object::New(env);
  for (const Resource& r : kResources) resources.Set(r.name, Napi::Number::New(env, r.id));
  exports.Set("rlimitResources", resources);
  exports.Set("getrlimit", Napi::Function::New(env, GetRlimit, "getrlimit"));
  exports.Set("setrlimit", Napi::Function::New(env, SetRlimit, "setrlimit"));
}

}  // namespace dk
