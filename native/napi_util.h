// The N-API side of the error model: native code reports (errno, syscall) and nothing else.
// src/errors.ts turns that into a Node-style Error with code, message and path.
#ifndef DAEMONKIT_NAPI_UTIL_H
#define DAEMONKIT_NAPI_UTIL_H

#include <napi.h>

#include <string>
#include <vector>

namespace dk {

// Throws { errno: -err, syscall[, fd] }. err is a positive errno value; fd names the
// descriptor the call failed on, when the caller cannot tell which it was.
inline void ThrowErrno(Napi::Env env, int err, const char* syscall, int fd = -1) {
  Napi::Object record = Napi::Object::New(env);
  record.Set("errno", Napi::Number::New(env, -err));
  record.Set("syscall", Napi::String::New(env, syscall));
  if (fd >= 0) record.Set("fd", Napi::Number::New(env, fd));
  NAPI_THROW_VOID(Napi::Error(env, record));
}

// Arguments are validated in TypeScript; these only keep a wrong call from crashing.
inline bool ArgsOk(const Napi::CallbackInfo& info, size_t n) {
  if (info.Length() >= n) return true;
  Napi::TypeError::New(info.Env(), "daemonkit native: wrong number of arguments")
      .ThrowAsJavaScriptException();
  return false;
}

inline std::vector<std::string> StringArray(Napi::Value value) {
  std::vector<std::string> out;
  if (!value.IsArray()) return out;
  Napi::Array array = value.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); i++) {
    out.push_back(array.Get(i).ToString().Utf8Value());
  }
  return out;
}

inline std::vector<int64_t> NumberArray(Napi::Value value) {
  std::vector<int64_t> out;
  if (!value.IsArray()) return out;
  Napi::Array array = value.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); i++) {
    out.push_back(array.Get(i).ToNumber().Int64Value());
  }
  return out;
}

// Registration of each concept's functions (one file each).
void InitSpawn(Napi::Env env, Napi::Object exports);
void InitFlock(Napi::Env env, Napi::Object exports);
void InitRlimit(Napi::Env env, Napi::Object exports);
void InitIdentity(Napi::Env env, Napi::Object exports);
void InitSocket(Napi::Env env, Napi::Object exports);
void InitProcess(Napi::Env env, Napi::Object exports);

}  // namespace dk

#endif
