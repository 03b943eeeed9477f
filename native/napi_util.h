// The N-API side of the error model: native code reports (errno, syscall) and nothing else.
// src/errors.ts turns that into a Node-style Error with code, message and path.
#ifndef DAEMONKIT_NAPI_UTIL_H
#define DAEMONKIT_NAPI_UTIL_H

#include <napi.h>

#include <cmath>
#include <utility>

#include <string>
#include <vector>

namespace dk {

// { errno: -err, syscall }: what src/errors.ts turns into a SystemError. err is a positive
// errno value.
inline Napi::Object ErrnoRecord(Napi::Env env, int err, const char* syscall) {
  Napi::Object record = Napi::Object::New(env);
  record.Set("errno", Napi::Number::New(env, -err));
  record.Set("syscall", Napi::String::New(env, syscall));
  return record;
}

// Throws ErrnoRecord(); fd names the descriptor the call failed on, when the caller cannot
// tell which it was.
inline void ThrowErrno(Napi::Env env, int err, const char* syscall, int fd = -1) {
  Napi::Object record = ErrnoRecord(env, err, syscall);
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

inline std::vector<int64_t> NumberArray(Napi::Value value) {
  std::vector<int64_t> out;
  if (!value.IsArray()) return out;
  Napi::Array array = value.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); i++) {
    out.push_back(array.Get(i).ToNumber().Int64Value());
  }
  return out;
}

// Reads the fields of one options object by name, each checked for its type: a wrong call
// throws one TypeError naming the field (the first one wrong) instead of reading garbage.
// TypeScript validates every value before it gets here; this only keeps a bad call safe.
class Reader {
 public:
  explicit Reader(Napi::Value value) : env_(value.Env()) {
    if (value.IsObject()) {
      object_ = value.As<Napi::Object>();
    } else {
      Fail("(options)", "an object");
    }
  }

  // Present, and neither undefined nor null.
  bool Has(const char* key) {
    Napi::Value v = Get(key);
    return ok_ && !v.IsUndefined() && !v.IsNull();
  }

  std::string String(const char* key) {
    Napi::Value v = Get(key);
    if (!ok_) return "";
    if (!v.IsString()) return Fail(key, "a string"), "";
    return v.As<Napi::String>().Utf8Value();
  }

  bool Bool(const char* key) {
    Napi::Value v = Get(key);
    if (!ok_) return false;
    if (!v.IsBoolean()) return Fail(key, "a boolean"), false;
    return v.As<Napi::Boolean>().Value();
  }

  int64_t Int(const char* key) { return IntOf(Get(key), key); }

  Napi::Value Object(const char* key) {
    Napi::Value v = Get(key);
    if (ok_ && !v.IsObject()) Fail(key, "an object");
    return v;
  }

  std::vector<std::string> StringArray(const char* key) {
    std::vector<std::string> out;
    Napi::Array a = ArrayOf(key);
    for (uint32_t i = 0; ok_ && i < a.Length(); i++) {
      Napi::Value v = a.Get(i);
      if (!v.IsString()) return Fail(key, "an array of strings"), out;
      out.push_back(v.As<Napi::String>().Utf8Value());
    }
    return out;
  }

  std::vector<int64_t> IntArray(const char* key) {
    std::vector<int64_t> out;
    Napi::Array a = ArrayOf(key);
    for (uint32_t i = 0; ok_ && i < a.Length(); i++) out.push_back(IntOf(a.Get(i), key));
    return out;
  }

  // An array of arrays of n numbers (Infinity allowed).
  std::vector<std::vector<double>> NumberTuples(const char* key, uint32_t n) {
    std::vector<std::vector<double>> out;
    Napi::Array a = ArrayOf(key);
    for (uint32_t i = 0; ok_ && i < a.Length(); i++) {
      Napi::Value t = a.Get(i);
      if (!t.IsArray() || t.As<Napi::Array>().Length() != n) return Fail(key, "an array of tuples"), out;
      std::vector<double> tuple;
      for (uint32_t j = 0; j < n; j++) {
        Napi::Value v = t.As<Napi::Array>().Get(j);
        if (!v.IsNumber() || std::isnan(v.As<Napi::Number>().DoubleValue())) return Fail(key, "an array of number tuples"), out;
        tuple.push_back(v.As<Napi::Number>().DoubleValue());
      }
      out.push_back(std::move(tuple));
    }
    return out;
  }

  // False once a field was wrong (a TypeError is pending) or a getter threw.
  bool Ok() const { return ok_ && !env_.IsExceptionPending(); }

 private:
  Napi::Value Get(const char* key) {
    if (!ok_) return env_.Undefined();
    Napi::Value v = object_.Get(key);
    if (env_.IsExceptionPending()) ok_ = false;
    return v;
  }

  Napi::Array ArrayOf(const char* key) {
    Napi::Value v = Get(key);
    if (ok_ && !v.IsArray()) Fail(key, "an array");
    return ok_ ? v.As<Napi::Array>() : Napi::Array::New(env_);
  }

  int64_t IntOf(Napi::Value v, const char* key) {
    if (!ok_) return 0;
    if (!v.IsNumber()) return Fail(key, "a number"), 0;
    double d = v.As<Napi::Number>().DoubleValue();
    if (d != std::trunc(d) || d < -9007199254740991.0 || d > 9007199254740991.0) return Fail(key, "an integer"), 0;
    return (int64_t)d;
  }

  void Fail(const char* key, const char* expected) {
    // One exception at a time: N-API aborts the process on a second throw.
    if (!ok_ || env_.IsExceptionPending()) {
      ok_ = false;
      return;
    }
    ok_ = false;
    std::string message = std::string("daemonkit native: '") + key + "' must be " + expected;
    Napi::TypeError::New(env_, message).ThrowAsJavaScriptException();
  }

  Napi::Env env_;
  Napi::Object object_;
  bool ok_ = true;
};

// Registration of each concept's functions (one file each).
void InitSpawn(Napi::Env env, Napi::Object exports);
void InitFlock(Napi::Env env, Napi::Object exports);
void InitRlimit(Napi::Env env, Napi::Object exports);
void InitIdentity(Napi::Env env, Napi::Object exports);
void InitSocket(Napi::Env env, Napi::Object exports);
void InitProcess(Napi::Env env, Napi::Object exports);
void InitDirfd(Napi::Env env, Napi::Object exports);
void InitPoll(Napi::Env env, Napi::Object exports);

}  // namespace dk

#endif
