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

// Checked by Args::Limit: an integer >= 0 that a double holds exactly, or Infinity.
rlim_t FromJs(double d) { return isinf(d) ? RLIM_INFINITY : (rlim_t)d; }

// getrlimit(resource) -> [soft, hard]
Napi::Value GetRlimit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "getrlimit", 1);
  int resource = args.Int32(0, "resource");
  if (!args.Ok()) return env.Undefined();
  struct rlimit lim;
  if (getrlimit(resource, &lim) < 0) {
    ThrowErrno(env, errno, "getrlimit");
    return env.Undefined();
  }
  Napi::Array out = Napi::Array::New(env, 2);
  if (!Put(out, 0u, ToJs(env, lim.rlim_cur)) || !Put(out, 1u, ToJs(env, lim.rlim_max))) return env.Undefined();
  return out;
}

// setrlimit(resource, soft, hard)
Napi::Value SetRlimit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "setrlimit", 3);
  int resource = args.Int32(0, "resource");
  struct rlimit lim;
  lim.rlim_cur = FromJs(args.Limit(1, "soft"));
  lim.rlim_max = FromJs(args.Limit(2, "hard"));
  if (!args.Ok()) return env.Undefined();
  if (setrlimit(resource, &lim) < 0) ThrowErrno(env, errno, "setrlimit");
  return env.Undefined();
}

}  // namespace

bool InitRlimit(Napi::Env env, Napi::Object exports) {
  Napi::Object resources = Napi::Object::New(env);
  for (const Resource& r : kResources) {
    if (!Put(resources, r.name, Napi::Number::New(env, r.id))) return false;
  }
  return Put(exports, "rlimitResources", resources) && Export(exports, "getrlimit", GetRlimit) &&
         Export(exports, "setrlimit", SetRlimit);
}

}  // namespace dk
