// Users, groups and the ids of this process: reentrant lookups (getpwnam_r(3) and friends),
// getgrouplist(3), and the set*id(2) calls a privilege drop is made of. The order of the drop
// and its verification are decided in src/privileges.ts.
#include "napi_util.h"
#include "platform.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <vector>

namespace dk {

namespace {

size_t InitialBufferSize(int name) {
  long n = sysconf(name);
  return n > 0 ? (size_t)n : 16384;
}

Napi::Value PasswdToJs(Napi::Env env, const struct passwd* pw) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("name", Napi::String::New(env, pw->pw_name));
  out.Set("uid", Napi::Number::New(env, pw->pw_uid));
  out.Set("gid", Napi::Number::New(env, pw->pw_gid));
  out.Set("home", Napi::String::New(env, pw->pw_dir ? pw->pw_dir : ""));
  out.Set("shell", Napi::String::New(env, pw->pw_shell ? pw->pw_shell : ""));
  return out;
}

Napi::Value GroupToJs(Napi::Env env, const struct group* gr) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("name", Napi::String::New(env, gr->gr_name));
  out.Set("gid", Napi::Number::New(env, gr->gr_gid));
  Napi::Array members = Napi::Array::New(env);
  for (uint32_t i = 0; gr->gr_mem && gr->gr_mem[i]; i++) {
    members.Set(i, Napi::String::New(env, gr->gr_mem[i]));
  }
  out.Set("members", members);
  return out;
}

// getpwnam(name) / getpwuid(uid) -> { name, uid, gid, home, shell } | null (no such user)
Napi::Value LookupUser(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgsOk(info, 1)) return env.Undefined();
  bool by_name = info[0].IsString();
  std::string name = by_name ? info[0].As<Napi::String>().Utf8Value() : "";
  uid_t uid = by_name ? 0 : (uid_t)info[0].ToNumber().Int64Value();
  std::vector<char> buf(InitialBufferSize(_SC_GETPW_R_SIZE_MAX));
  for (;;) {
    struct passwd pw, *result = nullptr;
    int r = by_name ? getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &result)
                    : getpwuid_r(uid, &pw, buf.data(), buf.size(), &result);
    if (r == ERANGE && buf.size() < (1u << 24)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    if (r == EINTR) continue;
    // getpwnam_r(3): "not found" is r == 0 with a null result; some libcs return ENOENT,
    // ESRCH, EBADF or EPERM for it instead.
    if (result != nullptr) return PasswdToJs(env, &pw);
    if (r == 0 || r == ENOENT || r == ESRCH || r == EBADF || r == EPERM) return env.Null();
    ThrowErrno(env, r, by_name ? "getpwnam_r" : "getpwuid_r");
    return env.Undefined();
  }
}

// getgrnam(name) / getgrgid(gid) -> { name, gid, members } | null
Napi::Value LookupGroup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgsOk(info, 1)) return env.Undefined();
  bool by_name = info[0].IsString();
  std::string name = by_name ? info[0].As<Napi::String>().Utf8Value() : "";
  gid_t gid = by_name ? 0 : (gid_t)info[0].ToNumber().Int64Value();
  std::vector<char> buf(InitialBufferSize(_SC_GETGR_R_SIZE_MAX));
  for (;;) {
    struct group gr, *result = nullptr;
    int r = by_name ? getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &result)
                    : getgrgid_r(gid, &gr, buf.data(), buf.size(), &result);
    if (r == ERANGE && buf.size() < (1u << 24)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    if (r == EINTR) continue;
    if (result != nullptr) return GroupToJs(env, &gr);
    if (r == 0 || r == ENOENT || r == ESRCH || r == EBADF || r == EPERM) return env.Null();
    ThrowErrno(env, r, by_name ? "getgrnam_r" : "getgrgid_r");
    return env.Undefined();
  }
}

// getgrouplist(user, gid) -> number[] (gid included, as initgroups(3) would set)
Napi::Value GroupList(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgsOk(info, 2)) return env.Undefined();
  std::string user = info[0].ToString().Utf8Value();
  gid_t gid = (gid_t)info[1].ToNumber().Int64Value();
  std::vector<gid_t> groups(64);
  for (;;) {
    int n = (int)groups.size();
    int r = GetGroupList(user.c_str(), gid, groups.data(), &n);
    if (r == -ERANGE && n > (int)groups.size()) {
      groups.resize(n);
      continue;
    }
    if (r == -ERANGE && groups.size() < 65536) {
      groups.resize(groups.size() * 2);
      continue;
    }
    if (r < 0) {
      ThrowErrno(env, -r, "getgrouplist");
      return env.Undefined();
    }
    Napi::Array out = Napi::Array::New(env, r);
    for (int i = 0; i < r; i++) out.Set((uint32_t)i, Napi::Number::New(env, groups[i]));
    return out;
  }
}

// setgroups(gids)
Napi::Value SetGroups(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgsOk(info, 1)) return env.Undefined();
  std::vector<gid_t> groups;
  for (int64_t g : NumberArray(info[0])) groups.push_back((gid_t)g);
  if (setgroups(groups.size(), groups.data()) < 0) ThrowErrno(env, errno, "setgroups");
  return env.Undefined();
}

// getgroups(2) -> number[]: the supplementary groups only (process.getgroups() adds the
// effective gid, so a drop to groups: [] could never be verified with it).
Napi::Value GetGroups(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int n = getgroups(0, nullptr);
  std::vector<gid_t> groups(n > 0 ? n : 1);
  if (n >= 0) n = getgroups((int)groups.size(), groups.data());
  if (n < 0) {
    ThrowErrno(env, errno, "getgroups");
    return env.Undefined();
  }
  Napi::Array out = Napi::Array::New(env, n);
  for (int i = 0; i < n; i++) out.Set((uint32_t)i, Napi::Number::New(env, groups[i]));
  return out;
}

Napi::Value Triple(Napi::Env env, unsigned r, unsigned e, unsigned s) {
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(0u, Napi::Number::New(env, r));
  out.Set(1u, Napi::Number::New(env, e));
  out.Set(2u, Napi::Number::New(env, s));
  return out;
}

// setresgid(r, e, s) / setresuid(r, e, s): the libc wrappers, which apply the change to every
// thread of the process (nptl(7) "setxid"), not the raw syscalls, which change one.
Napi::Value SetResGidJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgsOk(info, 3)) return env.Undefined();
  int r = SetResGid((gid_t)info[0].ToNumber().Int64Value(), (gid_t)info[1].ToNumber().Int64Value(),
                    (gid_t)info[2].ToNumber().Int64Value());
  if (r < 0) ThrowErrno(env, -r, "setresgid");
  return env.Undefined();
}

Napi::Value SetResUidJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgsOk(info, 3)) return env.Undefined();
  int r = SetResUid((uid_t)info[0].ToNumber().Int64Value(), (uid_t)info[1].ToNumber().Int64Value(),
                    (uid_t)info[2].ToNumber().Int64Value());
  if (r < 0) ThrowErrno(env, -r, "setresuid");
  return env.Undefined();
}

Napi::Value GetResGidJs(const Napi::CallbackInfo& info) {
  gid_t r, e, s;
  int rc = GetResGid(&r, &e, &s);
  if (rc < 0) {
    ThrowErrno(info.Env(), -rc, "getresgid");
    return info.Env().Undefined();
  }
  return Triple(info.Env(), r, e, s);
}

Napi::Value GetResUidJs(const Napi::CallbackInfo& info) {
  uid_t r, e, s;
  int rc = GetResUid(&r, &e, &s);
  if (rc < 0) {
    ThrowErrno(info.Env(), -rc, "getresuid");
    return info.Env().Undefined();
  }
  return Triple(info.Env(), r, e, s);
}

// setuid(uid) / seteuid(uid): used to prove a drop cannot be undone (they must fail).
Napi::Value SetUid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgsOk(info, 1)) return env.Undefined();
  if (setuid((uid_t)info[0].ToNumber().Int64Value()) < 0) ThrowErrno(env, errno, "setuid");
  return env.Undefined();
}

Napi::Value SetEuid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgsOk(info, 1)) return env.Undefined();
  if (seteuid((uid_t)info[0].ToNumber().Int64Value()) < 0) ThrowErrno(env, errno, "seteuid");
  return env.Undefined();
}

}  // namespace

void InitIdentity(Napi::Env env, Napi::Object exports) {
  exports.Set("lookupUser", Napi::Function::New(env, LookupUser, "lookupUser"));
  exports.Set("lookupGroup", Napi::Function::New(env, LookupGroup, "lookupGroup"));
  exports.Set("getgrouplist", Napi::Function::New(env, GroupList, "getgrouplist"));
  exports.Set("setgroups", Napi::Function::New(env, SetGroups, "setgroups"));
  exports.Set("getgroups", Napi::Function::New(env, GetGroups, "getgroups"));
  exports.Set("setresgid", Napi::Function::New(env, SetResGidJs, "setresgid"));
  exports.Set("setresuid", Napi::Function::New(env, SetResUidJs, "setresuid"));
  exports.Set("getresgid", Napi::Function::New(env, GetResGidJs, "getresgid"));
  exports.Set("getresuid", Napi::Function::New(env, GetResUidJs, "getresuid"));
  exports.Set("setuid", Napi::Function::New(env, SetUid, "setuid"));
  exports.Set("seteuid", Napi::Function::New(env, SetEuid, "seteuid"));
}

}  // namespace dk
