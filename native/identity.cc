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
  bool ok = Put(out, "name", Napi::String::New(env, pw->pw_name)) &&
            Put(out, "uid", Napi::Number::New(env, pw->pw_uid)) &&
            Put(out, "gid", Napi::Number::New(env, pw->pw_gid)) &&
            Put(out, "home", Napi::String::New(env, pw->pw_dir ? pw->pw_dir : "")) &&
            Put(out, "shell", Napi::String::New(env, pw->pw_shell ? pw->pw_shell : ""));
  return ok ? Napi::Value(out) : env.Undefined();
}

Napi::Value GroupToJs(Napi::Env env, const struct group* gr) {
  Napi::Object out = Napi::Object::New(env);
  Napi::Array members = Napi::Array::New(env);
  for (uint32_t i = 0; gr->gr_mem && gr->gr_mem[i]; i++) {
    if (!Put(members, i, Napi::String::New(env, gr->gr_mem[i]))) return env.Undefined();
  }
  bool ok = Put(out, "name", Napi::String::New(env, gr->gr_name)) &&
            Put(out, "gid", Napi::Number::New(env, gr->gr_gid)) && Put(out, "members", members);
  return ok ? Napi::Value(out) : env.Undefined();
}

Napi::Value IdArray(Napi::Env env, const gid_t* ids, int n) {
  Napi::Array out = Napi::Array::New(env, n);
  for (int i = 0; i < n; i++) {
    if (!Put(out, (uint32_t)i, Napi::Number::New(env, ids[i]))) return env.Undefined();
  }
  return out;
}

// A name (string) or an id (number): which lookup a call of lookupUser/lookupGroup makes.
struct Key {
  bool by_name;
  std::string name;
  uint32_t id;
};

Key ReadKey(Args& args, const char* what) {
  Key key = {args.IsString(0), "", 0};
  if (key.by_name) {
    key.name = args.String(0, what);
  } else if (args.Raw(0).IsNumber()) {
    key.id = args.Id(0, what);
  } else {
    args.Fail(args.Label(0, what), "a name (string) or an id (integer)", args.Raw(0));
  }
  return key;
}

// lookupUser(name | uid) -> { name, uid, gid, home, shell } | null. null only for what
// getpwnam_r(3) defines as "not found": 0 with a null result. Some libcs and NSS modules say
// it with an errno instead (ENOENT, ESRCH, EBADF, EPERM; getpwnam(3), ERRORS): those are
// thrown like any errno, and src/identity.ts decides which of them mean "no such user".
Napi::Value LookupUser(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "lookupUser", 1);
  Key key = ReadKey(args, "user");
  if (!args.Ok()) return env.Undefined();
  std::vector<char> buf(InitialBufferSize(_SC_GETPW_R_SIZE_MAX));
  for (;;) {
    struct passwd pw, *result = nullptr;
    int r = key.by_name ? getpwnam_r(key.name.c_str(), &pw, buf.data(), buf.size(), &result)
                        : getpwuid_r((uid_t)key.id, &pw, buf.data(), buf.size(), &result);
    if (r == ERANGE && buf.size() < (1u << 24)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    if (r == EINTR) continue;
    if (result != nullptr) return PasswdToJs(env, &pw);
    if (r == 0) return env.Null();
    ThrowErrno(env, r, key.by_name ? "getpwnam_r" : "getpwuid_r");
    return env.Undefined();
  }
}

// lookupGroup(name | gid) -> { name, gid, members } | null: as lookupUser (getgrnam(3)).
Napi::Value LookupGroup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "lookupGroup", 1);
  Key key = ReadKey(args, "group");
  if (!args.Ok()) return env.Undefined();
  std::vector<char> buf(InitialBufferSize(_SC_GETGR_R_SIZE_MAX));
  for (;;) {
    struct group gr, *result = nullptr;
    int r = key.by_name ? getgrnam_r(key.name.c_str(), &gr, buf.data(), buf.size(), &result)
                        : getgrgid_r((gid_t)key.id, &gr, buf.data(), buf.size(), &result);
    if (r == ERANGE && buf.size() < (1u << 24)) {
      buf.resize(buf.size() * 2);
      continue;
    }
    if (r == EINTR) continue;
    if (result != nullptr) return GroupToJs(env, &gr);
    if (r == 0) return env.Null();
    ThrowErrno(env, r, key.by_name ? "getgrnam_r" : "getgrgid_r");
    return env.Undefined();
  }
}

// getgrouplist(user, gid) -> number[] (gid included, as initgroups(3) would set)
Napi::Value GroupList(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "getgrouplist", 2);
  std::string user = args.String(0, "user");
  gid_t gid = (gid_t)args.Id(1, "gid");
  if (!args.Ok()) return env.Undefined();
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
    return IdArray(env, groups.data(), r);
  }
}

// setgroups(gids)
Napi::Value SetGroups(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "setgroups", 1);
  std::vector<int64_t> ids = args.Ints(0, "groups", 0, Check::kUint32Max);
  if (!args.Ok()) return env.Undefined();
  std::vector<gid_t> groups(ids.begin(), ids.end());
  if (setgroups(groups.size(), groups.data()) < 0) ThrowErrno(env, errno, "setgroups");
  return env.Undefined();
}

// getgroups(2) -> number[]: the supplementary groups only (process.getgroups() adds the
// effective gid, so a drop to groups: [] could never be verified with it).
Napi::Value GetGroups(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "getgroups", 0);
  if (!args.Ok()) return env.Undefined();
  int n = getgroups(0, nullptr);
  std::vector<gid_t> groups(n > 0 ? n : 1);
  if (n >= 0) n = getgroups((int)groups.size(), groups.data());
  if (n < 0) {
    ThrowErrno(env, errno, "getgroups");
    return env.Undefined();
  }
  return IdArray(env, groups.data(), n);
}

Napi::Value Triple(Napi::Env env, unsigned r, unsigned e, unsigned s) {
  Napi::Array out = Napi::Array::New(env, 3);
  bool ok = Put(out, 0u, Napi::Number::New(env, r)) && Put(out, 1u, Napi::Number::New(env, e)) &&
            Put(out, 2u, Napi::Number::New(env, s));
  return ok ? Napi::Value(out) : env.Undefined();
}

// setresgid(r, e, s) / setresuid(r, e, s): the libc wrappers, which apply the change to every
// thread of the process (nptl(7) "setxid"), not the raw syscalls, which change one.
Napi::Value SetResGidJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "setresgid", 3);
  gid_t r = (gid_t)args.Id(0, "rgid"), e = (gid_t)args.Id(1, "egid"), s = (gid_t)args.Id(2, "sgid");
  if (!args.Ok()) return env.Undefined();
  int rc = SetResGid(r, e, s);
  if (rc < 0) ThrowErrno(env, -rc, "setresgid");
  return env.Undefined();
}

Napi::Value SetResUidJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "setresuid", 3);
  uid_t r = (uid_t)args.Id(0, "ruid"), e = (uid_t)args.Id(1, "euid"), s = (uid_t)args.Id(2, "suid");
  if (!args.Ok()) return env.Undefined();
  int rc = SetResUid(r, e, s);
  if (rc < 0) ThrowErrno(env, -rc, "setresuid");
  return env.Undefined();
}

Napi::Value GetResGidJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "getresgid", 0);
  if (!args.Ok()) return env.Undefined();
  gid_t r, e, s;
  int rc = GetResGid(&r, &e, &s);
  if (rc < 0) {
    ThrowErrno(env, -rc, "getresgid");
    return env.Undefined();
  }
  return Triple(env, r, e, s);
}

Napi::Value GetResUidJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "getresuid", 0);
  if (!args.Ok()) return env.Undefined();
  uid_t r, e, s;
  int rc = GetResUid(&r, &e, &s);
  if (rc < 0) {
    ThrowErrno(env, -rc, "getresuid");
    return env.Undefined();
  }
  return Triple(env, r, e, s);
}

// setuid(uid) / seteuid(uid): used to prove a drop cannot be undone (they must fail).
Napi::Value SetUid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "setuid", 1);
  uid_t uid = (uid_t)args.Id(0, "uid");
  if (!args.Ok()) return env.Undefined();
  if (setuid(uid) < 0) ThrowErrno(env, errno, "setuid");
  return env.Undefined();
}

Napi::Value SetEuid(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "seteuid", 1);
  uid_t uid = (uid_t)args.Id(0, "uid");
  if (!args.Ok()) return env.Undefined();
  if (seteuid(uid) < 0) ThrowErrno(env, errno, "seteuid");
  return env.Undefined();
}

}  // namespace

bool InitIdentity(Napi::Env env, Napi::Object exports) {
  return Export(exports, "lookupUser", LookupUser) && Export(exports, "lookupGroup", LookupGroup) &&
         Export(exports, "getgrouplist", GroupList) && Export(exports, "setgroups", SetGroups) &&
         Export(exports, "getgroups", GetGroups) && Export(exports, "setresgid", SetResGidJs) &&
         Export(exports, "setresuid", SetResUidJs) && Export(exports, "getresgid", GetResGidJs) &&
         Export(exports, "getresuid", GetResUidJs) && Export(exports, "setuid", SetUid) &&
         Export(exports, "seteuid", SetEuid);
}

}  // namespace dk
