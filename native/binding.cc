// Module entry: each concept registers its own functions.
#include "napi_util.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Each stops at its first failure, with the exception pending: loading the addon throws it.
  if (dk::InitSpawn(env, exports) && dk::InitFlock(env, exports) && dk::InitRlimit(env, exports) &&
      dk::InitIdentity(env, exports) && dk::InitSocket(env, exports) && dk::InitProcess(env, exports) &&
      dk::InitDirfd(env, exports)) {
    dk::InitPoll(env, exports);
  }
  return exports;
}

NODE_API_MODULE(daemonkit, Init)
