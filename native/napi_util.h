// The N-API side of the boundary. Native code reports (errno, syscall) and nothing else;
// src/errors.ts turns that into a Node-style Error with code, message and path. What an
// errno means to the library (a lock that is held, a user that does not exist) is decided in
// TypeScript.
//
// The addon is built with node-addon-api's Maybe variant (NODE_ADDON_API_ENABLE_MAYBE in
// binding.gyp): every call that can run JavaScript (a getter) or fail returns a Napi::Maybe,
// so a failure cannot go unnoticed. Arguments are read only through Args (positional) and
// Reader (an options object), which check each value against the C type it becomes before
// converting it.
#ifndef DAEMONKIT_NAPI_UTIL_H
#define DAEMONKIT_NAPI_UTIL_H

#include <napi.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace dk {

// object[key] = value on an object this addon made; false with an exception pending when
// N-API refused (only possible when one was pending already, or out of memory).
inline bool Put(Napi::Object object, const char* key, Napi::Value value) {
  return object.Set(key, value).IsJust();
}

inline bool Put(Napi::Object object, uint32_t index, Napi::Value value) {
  return object.Set(index, value).IsJust();
}

// Throws { errno: -err, syscall, fd?, index? }: what src/errors.ts turns into a SystemError.
// err is a positive errno value; fd names the descriptor the call failed on, when the caller
// passed several; index the entry of a list (spawn's rlimits). Nothing is thrown when an
// exception is pending already: napi_throw(3) with one pending aborts the process.
inline void ThrowErrno(Napi::Env env, int err, const char* syscall, int fd = -1, int index = -1) {
  if (env.IsExceptionPending()) return;
  Napi::Object record = Napi::Object::New(env);
  if (!Put(record, "errno", Napi::Number::New(env, -err))) return;
  if (!Put(record, "syscall", Napi::String::New(env, syscall))) return;
  if (fd >= 0 && !Put(record, "fd", Napi::Number::New(env, fd))) return;
  if (index >= 0 && !Put(record, "index", Napi::Number::New(env, index))) return;
  Napi::Error(env, record).ThrowAsJavaScriptException();
}

// Type checks shared by Args and Reader. The first wrong value throws one TypeError naming
// it, e.g. "daemonkit native: flock(): 'fd' (argument 1) must be an integer from 0 to
// 2147483647; received string". After that every read returns a zero value and Ok() is false:
// nothing read from a wrong value is used, and nothing is thrown a second time.
// TypeScript validates every value before it gets here (src/*.ts, with Node's error codes);
// these checks only keep a wrong call from reading garbage or crashing.
class Check {
 public:
  // False once a value was wrong (a TypeError is pending) or a getter threw.
  bool Ok() const { return ok_ && !env_.IsExceptionPending(); }

  void Fail(const std::string& what, const char* expected, Napi::Value got) {
    std::string received = TypeName(got);
    if (got.IsNumber()) {
      // The value too: a number is refused for its range or a fraction, not its type.
      double d = got.As<Napi::Number>().DoubleValue();
      char text[32];
      if (std::isnan(d)) {
        snprintf(text, sizeof text, " (NaN)");
      } else if (std::isinf(d)) {
        snprintf(text, sizeof text, " (%sInfinity)", d < 0 ? "-" : "");
      } else {
        // The shortest of 15 or 17 digits that reads back as d, as JavaScript would print it.
        snprintf(text, sizeof text, "%.15g", d);
        if (strtod(text, nullptr) != d) snprintf(text, sizeof text, "%.17g", d);
        std::string digits = text;
        snprintf(text, sizeof text, " (%s)", digits.c_str());
      }
      received += text;
    }
    Throw(std::string(fn_) + "(): " + what + " must be " + expected + "; received " + received);
  }

  static constexpr int64_t kInt32Min = INT32_MIN;
  static constexpr int64_t kInt32Max = INT32_MAX;
  static constexpr int64_t kUint32Max = UINT32_MAX;

 protected:
  Check(Napi::Env env, const char* fn) : env_(env), fn_(fn) {}

  // A string for a C API: no NUL byte, which would end it early (a path cut short).
  std::string StringOf(Napi::Value v, const std::string& what) {
    if (!ok_) return "";
    if (!v.IsString()) return Fail(what, "a string", v), "";
    std::string s = v.As<Napi::String>().Utf8Value();
    if (s.find('\0') != std::string::npos) return Fail(what, "a string without NUL bytes", v), "";
    return s;
  }

  bool BoolOf(Napi::Value v, const std::string& what) {
    if (!ok_) return false;
    if (!v.IsBoolean()) return Fail(what, "a boolean", v), false;
    return v.As<Napi::Boolean>().Value();
  }

  // An integer in [min, max]: the range of the C type it is converted to, so the cast below
  // never wraps or truncates.
  int64_t IntOf(Napi::Value v, const std::string& what, int64_t min, int64_t max) {
    if (!ok_) return 0;
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
    if (!v.IsNumber() || d != std::trunc(d) || d < (double)min || d > (double)max) {
      std::string expected = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
      return Fail(what, expected.c_str(), v), 0;
    }
    return (int64_t)d;
  }

  // A resource limit: an integer >= 0 (exact in a double), or Infinity for RLIM_INFINITY.
  double LimitOf(Napi::Value v, const std::string& what) {
    if (!ok_) return 0;
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
    if (d == INFINITY) return d;
    if (!v.IsNumber() || d != std::trunc(d) || d < 0 || d > 9007199254740991.0) {
      return Fail(what, "an integer from 0 to 2^53 - 1, or Infinity", v), 0;
    }
    return d;
  }

  // The elements of an array, each read by `each` (which may Fail); empty when v is not one.
  template <typename Each>
  void ArrayOf(Napi::Value v, const std::string& what, Each each) {
    if (!ok_) return;
    if (!v.IsArray()) return Fail(what, "an array", v);
    Napi::Array a = v.As<Napi::Array>();
    uint32_t n = a.Length();
    for (uint32_t i = 0; ok_ && i < n; i++) {
      Napi::Value element;
      if (!a.Get(i).UnwrapTo(&element)) {
        ok_ = false;  // a getter threw: its exception is the one pending
        return;
      }
      each(element, what + "[" + std::to_string(i) + "]");
    }
  }

  std::vector<int64_t> IntsOf(Napi::Value v, const std::string& what, int64_t min, int64_t max) {
    std::vector<int64_t> out;
    ArrayOf(v, what, [&](Napi::Value e, const std::string& w) {
      int64_t x = IntOf(e, w, min, max);
      if (ok_) out.push_back(x);
    });
    return out;
  }

  void Throw(const std::string& message) {
    bool pending = !ok_ || env_.IsExceptionPending();
    ok_ = false;
    if (pending) return;
    Napi::TypeError::New(env_, "daemonkit native: " + message).ThrowAsJavaScriptException();
  }

  static const char* TypeName(Napi::Value v) {
    switch (v.Type()) {
      case napi_undefined: return "undefined";
      case napi_null: return "null";
      case napi_boolean: return "boolean";
      case napi_number: return "number";
      case napi_string: return "string";
      case napi_symbol: return "symbol";
      case napi_object: return v.IsArray() ? "array" : "object";
      case napi_function: return "function";
      case napi_external: return "external";
      case napi_bigint: return "bigint";
    }
    return "unknown";
  }

  Napi::Env env_;
  const char* fn_;
  bool ok_ = true;
};

// The positional arguments of one call. A missing argument reads as undefined and fails its
// type check; more arguments than the function takes is a wrong call too (a caller that
// passes one believes it means something).
class Args : public Check {
 public:
  Args(const Napi::CallbackInfo& info, const char* fn, size_t count) : Check(info.Env(), fn), info_(info) {
    if (info.Length() > count) {
      Throw(std::string(fn) + "() takes " + std::to_string(count) + (count == 1 ? " argument" : " arguments") +
            "; received " + std::to_string(info.Length()));
    }
  }

  std::string String(size_t i, const char* name) { return StringOf(info_[i], Label(i, name)); }
  bool Bool(size_t i, const char* name) { return BoolOf(info_[i], Label(i, name)); }
  int64_t Int(size_t i, const char* name, int64_t min, int64_t max) { return IntOf(info_[i], Label(i, name), min, max); }
  int32_t Int32(size_t i, const char* name) { return (int32_t)Int(i, name, kInt32Min, kInt32Max); }
  // An open descriptor's number: never negative (a negative dirfd could be AT_FDCWD).
  int Fd(size_t i, const char* name) { return (int)Int(i, name, 0, kInt32Max); }
  // uid_t, gid_t: 32 bits unsigned on every platform this builds for.
  uint32_t Id(size_t i, const char* name) { return (uint32_t)Int(i, name, 0, kUint32Max); }
  double Limit(size_t i, const char* name) { return LimitOf(info_[i], Label(i, name)); }
  std::vector<int64_t> Ints(size_t i, const char* name, int64_t min, int64_t max) {
    return IntsOf(info_[i], Label(i, name), min, max);
  }

  Napi::Function Function(size_t i, const char* name) {
    Napi::Value v = info_[i];
    if (ok_ && !v.IsFunction()) Fail(Label(i, name), "a function", v);
    return ok_ ? v.As<Napi::Function>() : Napi::Function();
  }

  Napi::Buffer<char> Buffer(size_t i, const char* name) {
    Napi::Value v = info_[i];
    if (ok_ && !v.IsBuffer()) Fail(Label(i, name), "a Buffer", v);
    return ok_ ? v.As<Napi::Buffer<char>>() : Napi::Buffer<char>();
  }

  bool IsString(size_t i) const { return info_[i].IsString(); }
  Napi::Value Raw(size_t i) const { return info_[i]; }
  std::string Label(size_t i, const char* name) const {
    return "'" + std::string(name) + "' (argument " + std::to_string(i + 1) + ")";
  }

 private:
  const Napi::CallbackInfo& info_;
};

// The fields of one options object, read by name. prefix names a nested object in messages
// ("credentials.").
class Reader : public Check {
 public:
  Reader(Napi::Value value, const char* fn, std::string prefix = "") : Check(value.Env(), fn), prefix_(std::move(prefix)) {
    if (value.IsObject() && !value.IsArray()) {
      object_ = value.As<Napi::Object>();
    } else {
      Fail(prefix_.empty() ? "the options" : "'" + prefix_.substr(0, prefix_.size() - 1) + "'", "an object", value);
    }
  }

  // Present, and neither undefined nor null.
  bool Has(const char* key) {
    Napi::Value v = Get(key);
    return ok_ && !v.IsUndefined() && !v.IsNull();
  }

  std::string String(const char* key) { return StringOf(Get(key), Label(key)); }
  bool Bool(const char* key) { return BoolOf(Get(key), Label(key)); }
  int64_t Int(const char* key, int64_t min, int64_t max) { return IntOf(Get(key), Label(key), min, max); }
  uint32_t Id(const char* key) { return (uint32_t)Int(key, 0, kUint32Max); }
  // count: the exact length the array must have, if any.
  std::vector<int64_t> Ints(const char* key, int64_t min, int64_t max, size_t count = SIZE_MAX) {
    Napi::Value v = Get(key);
    std::vector<int64_t> out = IntsOf(v, Label(key), min, max);
    if (ok_ && count != SIZE_MAX && out.size() != count) {
      Fail(Label(key), ("an array of " + std::to_string(count) + " integers").c_str(), v);
    }
    return out;
  }

  std::vector<std::string> Strings(const char* key) {
    std::vector<std::string> out;
    ArrayOf(Get(key), Label(key), [&](Napi::Value e, const std::string& w) {
      std::string s = StringOf(e, w);
      if (ok_) out.push_back(std::move(s));
    });
    return out;
  }

  // A nested options object, read by its own Reader (which reports its own failures).
  Napi::Value Object(const char* key) {
    Napi::Value v = Get(key);
    if (ok_ && (!v.IsObject() || v.IsArray())) Fail(Label(key), "an object", v);
    return v;
  }

  // An array of [resource, soft, hard]: an int resource id and two limits.
  std::vector<std::pair<int, std::pair<double, double>>> LimitTriples(const char* key) {
    std::vector<std::pair<int, std::pair<double, double>>> out;
    ArrayOf(Get(key), Label(key), [&](Napi::Value t, const std::string& w) {
      if (!t.IsArray() || t.As<Napi::Array>().Length() != 3) return Fail(w, "an array [resource, soft, hard]", t);
      Napi::Array a = t.As<Napi::Array>();
      Napi::Value id, soft, hard;
      if (!a.Get(0u).UnwrapTo(&id) || !a.Get(1u).UnwrapTo(&soft) || !a.Get(2u).UnwrapTo(&hard)) {
        ok_ = false;
        return;
      }
      int resource = (int)IntOf(id, w + "[0]", kInt32Min, kInt32Max);
      double s = LimitOf(soft, w + "[1]");
      double h = LimitOf(hard, w + "[2]");
      if (ok_) out.push_back({resource, {s, h}});
    });
    return out;
  }

 private:
  Napi::Value Get(const char* key) {
    Napi::Value v = env_.Undefined();
    if (ok_ && !object_.Get(key).UnwrapTo(&v)) ok_ = false;  // a getter threw
    return v;
  }

  std::string Label(const char* key) const { return "'" + prefix_ + key + "'"; }

  Napi::Object object_;
  std::string prefix_;
};

// Sets exports[name]; false with an exception pending (the module then fails to load).
inline bool Export(Napi::Object exports, const char* name, Napi::Function::Callback cb) {
  return Put(exports, name, Napi::Function::New(exports.Env(), cb, name));
}

// Registration of each concept's functions (one file each); false with an exception pending.
bool InitSpawn(Napi::Env env, Napi::Object exports);
bool InitFlock(Napi::Env env, Napi::Object exports);
bool InitRlimit(Napi::Env env, Napi::Object exports);
bool InitIdentity(Napi::Env env, Napi::Object exports);
bool InitSocket(Napi::Env env, Napi::Object exports);
bool InitProcess(Napi::Env env, Napi::Object exports);
bool InitDirfd(Napi::Env env, Napi::Object exports);
bool InitPoll(Napi::Env env, Napi::Object exports);

}  // namespace dk

#endif
