// fork → setsid → fork → execve, and the plain fork → execve the supervisor needs. A daemon
// may take a second spec, the program it supervises: the daemon forks it before its own
// steps, so both start at once and the program is the daemon's child from its first
// instruction (docs/design.md, "The supervised start").
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
  kStepPipe,
  kStepProgramPid,  // not a failure: the daemon reports the program's pid
  kStepCount
};

const char* const kStepNames[kStepCount] = {
    "pid",       "fork",      "setsid",    "fcntl",       "open",        "dup2",
    "chdir",     "setrlimit", "setgroups", "setresgid",   "setresuid",   "close_range",
    "sigprocmask", "execve",    "verify",    "prctl",       "pipe",        "program pid",
};

// The same steps failed by the supervised program (Record.program): "program:execve".
const char* const kProgramStepNames[kStepCount] = {
    "program:pid",       "program:fork",      "program:setsid",      "program:fcntl",
    "program:open",      "program:dup2",      "program:chdir",       "program:setrlimit",
    "program:setgroups", "program:setresgid", "program:setresuid",   "program:close_range",
    "program:sigprocmask", "program:execve",  "program:verify",      "program:prctl",
    "program:pipe",      "program:program pid",
};

struct Record {
  int32_t step;
  int32_t value;  // errno, or the pid for kStepPid
  int32_t index;  // which rlimit failed (kStepSetrlimit), else -1
  int32_t program;  // 1: the step was the supervised program's
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
  const Spec* program;  // a daemon's supervised program, forked before the daemon's own steps
  char* program_pid;    // "NAME=" + room for the digits, in envp: the program's pid; or nullptr
  size_t program_pid_prefix;
};

// "LISTEN_PID=" and 20 digits: the service's own pid, known only after the last fork.
constexpr size_t kListenPidPrefix = sizeof "LISTEN_PID=" - 1;
constexpr size_t kListenPidSize = kListenPidPrefix + 21;

// Decimal digits of pid after the prefix, with no allocation (async-signal-safe).
void FillPid(char* out, size_t prefix, pid_t pid) {
  char digits[21];
  int n = 0;
  unsigned long v = (unsigned long)pid;
  do {
    digits[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v > 0);
  char* p = out + prefix;
  while (n > 0) *p++ = digits[--n];
  *p = '\0';
}

void WriteRecord(int fd, int32_t step, int32_t value, int32_t index = -1, int32_t program = 0) {
  Record r = {step, value, index, program};
  // 16 bytes < PIPE_BUF: one atomic write or nothing.
  while (write(fd, &r, sizeof r) < 0 && errno == EINTR) {
  }
}

// In a daemon that started its program: the program, which must not outlive a daemon that
// failed before its execve (each child has its own copy of this variable).
pid_t g_program = 0;

void Reap(pid_t pid) {
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

[[noreturn]] void Fail(int fd, Step step, int err, int index = -1, int32_t program = 0) {
  WriteRecord(fd, step, err, index, program);
  if (g_program > 0) {
    kill(g_program, SIGKILL);
    Reap(g_program);
  }
  _exit(127);
}

[[noreturn]] void RunChild(const Spec* s, int errfd);

// In the daemon, before its own steps touch a descriptor (the program's sources are the
// caller's numbers): fork the program, and wait until it exec'd (EOF on a pipe of its own,
// a moment) or failed. A failure goes on to the caller as the program's, and the daemon ends
// without starting: the caller reports one error, as for its own steps.
pid_t StartProgram(const Spec* program, int errfd) {
  int fds[2];
  int r = PipeCloexec(fds);
  if (r < 0) Fail(errfd, kStepPipe, -r, -1, 1);
  pid_t pid = ForkInChild();
  if (pid < 0) Fail(errfd, kStepFork, errno, -1, 1);
  if (pid == 0) {
    close(fds[0]);
    RunChild(program, fds[1]);
  }
  close(fds[1]);
  Record rec;
  ssize_t n;
  do {
    n = read(fds[0], &rec, sizeof rec);
  } while (n < 0 && errno == EINTR);
  close(fds[0]);
  if (n == (ssize_t)sizeof rec) {
    Reap(pid);
    WriteRecord(errfd, rec.step, rec.value, rec.index, 1);
    _exit(127);
  }
  return pid;
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

  if (s->program != nullptr) {
    g_program = StartProgram(s->program, errfd);
    // Its pid, for the daemon (as LISTEN_PID below, written after the fork that made it).
    if (s->program_pid != nullptr) FillPid(s->program_pid, s->program_pid_prefix, g_program);
    WriteRecord(errfd, kStepProgramPid, (int32_t)g_program);
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
  if (s->listen_pid != nullptr) FillPid(s->listen_pid, kListenPidPrefix, getpid());

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

// Returns the pid (and the supervised program's in *program_pid), or -1 with *failure filled in.
pid_t Spawn(Spec* s, Failure* failure, pid_t* program_pid) {
  // A closed source would make dup2 copy whatever the pipe or /dev/null opens at that number.
  for (const Spec* spec = s; spec != nullptr; spec = spec->program) {
    for (int i = 0; i < spec->nmoves; i++) {
      if (spec->moves[i].src != -1 && fcntl(spec->moves[i].src, F_GETFD) < 0) {
        *failure = {"fcntl", errno, spec->moves[i].src, -1};
        return -1;
      }
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
  *program_pid = -1;
  Record error = {-1, 0, -1, 0};
  for (;;) {
    Record rec;
    ssize_t n = read(pipefd[0], &rec, sizeof rec);
    if (n < 0 && errno == EINTR) continue;
    if (n != (ssize_t)sizeof rec) break;
    if (rec.step == kStepPid) {
      daemon_pid = rec.value;
    } else if (rec.step == kStepProgramPid) {
      *program_pid = rec.value;
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
    *failure = {(error.program ? kProgramStepNames : kStepNames)[error.step], error.value, -1, error.index};
    return -1;
  }
  if (!s->daemon) return pid;
  // A daemon with a program reports its pid before it execs: without it, it never did.
  if (s->program != nullptr && *program_pid <= 0) {
    if (daemon_pid > 0) WaitPid(daemon_pid, &status);
    *failure = {"program:fork", ECHILD, -1, -1};
    return -1;
  }
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

// One spec as read from JavaScript, with the storage the Spec points into. Not copied or
// moved once filled: the Spec holds pointers into it.
struct OwnedSpec {
  Spec s;
  std::string file;
  std::vector<std::string> argv_s, envp_s;
  std::string cwd;
  std::vector<char*> argv, envp;
  std::vector<gid_t> groups;
  std::vector<Limit> limits;
  std::vector<FdMove> moves;
  char listen_pid_buf[kListenPidSize] = "LISTEN_PID=";
  std::string program_pid_buf;
};

// Reads one spec's fields (prefix names a nested one in messages); false with a TypeError
// pending.
bool ReadSpec(Napi::Value value, const std::string& prefix, OwnedSpec* o) {
  Reader in(value, "spawn", prefix);
  Spec& s = o->s;
  memset(&s, 0, sizeof s);
  o->file = in.String("file");
  o->argv_s = in.Strings("argv");
  o->envp_s = in.Strings("envp");
  bool has_cwd = in.Has("cwd");
  o->cwd = has_cwd ? in.String("cwd") : "";
  int umask_value = (int)in.Int("umask", -1, 0777);
  std::vector<int64_t> stdio = in.Ints("stdio", -1, Check::kInt32Max, 3);
  std::vector<int64_t> fds = in.Ints("fds", -1, Check::kInt32Max);
  s.daemon = in.Bool("daemon");
  s.new_session = in.Bool("setsid");
  s.no_new_privs = in.Bool("noNewPrivileges");
  bool listen_pid = in.Bool("setListenPid");
  if (in.Has("credentials")) {
    Napi::Value creds_value = in.Object("credentials");
    if (!in.Ok()) return false;
    Reader creds(creds_value, "spawn", prefix + "credentials.");
    s.set_ids = true;
    s.uid = (uid_t)creds.Id("uid");
    s.gid = (gid_t)creds.Id("gid");
    for (int64_t g : creds.Ints("groups", 0, Check::kUint32Max)) o->groups.push_back((gid_t)g);
    if (!creds.Ok()) return false;
  }
  for (const auto& l : in.LimitTriples("rlimits")) {
    Limit limit;
    limit.resource = l.first;
    limit.value.rlim_cur = LimitValue(l.second.first);
    limit.value.rlim_max = LimitValue(l.second.second);
    o->limits.push_back(limit);
  }
  // A daemon's program: the name of the variable that tells the daemon the program's pid.
  if (in.Has("programPidVariable")) {
    o->program_pid_buf = in.String("programPidVariable") + "=";
    s.program_pid_prefix = o->program_pid_buf.size();
    o->program_pid_buf.resize(s.program_pid_prefix + 21, '\0');
  }
  if (!in.Ok()) return false;

  o->argv = CStrings(o->argv_s);
  o->envp = CStrings(o->envp_s);
  if (listen_pid) o->envp.insert(o->envp.end() - 1, o->listen_pid_buf);
  if (!o->program_pid_buf.empty()) o->envp.insert(o->envp.end() - 1, &o->program_pid_buf[0]);
  for (size_t i = 0; i < 3; i++) o->moves.push_back({(int)stdio[i], (int)i, -1});
  for (size_t i = 0; i < fds.size(); i++) o->moves.push_back({(int)fds[i], (int)(3 + i), -1});

  s.file = o->file.c_str();
  s.argv = o->argv.data();
  s.envp = o->envp.data();
  s.cwd = has_cwd ? o->cwd.c_str() : nullptr;
  s.umask_value = umask_value;
  s.moves = o->moves.data();
  s.nmoves = (int)o->moves.size();
  s.limits = o->limits.data();
  s.nlimits = (int)o->limits.size();
  s.groups = o->groups.data();
  s.ngroups = o->groups.size();
  s.listen_pid = listen_pid ? o->listen_pid_buf : nullptr;
  s.program_pid = o->program_pid_buf.empty() ? nullptr : &o->program_pid_buf[0];

  s.cloexec_from = 3 + (int)fds.size();
  struct rlimit lim;
  // The sweep's bound: descriptors may sit above a soft limit lowered after they were opened,
  // never above the hard one (capped: an unlimited one would mean 2^31 fcntl calls).
  s.fd_limit = 1 << 20;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_max != RLIM_INFINITY && lim.rlim_max < (rlim_t)s.fd_limit) {
    s.fd_limit = (int)lim.rlim_max;
  }
  return true;
}

// spawn({ file, argv, envp, cwd: string|null, umask: -1|mode, stdio: [3], fds: [],
//         daemon, setsid, credentials: null|{ uid, gid, groups }, rlimits: [[id, soft, hard]],
//         noNewPrivileges, setListenPid, program?: { the same fields }, programPidVariable? })
//   -> pid, or with a program { pid, programPid }
// setListenPid adds LISTEN_PID=<the new program's pid> to its environment. A daemon's
// program is forked by the daemon before its own steps (daemon and setsid of the program:
// false and true); programPidVariable names the variable of the daemon's environment that
// says the program's pid. A failure of the program's steps is thrown as "program:<step>".
// stdio entries and fds are descriptors, -1 for /dev/null; fds[i] lands at 3 + i. Every
// field is validated in TypeScript (src/os/spawn.ts); here each is only checked to be of its C
// type (Reader), so a wrong call throws a TypeError instead of forking with garbage.
Napi::Value SpawnJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "spawn", 1);
  if (!args.Ok()) return env.Undefined();
  OwnedSpec daemon;
  if (!ReadSpec(info[0], "", &daemon)) return env.Undefined();
  OwnedSpec program;
  bool has_program = false;
  {
    Reader in(info[0], "spawn");
    has_program = in.Has("program");
    if (has_program) {
      Napi::Value value = in.Object("program");
      if (!in.Ok() || !ReadSpec(value, "program.", &program)) return env.Undefined();
      if (!daemon.s.daemon || program.s.daemon) {
        Napi::TypeError::New(env, "daemonkit native: spawn(): a program is started only by a daemon, as its child").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      daemon.s.program = &program.s;
    }
    if (!in.Ok()) return env.Undefined();
  }

  Failure failure = {"fork", 0, -1, -1};
  pid_t program_pid = -1;
  pid_t pid = Spawn(&daemon.s, &failure, &program_pid);
  if (pid < 0) {
    ThrowErrno(env, failure.err, failure.step, failure.fd, failure.index);
    return env.Undefined();
  }
  if (!has_program) return Napi::Number::New(env, pid);
  Napi::Object out = Napi::Object::New(env);
  if (!Put(out, "pid", Napi::Number::New(env, pid)) || !Put(out, "programPid", Napi::Number::New(env, program_pid))) return env.Undefined();
  return out;
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
