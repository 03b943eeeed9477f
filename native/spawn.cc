// fork → setsid → fork → execve, and the plain fork → execve the supervisor needs.
//
// Everything the child uses is built before the first fork; between fork and execve it calls
// only async-signal-safe functions (signal-safety(7)) on that data: no malloc, no N-API, no
// C++ objects, no messages. A failure there is written to a close-on-exec error pipe as a
// fixed-size record {step, errno, index} and the child _exit(127)s; EOF on the pipe means
// execve succeeded (the same scheme as libuv's src/unix/process.c).
#include "napi_util.h"
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace dk {

namespace {

// Steps a child can fail at; the names reach users as the error's `syscall`.
enum Step : int32_t {
  kStepPid = 0,  // not a failure: the middle process reports the daemon's pid
  kStepFork,
  kStepSetsid,
  kStepFcntl,
  kStepOpen,
  kStepDup2,
  kStepChdir,
  kStepSetrlimit,
  kStepSetgroups,
  kStepSetresgid,
  kStepSetresuid,
  kStepCloseRange,
  kStepSigprocmask,
  kStepExecve,
  kStepVerify,
  kStepPrctl,
  kStepCount
};

const char* const kStepNames[kStepCount] = {
    "pid",       "fork",      "setsid",    "fcntl",       "open",        "dup2",
    "chdir",     "setrlimit", "setgroups", "setresgid",   "setresuid",   "close_range",
    "sigprocmask", "execve",    "verify",    "prctl",
};

struct Record {
  int32_t step;
  int32_t value;  // errno, or the pid for kStepPid
  int32_t index;  // which rlimit failed (kStepSetrlimit), else -1
};

struct FdMove {
  int src;  // -1: /dev/null
  int dst;
  int tmp;  // scratch written by the child (its own copy of this memory)
};

struct Limit {
  int resource;
  struct rlimit value;
};

struct Spec {
  const char* file;
  char* const* argv;
  char* const* envp;
  const char* cwd;  // nullptr: keep the parent's
  int umask_value;  // -1: keep the parent's
  FdMove* moves;    // stdio first, then fds placed at 3, 4, ...
  int nmoves;
  const Limit* limits;
  int nlimits;
  bool daemon;       // fork, setsid, fork
  bool new_session;  // setsid without the second fork
  bool set_ids;
  uid_t uid;
  gid_t gid;
  const gid_t* groups;
  size_t ngroups;
  bool no_new_privs;  // PR_SET_NO_NEW_PRIVS after the ids (Linux)
  char* listen_pid;   // "LISTEN_PID=" + room for the digits, in envp; nullptr: none
  int cloexec_from;  // first descriptor above every target; scratch copies go at or above it
  int fd_limit;      // bound for the close-on-exec loop where close_range(2) is missing
};

// "LISTEN_PID=" and 20 digits: the service's own pid, known only after the last fork.
constexpr size_t kListenPidPrefix = sizeof "LISTEN_PID=" - 1;
constexpr size_t kListenPidSize = kListenPidPrefix + 21;

// Decimal digits of pid after the prefix, with no allocation (async-signal-safe).
void FillListenPid(char* out, pid_t pid) {
  char digits[21];
  int n = 0;
  unsigned long v = (unsigned long)pid;
  do {
    digits[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v > 0);
  char* p = out + kListenPidPrefix;
  while (n > 0) *p++ = digits[--n];
  *p = '\0';
}

void WriteRecord(int fd, int32_t step, int32_t value, int32_t index = -1) {
  Record r = {step, value, index};
  // 12 bytes < PIPE_BUF: one atomic write or nothing.
  while (write(fd, &r, sizeof r) < 0 && errno == EINTR) {
  }
}

[[noreturn]] void Fail(int fd, Step step, int err, int index = -1) {
  WriteRecord(fd, step, err, index);
  _exit(127);
}

[[noreturn]] void RunChild(const Spec* s, int errfd) {
  // Handlers installed by Node mean nothing after execve, but an ignored signal would stay
  // ignored (SIGPIPE, or SIGHUP for nohup'd launchers). Real-time signals belong to libc.
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  for (int sig = 1; sig < 32; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    sigaction(sig, &sa, nullptr);
  }

  if ((s->daemon || s->new_session) && setsid() < 0) Fail(errfd, kStepSetsid, errno);

  if (s->daemon) {
    // The session leader forks once more so the daemon can never acquire a controlling
    // terminal by opening one (no O_NOCTTY needed anywhere).
    pid_t pid = ForkInChild();
    if (pid < 0) Fail(errfd, kStepFork, errno);
    if (pid > 0) {
      WriteRecord(errfd, kStepPid, (int32_t)pid);
      _exit(0);
    }
  }

  // Keep the error pipe clear of every target number before dup2 can overwrite it.
  // F_DUPFD never returns a descriptor that is open, so nothing above the targets is hit.
  int fd = fcntl(errfd, F_DUPFD_CLOEXEC, s->cloexec_from);
  if (fd < 0) Fail(errfd, kStepFcntl, errno);
  errfd = fd;

  int devnull = -1;
  for (int i = 0; i < s->nmoves; i++) {
    if (s->moves[i].src == -1 && devnull == -1) {
      devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
      if (devnull < 0) Fail(errfd, kStepOpen, errno);
    }
  }
  // Two passes so a source that sits on another move's target is copied before it is
  // overwritten.
  for (int i = 0; i < s->nmoves; i++) {
    int src = s->moves[i].src == -1 ? devnull : s->moves[i].src;
    s->moves[i].tmp = fcntl(src, F_DUPFD_CLOEXEC, s->cloexec_from);
    if (s->moves[i].tmp < 0) Fail(errfd, kStepFcntl, errno);
  }
  for (int i = 0; i < s->nmoves; i++) {
    // dup2(2) clears FD_CLOEXEC on the new descriptor: exactly the ones that survive exec.
    if (dup2(s->moves[i].tmp, s->moves[i].dst) < 0) Fail(errfd, kStepDup2, errno);
  }

  if (s->umask_value >= 0) umask((mode_t)s->umask_value);

  // Every descriptor below cloexec_from is a target (0, 1, 2, then 3 + i); the rest must not
  // survive execve, whatever the parent forgot to mark. Before the limits: a low nofile limit
  // does not close anything, but the sweep's bound was read before it.
  int r = CloseRangeCloexec(s->cloexec_from, s->fd_limit);
  if (r < 0) Fail(errfd, kStepCloseRange, -r);

  // Limits here, not in the launcher: the launcher never lives under them (a tiny RLIMIT_AS
  // aborted it), and raising a hard limit still happens while we may (before the drop).
  for (int i = 0; i < s->nlimits; i++) {
    if (setrlimit(s->limits[i].resource, &s->limits[i].value) < 0) Fail(errfd, kStepSetrlimit, errno, i);
  }

  if (s->set_ids) {
    // Groups first, while we still may; then gid; uid last (setresuid(2) drops the right
    // to change the others).
    if (setgroups(s->ngroups, s->groups) < 0) Fail(errfd, kStepSetgroups, errno);
    r = SetResGid(s->gid, s->gid, s->gid);
    if (r < 0) Fail(errfd, kStepSetresgid, -r);
    r = SetResUid(s->uid, s->uid, s->uid);
    if (r < 0) Fail(errfd, kStepSetresuid, -r);
    // The drop is checked, not assumed: every id is the one asked for, and a process that is
    // no longer root cannot become root again (getuid(2) and friends are signal-safe).
    if (getuid() != s->uid || geteuid() != s->uid || getgid() != s->gid || getegid() != s->gid) {
      Fail(errfd, kStepVerify, EPERM);
    }
    if (s->uid != 0 && setuid(0) == 0) Fail(errfd, kStepVerify, EPERM);
  }

  if (s->no_new_privs) {
    r = SetNoNewPrivs();
    if (r < 0) Fail(errfd, kStepPrctl, -r);
  }

  // After the drop, as systemd's WorkingDirectory=: the program starts only in a directory
  // its user may enter, never in one only root could reach.
  if (s->cwd != nullptr && chdir(s->cwd) < 0) Fail(errfd, kStepChdir, errno);

  // As systemd does for socket activation (sd_listen_fds(3)): the variable names the process
  // the descriptors are for, which only this process knows now.
  if (s->listen_pid != nullptr) FillListenPid(s->listen_pid, getpid());

  sigset_t empty;
  sigemptyset(&empty);
  if (sigprocmask(SIG_SETMASK, &empty, nullptr) < 0) Fail(errfd, kStepSigprocmask, errno);

  execve(s->file, s->argv, s->envp);
  Fail(errfd, kStepExecve, errno);
}

int WaitPid(pid_t pid, int* status) {
  for (;;) {
    pid_t r = waitpid(pid, status, 0);
    if (r >= 0) return 0;
    if (errno != EINTR) return -errno;
  }
}

struct Failure {
  const char* step;
  int err;       // positive errno
  int fd;        // the descriptor a check failed on, or -1
  int index;     // the rlimit that failed, or -1
};

// Returns the pid, or -1 with *failure filled in.
pid_t Spawn(Spec* s, Failure* failure) {
  // A closed source would make dup2 copy whatever the pipe or /dev/null opens at that number.
  for (int i = 0; i < s->nmoves; i++) {
    if (s->moves[i].src != -1 && fcntl(s->moves[i].src, F_GETFD) < 0) {
      *failure = {"fcntl", errno, s->moves[i].src, -1};
      return -1;
    }
  }

  int pipefd[2];
  int r = PipeCloexec(pipefd);
  if (r < 0) {
    *failure = {"pipe", -r, -1, -1};
    return -1;
  }

  // No signal handler of Node's may run in the child before the reset above.
  sigset_t old;
  BlockAllSignals(&old);
  pid_t pid = fork();
  int fork_errno = errno;
  if (pid == 0) RunChild(s, pipefd[1]);
  RestoreSignals(&old);
  close(pipefd[1]);

  if (pid < 0) {
    close(pipefd[0]);
    *failure = {"fork", fork_errno, -1, -1};
    return -1;
  }

  // Blocks only until execve or a failure record: the same bounded wait as uv_spawn(). EOF
  // comes when the last writer is gone: the child (or, for a daemon, the middle process and
  // the daemon) exec'd or exited.
  pid_t daemon_pid = -1;
  Record error = {-1, 0, -1};
  for (;;) {
    Record rec;
    ssize_t n = read(pipefd[0], &rec, sizeof rec);
    if (n < 0 && errno == EINTR) continue;
    if (n != (ssize_t)sizeof rec) break;
    if (rec.step == kStepPid) {
      daemon_pid = rec.value;
    } else if (error.step < 0 && rec.step > 0 && rec.step < kStepCount) {
      error = rec;
    }
  }
  close(pipefd[0]);

  // Our own child (the plain child, or the middle process) has exited or is in _exit(2) now,
  // unless it exec'd: reaping it never waits long, and only a plain child that exec'd is left
  // running.
  int status = 0;
  if (s->daemon || error.step >= 0) WaitPid(pid, &status);

  if (error.step >= 0) {
    // A daemon that failed before execve is in _exit(2) (its record came first), reparented
    // by now to us (as its subreaper: reap it, or it stays a zombie) or to init (ECHILD).
    if (s->daemon && daemon_pid > 0) WaitPid(daemon_pid, &status);
    *failure = {kStepNames[error.step], error.value, -1, error.index};
    return -1;
  }
  if (!s->daemon) return pid;
  // No error record and a pid: the daemon closed the pipe by exec'ing (or was killed before
  // it, which its caller learns as it learns any later death). How the middle process ended
  // after sending the pid does not change that; it is never a reason to wait for the daemon.
  if (daemon_pid > 0) return daemon_pid;
  // The middle process ended without a pid or a record: killed before its fork.
  *failure = {"fork", ECHILD, -1, -1};
  return -1;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(&s[0]);
  out.push_back(nullptr);
  return out;
}

rlim_t LimitValue(double d) { return isinf(d) ? RLIM_INFINITY : (rlim_t)d; }

// spawn({ file, argv, envp, cwd: string|null, umask: -1|mode, stdio: [3], fds: [],
//         daemon, setsid, credentials: null|{ uid, gid, groups }, rlimits: [[id, soft, hard]],
//         noNewPrivileges, setListenPid })
//   -> pid
// setListenPid adds LISTEN_PID=<the new program's pid> to its environment.
// stdio entries and fds are descriptors, -1 for /dev/null; fds[i] lands at 3 + i. Every
// field is validated in TypeScript (src/spawn.ts); here each is only checked to be of its C
// type (Reader), so a wrong call throws a TypeError instead of forking with garbage.
Napi::Value SpawnJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "spawn", 1);
  if (!args.Ok()) return env.Undefined();
  Reader in(info[0], "spawn");

  std::string file = in.String("file");
  std::vector<std::string> argv_s = in.Strings("argv");
  std::vector<std::string> envp_s = in.Strings("envp");
  bool has_cwd = in.Has("cwd");
  std::string cwd = has_cwd ? in.String("cwd") : "";
  int umask_value = (int)in.Int("umask", -1, 0777);
  std::vector<int64_t> stdio = in.Ints("stdio", -1, Check::kInt32Max, 3);
  std::vector<int64_t> fds = in.Ints("fds", -1, Check::kInt32Max);
  bool daemon = in.Bool("daemon");
  bool new_session = in.Bool("setsid");
  bool no_new_privs = in.Bool("noNewPrivileges");
  bool listen_pid = in.Bool("setListenPid");

  Spec s;
  memset(&s, 0, sizeof s);
  std::vector<gid_t> groups;
  if (in.Has("credentials")) {
    Napi::Value value = in.Object("credentials");
    if (!in.Ok()) return env.Undefined();
    Reader creds(value, "spawn", "credentials.");
    s.set_ids = true;
    s.uid = (uid_t)creds.Id("uid");
    s.gid = (gid_t)creds.Id("gid");
    for (int64_t g : creds.Ints("groups", 0, Check::kUint32Max)) groups.push_back((gid_t)g);
    if (!creds.Ok()) return env.Undefined();
  }
  std::vector<Limit> limits;
  for (const auto& l : in.LimitTriples("rlimits")) {
    Limit limit;
    limit.resource = l.first;
    limit.value.rlim_cur = LimitValue(l.second.first);
    limit.value.rlim_max = LimitValue(l.second.second);
    limits.push_back(limit);
  }
  if (!in.Ok()) return env.Undefined();

  std::vector<char*> argv = CStrings(argv_s);
  std::vector<char*> envp = CStrings(envp_s);
  char listen_pid_buf[kListenPidSize] = "LISTEN_PID=";
  if (listen_pid) envp.insert(envp.end() - 1, listen_pid_buf);
  std::vector<FdMove> moves;
  for (size_t i = 0; i < 3; i++) moves.push_back({(int)stdio[i], (int)i, -1});
  for (size_t i = 0; i < fds.size(); i++) moves.push_back({(int)fds[i], (int)(3 + i), -1});

  s.file = file.c_str();
  s.argv = argv.data();
  s.envp = envp.data();
  s.cwd = has_cwd ? cwd.c_str() : nullptr;
  s.umask_value = umask_value;
  s.moves = moves.data();
  s.nmoves = (int)moves.size();
  s.limits = limits.data();
  s.nlimits = (int)limits.size();
  s.daemon = daemon;
  s.new_session = new_session;
  s.groups = groups.data();
  s.ngroups = groups.size();
  s.no_new_privs = no_new_privs;
  s.listen_pid = listen_pid ? listen_pid_buf : nullptr;

  s.cloexec_from = 3 + (int)fds.size();
  struct rlimit lim;
  // The sweep's bound: descriptors may sit above a soft limit lowered after they were opened,
  // never above the hard one (capped: an unlimited one would mean 2^31 fcntl calls).
  s.fd_limit = 1 << 20;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_max != RLIM_INFINITY && lim.rlim_max < (rlim_t)s.fd_limit) {
    s.fd_limit = (int)lim.rlim_max;
  }

  Failure failure = {"fork", 0, -1, -1};
  pid_t pid = Spawn(&s, &failure);
  if (pid < 0) {
    ThrowErrno(env, failure.err, failure.step, failure.fd, failure.index);
    return env.Undefined();
  }
  return Napi::Number::New(env, pid);
}

// waitpid(pid) -> null while it runs, else { code, signal } (one of them null). Never blocks:
// the caller polls, so nothing waits on the libuv threadpool. Only pids the caller owns.
Napi::Value WaitPidJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "waitpid", 1);
  pid_t pid = (pid_t)args.Int32(0, "pid");
  if (!args.Ok()) return env.Undefined();
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    ThrowErrno(env, errno, "waitpid");
    return env.Undefined();
  }
  if (r == 0) return env.Null();
  Napi::Object out = Napi::Object::New(env);
  Napi::Value code = WIFEXITED(status) ? Napi::Value(Napi::Number::New(env, WEXITSTATUS(status))) : env.Null();
  Napi::Value signal = WIFSIGNALED(status) ? Napi::Value(Napi::Number::New(env, WTERMSIG(status))) : env.Null();
  // The child is reaped either way: a failure here loses only its status.
  if (!Put(out, "code", code) || !Put(out, "signal", signal)) return env.Undefined();
  return out;
}

}  // namespace

bool InitSpawn(Napi::Env env, Napi::Object exports) {
  return Export(exports, "spawn", SpawnJs) && Export(exports, "waitpid", WaitPidJs);
}

}  // namespace dk
