// Listening sockets as plain descriptors (for net.Server#listen({ fd }) and for handing to a
// daemon), and AF_UNIX datagrams (the sd_notify(3) transport).
#include "napi_util.h"
#include "platform.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace dk {

namespace {

void CloseKeepErrno(int fd) {
  int saved = errno;
  close(fd);
  errno = saved;
}

// Fills a sockaddr_un for a path or (Linux) an abstract name: sun_path[0] = '\0', and the
// address length counts only the name's bytes (unix(7) "abstract"), not the whole array.
int UnixAddress(const std::string& name, bool abstract, struct sockaddr_un* addr,
                socklen_t* len) {
  memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  if (abstract) {
    if (!HasAbstractSockets()) return -EAFNOSUPPORT;
    if (name.size() + 1 > sizeof addr->sun_path) return -ENAMETOOLONG;
    memcpy(addr->sun_path + 1, name.data(), name.size());
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + name.size());
  } else {
    if (name.size() + 1 > sizeof addr->sun_path) return -ENAMETOOLONG;
    memcpy(addr->sun_path, name.data(), name.size());
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + name.size() + 1);
  }
  return 0;
}

// The address of `name` and a close-on-exec AF_UNIX socket of `type` for it; -1 once the
// error is thrown (naming `syscall` for an unusable name, socket(2) for the socket).
int UnixSocketFor(Napi::Env env, const std::string& name, bool abstract, int type, const char* syscall,
                  struct sockaddr_un* addr, socklen_t* len) {
  int r = UnixAddress(name, abstract, addr, len);
  if (r < 0) {
    ThrowErrno(env, -r, syscall);
    return -1;
  }
  int fd = SocketCloexec(AF_UNIX, type, 0);
  if (fd < 0) {
    ThrowErrno(env, -fd, "socket");
    return -1;
  }
  return fd;
}

// listenTcp(address, port, backlog, v6only, reuseAddress) -> fd. The address is a numeric
// IPv4 or IPv6 literal (names are resolved, if at all, in TypeScript). reuseAddress sets
// SO_REUSEADDR before bind(2) (socket(7)); whether to is src/socket.ts's choice.
Napi::Value ListenTcp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "listenTcp", 5);
  std::string host = args.String(0, "address");
  int port = (int)args.Int(1, "port", 0, 65535);
  int backlog = (int)args.Int(2, "backlog", 0, Check::kInt32Max);
  bool v6only = args.Bool(3, "v6only");
  bool reuse = args.Bool(4, "reuseAddress");
  if (!args.Ok()) return env.Undefined();

  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t len;
  int family;
  struct sockaddr_in* in4 = (struct sockaddr_in*)&ss;
  struct sockaddr_in6* in6 = (struct sockaddr_in6*)&ss;
  if (inet_pton(AF_INET, host.c_str(), &in4->sin_addr) == 1) {
    family = in4->sin_family = AF_INET;
    in4->sin_port = htons((uint16_t)port);
    len = sizeof *in4;
  } else if (inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) == 1) {
    family = in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)port);
    len = sizeof *in6;
  } else {
    ThrowErrno(env, EINVAL, "inet_pton");
    return env.Undefined();
  }

  int fd = SocketCloexec(family, SOCK_STREAM, 0);
  if (fd < 0) {
    ThrowErrno(env, -fd, "socket");
    return env.Undefined();
  }
  int one = 1;
  int v6 = v6only ? 1 : 0;
  const char* step = nullptr;
  if (reuse && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) {
    step = "setsockopt";
  } else if (family == AF_INET6 &&
             setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6, sizeof v6) < 0) {
    step = "setsockopt";
  } else if (bind(fd, (struct sockaddr*)&ss, len) < 0) {
    step = "bind";
  } else if (listen(fd, backlog) < 0) {
    step = "listen";
  }
  if (step != nullptr) {
    CloseKeepErrno(fd);
    ThrowErrno(env, errno, step);
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// listenUnix(name, abstract, backlog, mode) -> fd. mode (-1: leave it) is applied between
// bind(2) and listen(2), so no client connects while the file still has the umask's mode.
Napi::Value ListenUnix(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "listenUnix", 4);
  std::string name = args.String(0, "name");
  bool abstract = args.Bool(1, "abstract");
  int backlog = (int)args.Int(2, "backlog", 0, Check::kInt32Max);
  int mode = (int)args.Int(3, "mode", -1, 07777);
  if (!args.Ok()) return env.Undefined();
  struct sockaddr_un addr;
  socklen_t len;
  int fd = UnixSocketFor(env, name, abstract, SOCK_STREAM, "bind", &addr, &len);
  if (fd < 0) return env.Undefined();
  const char* step = nullptr;
  int err = 0;
  int r;
  if (bind(fd, (struct sockaddr*)&addr, len) < 0) {
    step = "bind";
    err = errno;
  } else if (mode >= 0 && (r = ChmodSocketFile(name.c_str(), (mode_t)mode)) < 0) {
    step = "chmod";
    err = -r;
    // What is there is the file bind just created, or whatever replaced it, put there by
    // someone who could remove it anyway; unlink(2) follows no link.
    unlink(name.c_str());
  } else if (listen(fd, backlog) < 0) {
    step = "listen";
    err = errno;
  }
  if (step != nullptr) {
    close(fd);
    ThrowErrno(env, err, step);
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// connectUnix(name, abstract): connect(2) a non-blocking stream socket to name, then close
// it. Throws the errno: ECONNREFUSED when nobody listens there, EAGAIN when somebody does
// but its backlog is full. Never blocks.
Napi::Value ConnectUnix(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "connectUnix", 2);
  std::string name = args.String(0, "name");
  bool abstract = args.Bool(1, "abstract");
  if (!args.Ok()) return env.Undefined();
  struct sockaddr_un addr;
  socklen_t len;
  int fd = UnixSocketFor(env, name, abstract, SOCK_STREAM, "connect", &addr, &len);
  if (fd < 0) return env.Undefined();
  int flags = fcntl(fd, F_GETFL);
  int err = 0;
  const char* step = "connect";
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    err = errno;
    step = "fcntl";
  } else {
    int r;
    do {
      r = connect(fd, (struct sockaddr*)&addr, len);
    } while (r < 0 && errno == EINTR);
    if (r < 0) err = errno;
  }
  close(fd);
  if (err != 0) ThrowErrno(env, err, step);
  return env.Undefined();
}

// getsockname(fd) -> { family: 'IPv4'|'IPv6', address, port } | { family: 'unix', path, abstract }
Napi::Value GetSockName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "getsockname", 1);
  int fd = args.Fd(0, "fd");
  if (!args.Ok()) return env.Undefined();
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  memset(&ss, 0, sizeof ss);
  if (getsockname(fd, (struct sockaddr*)&ss, &len) < 0) {
    ThrowErrno(env, errno, "getsockname");
    return env.Undefined();
  }
  Napi::Object out = Napi::Object::New(env);
  char text[INET6_ADDRSTRLEN] = "";
  bool ok;
  if (ss.ss_family == AF_INET) {
    struct sockaddr_in* in4 = (struct sockaddr_in*)&ss;
    inet_ntop(AF_INET, &in4->sin_addr, text, sizeof text);
    ok = Put(out, "family", Napi::String::New(env, "IPv4")) && Put(out, "address", Napi::String::New(env, text)) &&
         Put(out, "port", Napi::Number::New(env, ntohs(in4->sin_port)));
  } else if (ss.ss_family == AF_INET6) {
    struct sockaddr_in6* in6 = (struct sockaddr_in6*)&ss;
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    ok = Put(out, "family", Napi::String::New(env, "IPv6")) && Put(out, "address", Napi::String::New(env, text)) &&
         Put(out, "port", Napi::Number::New(env, ntohs(in6->sin6_port)));
  } else if (ss.ss_family == AF_UNIX) {
    struct sockaddr_un* un = (struct sockaddr_un*)&ss;
    size_t n = len > offsetof(struct sockaddr_un, sun_path) ? len - offsetof(struct sockaddr_un, sun_path) : 0;
    bool abstract = n > 0 && un->sun_path[0] == '\0';
    const char* start = un->sun_path + (abstract ? 1 : 0);
    size_t size = abstract ? n - 1 : strnlen(un->sun_path, n);
    ok = Put(out, "family", Napi::String::New(env, "unix")) && Put(out, "path", Napi::String::New(env, start, size)) &&
         Put(out, "abstract", Napi::Boolean::New(env, abstract));
  } else {
    ok = Put(out, "family", Napi::Number::New(env, ss.ss_family));
  }
  return ok ? Napi::Value(out) : env.Undefined();
}

// sendDatagram(name, abstract, buffer): one datagram from a fresh unbound socket, as
// sd_notify(3) does; the socket is closed before returning.
Napi::Value SendDatagram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "sendDatagram", 3);
  std::string name = args.String(0, "name");
  bool abstract = args.Bool(1, "abstract");
  Napi::Buffer<char> data = args.Buffer(2, "data");
  if (!args.Ok()) return env.Undefined();
  struct sockaddr_un addr;
  socklen_t len;
  int fd = UnixSocketFor(env, name, abstract, SOCK_DGRAM, "sendto", &addr, &len);
  if (fd < 0) return env.Undefined();
  ssize_t n;
  do {
    n = sendto(fd, data.Data(), data.Length(), SendNoSignalFlags(), (struct sockaddr*)&addr, len);
  } while (n < 0 && errno == EINTR);
  int err = n < 0 ? errno : 0;
  close(fd);
  if (err != 0) ThrowErrno(env, err, "sendto");
  return env.Undefined();
}

// bindDatagram(name, abstract) -> fd: a non-blocking receiver, e.g. a NOTIFY_SOCKET for a
// supervisor or a test. Where the kernel can say who sent each datagram (SO_PASSCRED on
// Linux), it is asked to, as systemd's notify socket does.
Napi::Value BindDatagram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "bindDatagram", 2);
  std::string name = args.String(0, "name");
  bool abstract = args.Bool(1, "abstract");
  if (!args.Ok()) return env.Undefined();
  struct sockaddr_un addr;
  socklen_t len;
  int fd = UnixSocketFor(env, name, abstract, SOCK_DGRAM, "bind", &addr, &len);
  if (fd < 0) return env.Undefined();
  const char* step = nullptr;
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    step = "fcntl";
  } else if (EnableSenderCredentials(fd) < 0 && errno != ENOSYS) {
    step = "setsockopt";
  } else if (bind(fd, (struct sockaddr*)&addr, len) < 0) {
    step = "bind";
  }
  if (step != nullptr) {
    CloseKeepErrno(fd);
    ThrowErrno(env, errno, step);
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// recvDatagram(fd) -> { data: Buffer, pid }. pid is the sender's as the kernel saw it, or -1
// where it does not say. Never blocks: with nothing waiting it throws EAGAIN (recv(2)), which
// src/datagram.ts turns into null.
Napi::Value RecvDatagram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "recvDatagram", 1);
  int fd = args.Fd(0, "fd");
  if (!args.Ok()) return env.Undefined();
  char buf[65536];
  pid_t pid = -1;
  ssize_t n;
  do {
    n = RecvWithSender(fd, buf, sizeof buf, &pid);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    ThrowErrno(env, errno, "recvmsg");
    return env.Undefined();
  }
  Napi::Object out = Napi::Object::New(env);
  bool ok = Put(out, "data", Napi::Buffer<char>::Copy(env, buf, (size_t)n)) && Put(out, "pid", Napi::Number::New(env, pid));
  return ok ? Napi::Value(out) : env.Undefined();
}

}  // namespace

bool InitSocket(Napi::Env env, Napi::Object exports) {
  return Export(exports, "listenTcp", ListenTcp) && Export(exports, "listenUnix", ListenUnix) &&
         Export(exports, "connectUnix", ConnectUnix) && Export(exports, "getsockname", GetSockName) &&
         Export(exports, "sendDatagram", SendDatagram) && Export(exports, "bindDatagram", BindDatagram) &&
         Export(exports, "recvDatagram", RecvDatagram) &&
         Put(exports, "hasAbstractSockets", Napi::Boolean::New(env, HasAbstractSockets()));
}

}  // namespace dk
