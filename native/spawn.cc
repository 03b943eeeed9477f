// fork → setsid → fork → execve, and the plain fork → execve the supervisor needs.
//
// Everything the child uses is built before the first fork; between fork and execve it calls
// only async-signal-safe functions (signal-safety(7)) on that data: no malloc, no N-API, no
// C++ objects, no messages. A failure there is written to a close-on-exec error pipe as a
// fixed-size record {step, errno} and the child _exit(127)s; EOF on the pipe means execve
// succeeded (the same scheme as libuv's src/unix/process.c).
#include "napi_util.h"
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
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
  kStepSetgroups,
  kStepSetresgid,
  kStepSetresuid,
  kStepCloseRange,
  kStepSigprocmask,
  kStepExecve,
  kStepCount
};

const char* const kStepNames[kStepCount] = {
    "pid",       "fork",      "setsid",    "fcntl",       "open",        "dup2",   "chdir",
    "setgroups", "setresgid", "setresuid", "close_range", "sigprocmask", "execve",
};

struct Record {
  int32_t step;
  int32_t value;  // errno, or the pid for kStepPid
};

struct FdMove {
  int src;  // -1: /dev/null
  int dst;
  int tmp;  // scratch written by the child (its own copy of this memory)
};

struct Spec {
  const char* file;
  char* const* argv;
  char* const* envp;
  const char* cwd;  // nullptr: keep the parent's
  int umask_value;  // -1: keep the parent's
  FdMove* moves;    // stdio first, then fds placed at 3, 4, ...
  int nmoves;
  bool daemon;      // fork, setsid, fork
  bool new_session; // setsid without the second fork
  bool set_ids;
  uid_t uid;
  gid_t gid;
  const gid_t* groups;
  size_t ngroups;
  int cloexec_from;  // first descriptor above every target; scratch copies go at or above it
  int fd_limit;      // bound for the close-on-exec loop where close_range(2) is missing
};

void WriteRecord(int fd, int32_t step, int32_t value) {
  Record r = {step, value};
  // 8 bytes < PIPE_BUF: one atomic write or nothing.
  while (write(fd, &r, sizeof r) < 0 && errno == EINTR) {
  }
}

[[noreturn]] void Fail(int fd, Step step, int err) {
  WriteRecord(fd, step, err);
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
  if (s->cwd != nullptr && chdir(s->cwd) < 0) Fail(errfd, kStepChdir, errno);

  if (s->set_ids) {
    // Groups first, while we still may; then gid; uid last (setresuid(2) drops the right
    // to change the others).
    if (setgroups(s->ngroups, s->groups) < 0) Fail(errfd, kStepSetgroups, errno);
    int r = SetResGid(s->gid, s->gid, s->gid);
    if (r < 0) Fail(errfd, kStepSetresgid, -r);
    r = SetResUid(s->uid, s->uid, s->uid);
    if (r < 0) Fail(errfd, kStepSetresuid, -r);
  }

  // Every descriptor below cloexec_from is a target (0, 1, 2, then 3 + i); the rest must not
  // survive execve, whatever the parent forgot to mark.
  int r = CloseRangeCloexec(s->cloexec_from, s->fd_limit);
  if (r < 0) Fail(errfd, kStepCloseRange, -r);

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

// Returns the pid, or -errno with *step set.
pid_t Spawn(Spec* s, const char** step, int* bad_fd) {
  // A closed source would make dup2 copy whatever the pipe or /dev/null opens at that number.
  for (int i = 0; i < s->nmoves; i++) {
    if (s->moves[i].src != -1 && fcntl(s->moves[i].src, F_GETFD) < 0) {
      *step = "fcntl";
      *bad_fd = s->moves[i].src;
      return -errno;
    }
  }

  int pipefd[2];
  int r = PipeCloexec(pipefd);
  if (r < 0) {
    *step = "pipe";
    return r;
  }

  // No signal handler of Node's may run in the child before the reset above.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = fork();
  int fork_errno = errno;
  if (pid == 0) RunChild(s, pipefd[1]);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  close(pipefd[1]);

  if (pid < 0) {
    close(pipefd[0]);
    *step = "fork";
    return -fork_errno;
  }

  // Blocks only until execve or a failure record: the same bounded wait as uv_spawn().
  pid_t result = s->daemon ? -1 : pid;
  int err_step = -1;
  int err = 0;
  for (;;) {
    Record rec;
    ssize_t n = read(pipefd[0], &rec, sizeof rec);
    if (n < 0 && errno == EINTR) continue;
    if (n != (ssize_t)sizeof rec) break;
    if (rec.step == kStepPid) {
      result = rec.value;
    } else if (err_step < 0 && rec.step > 0 && rec.step < kStepCount) {
      err_step = rec.step;
      err = rec.value;
    }
  }
  close(pipefd[0]);

  if (s->daemon || err_step >= 0) {
    // The middle process (or the failed plain child) is ours and has exited or is about to.
    int status = 0;
    r = WaitPid(pid, &status);
    if (err_step < 0 && r == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
      err_step = kStepFork;
      err = ECHILD;
    }
  }
  if (err_step >= 0) {
    // A daemon that failed before execve is an orphan by now. When we are its subreaper it is
    // our child and would stay a zombie; otherwise this is ECHILD at once and init reaps it.
    if (s->daemon && result > 0) {
      int status;
      WaitPid(result, &status);
    }
    *step = kStepNames[err_step];
    return -err;
  }
  if (result <= 0) {
    *step = "fork";
    return -ECHILD;
  }
  return result;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(&s[0]);
  out.push_back(nullptr);
  return out;
}

// spawn(file, argv, envp, cwd|null, umask|-1, stdio[3], fds[], daemon, setsid,
//       ids: null | [uid, gid, groups[]]) -> pid
// stdio entries and fds are descriptors, -1 for /dev/null; fds[i] lands at 3 + i.
Napi::Value SpawnJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgsOk(info, 10)) return env.Undefined();

  std::string file = info[0].ToString().Utf8Value();
  std::vector<std::string> argv_s = StringArray(info[1]);
  std::vector<std::string> envp_s = StringArray(info[2]);
  std::vector<char*> argv = CStrings(argv_s);
  std::vector<char*> envp = CStrings(envp_s);
  std::string cwd;
  bool has_cwd = info[3].IsString();
  if (has_cwd) cwd = info[3].As<Napi::String>().Utf8Value();

  std::vector<int64_t> stdio = NumberArray(info[5]);
  std::vector<int64_t> fds = NumberArray(info[6]);
  std::vector<FdMove> moves;
  for (size_t i = 0; i < 3; i++) moves.push_back({i < stdio.size() ? (int)stdio[i] : -1, (int)i, -1});
  for (size_t i = 0; i < fds.size(); i++) moves.push_back({(int)fds[i], (int)(3 + i), -1});

  std::vector<gid_t> groups;
  Spec s;
  memset(&s, 0, sizeof s);
  if (info[9].IsArray()) {
    Napi::Array ids = info[9].As<Napi::Array>();
    s.set_ids = true;
    s.uid = (uid_t)ids.Get(0u).ToNumber().Int64Value();
    s.gid = (gid_t)ids.Get(1u).ToNumber().Int64Value();
    for (int64_t g : NumberArray(ids.Get(2u))) groups.push_back((gid_t)g);
  }
  if (env.IsExceptionPending()) return env.Undefined();

  s.file = file.c_str();
  s.argv = argv.data();
  s.envp = envp.data();
  s.cwd = has_cwd ? cwd.c_str() : nullptr;
  s.umask_value = info[4].ToNumber().Int32Value();
  s.moves = moves.data();
  s.nmoves = (int)moves.size();
  s.daemon = info[7].ToBoolean().Value();
  s.new_session = info[8].ToBoolean().Value();
  s.groups = groups.data();
  s.ngroups = groups.size();

  s.cloexec_from = 3 + (int)fds.size();
  struct rlimit lim;
  s.fd_limit = (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY &&
                lim.rlim_cur < (1 << 20))
                   ? (int)lim.rlim_cur
                   : (1 << 20);

  const char* step = "fork";
  int bad_fd = -1;
  pid_t pid = Spawn(&s, &step, &bad_fd);
  if (pid < 0) {
    ThrowErrno(env, -pid, step, bad_fd);
    return env.Undefined();
  }
  return Napi::Number::New(env, pid);
}

// waitpid(pid) -> null while it runs, else { code, signal } (one of them null). Never blocks:
// the caller polls, so nothing waits on the libuv threadpool. Only pids the caller owns.
Napi::Value WaitPidJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgsOk(info, 1)) return env.Undefined();
  pid_t pid = (pid_t)info[0].ToNumber().Int32Value();
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
  out.Set("code", WIFEXITED(status) ? Napi::Number::New(env, WEXITSTATUS(status)) : env.Null());
  out.Set("signal", WIFSIGNALED(status) ? Napi::Number::New(env, WTERMSIG(status)) : env.Null());
  return out;
}

}  // namespace

void InitSpawn(Napi::Env env, Napi::Object exports) {
  exports.Set("spawn", Napi::Function::New(env, SpawnJs, "spawn"));
  exports.Set("waitpid", Napi::Function::New(env, WaitPidJs, "waitpid"));
}

}  // namespace dk
