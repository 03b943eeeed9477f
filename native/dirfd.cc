// Files read through a directory descriptor (openat(2), readlinkat(2), fdopendir(3)): what a
// process can still reach after chroot(2) hides the path it was opened by. daemonize() opens
// /proc/self this way before a chroot so that the privilege drop after it can still be
// verified for every thread; src/privileges.ts closes it right after (a descriptor of a
// directory outside the new root is a way out of it).
#include "napi_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

namespace dk {

namespace {

int OpenAt(int dirfd, const std::string& path, int flags) {
  int fd;
  do {
    fd = openat(dirfd, path.c_str(), flags | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

// openDirectory(path) -> fd
Napi::Value OpenDirectory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "openDirectory", 1);
  std::string path = args.String(0, "path");
  if (!args.Ok()) return env.Undefined();
  int fd = OpenAt(AT_FDCWD, path, O_RDONLY | O_DIRECTORY);
  if (fd < 0) {
    ThrowErrno(env, errno, "open");
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// listDirectoryAt(dirfd, path) -> names, without "." and ".."
Napi::Value ListDirectoryAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "listDirectoryAt", 2);
  int dirfd = args.Fd(0, "dirfd");
  std::string path = args.String(1, "path");
  if (!args.Ok()) return env.Undefined();
  int fd = OpenAt(dirfd, path, O_RDONLY | O_DIRECTORY);
  DIR* dir = fd < 0 ? nullptr : fdopendir(fd);
  if (dir == nullptr) {
    int err = errno;
    if (fd >= 0) close(fd);
    ThrowErrno(env, err, fd < 0 ? "openat" : "fdopendir");
    return env.Undefined();
  }
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  int err = 0;
  for (;;) {
    errno = 0;
    struct dirent* entry = readdir(dir);
    if (entry == nullptr) {
      err = errno;
      break;
    }
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
    if (!Put(out, n++, Napi::String::New(env, entry->d_name))) break;  // exception pending
  }
  closedir(dir);  // closes fd too
  if (err != 0) ThrowErrno(env, err, "readdir");
  if (env.IsExceptionPending()) return env.Undefined();
  return out;
}

// readFileAt(dirfd, path) -> string (the first 1 MiB: /proc files are small)
Napi::Value ReadFileAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "readFileAt", 2);
  int dirfd = args.Fd(0, "dirfd");
  std::string path = args.String(1, "path");
  if (!args.Ok()) return env.Undefined();
  int fd = OpenAt(dirfd, path, O_RDONLY | O_NOFOLLOW);
  if (fd < 0) {
    ThrowErrno(env, errno, "openat");
    return env.Undefined();
  }
  std::string text;
  char buf[4096];
  int err = 0;
  while (text.size() < (1u << 20)) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) err = errno;
    if (n <= 0) break;
    text.append(buf, (size_t)n);
  }
  close(fd);
  if (err != 0) {
    ThrowErrno(env, err, "read");
    return env.Undefined();
  }
  return Napi::String::New(env, text);
}

// readLinkAt(dirfd, path) -> string
Napi::Value ReadLinkAt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "readLinkAt", 2);
  int dirfd = args.Fd(0, "dirfd");
  std::string path = args.String(1, "path");
  if (!args.Ok()) return env.Undefined();
  char buf[4096];
  ssize_t n = readlinkat(dirfd, path.c_str(), buf, sizeof buf);
  if (n < 0) {
    ThrowErrno(env, errno, "readlinkat");
    return env.Undefined();
  }
  return Napi::String::New(env, buf, (size_t)n);
}

}  // namespace

bool InitDirfd(Napi::Env env, Napi::Object exports) {
  return Export(exports, "openDirectory", OpenDirectory) && Export(exports, "listDirectoryAt", ListDirectoryAt) &&
         Export(exports, "readFileAt", ReadFileAt) && Export(exports, "readLinkAt", ReadLinkAt);
}

}  // namespace dk
