// Readiness of a descriptor Node has no handle type for (an AF_UNIX datagram socket: a
// NOTIFY_SOCKET), watched on the event loop with uv_poll_t as libuv watches its own: the
// callback runs when the descriptor is readable, and nothing blocks or polls on a timer.
#include "napi_util.h"

#include <uv.h>

#include <map>

namespace dk {

namespace {

struct Watch {
  uv_poll_t handle;
  napi_env env;
  Napi::FunctionReference callback;
};

// Watches by id, so a second stop of the same id is a no-op instead of a use after free.
// Only touched on the loop's thread.
std::map<int32_t, Watch*> watches;
int32_t next_id = 1;

void OnClosed(uv_handle_t* handle) { delete static_cast<Watch*>(handle->data); }

void OnReadable(uv_poll_t* handle, int status, int events) {
  Watch* w = static_cast<Watch*>(handle->data);
  Napi::Env env(w->env);
  Napi::HandleScope scope(env);
  // status < 0 is the errno the poll failed with (the descriptor was closed under it, say):
  // the callback is told and decides.
  // Nothing comes back when the callback threw; the result itself is not used.
  Napi::Maybe<Napi::Value> result = w->callback.MakeCallback(env.Global(), {Napi::Number::New(env, status)});
  if (result.IsNothing() && env.IsExceptionPending()) {
    // As for any callback from the event loop: an uncaught exception.
    napi_value error;
    napi_get_and_clear_last_exception(w->env, &error);
    napi_fatal_exception(w->env, error);
  }
}

// pollReadable(fd, callback(status)) -> id. The descriptor stays the caller's.
Napi::Value PollReadable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "pollReadable", 2);
  int fd = args.Fd(0, "fd");
  Napi::Function callback = args.Function(1, "callback");
  if (!args.Ok()) return env.Undefined();
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    ThrowErrno(env, EINVAL, "uv_poll_init");
    return env.Undefined();
  }
  Watch* w = new Watch();
  w->env = env;
  int r = uv_poll_init(loop, &w->handle, fd);
  if (r < 0) {
    delete w;
    ThrowErrno(env, -r, "uv_poll_init", fd);
    return env.Undefined();
  }
  w->handle.data = w;
  r = uv_poll_start(&w->handle, UV_READABLE, OnReadable);
  if (r < 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&w->handle), OnClosed);
    ThrowErrno(env, -r, "uv_poll_start", fd);
    return env.Undefined();
  }
  w->callback = Napi::Persistent(callback);
  int32_t id = next_id++;
  watches[id] = w;
  return Napi::Number::New(env, id);
}

// pollStop(id): no more callbacks; the handle is closed on the next loop turn.
Napi::Value PollStop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "pollStop", 1);
  int32_t id = args.Int32(0, "id");
  if (!args.Ok()) return env.Undefined();
  auto it = watches.find(id);
  if (it == watches.end()) return env.Undefined();
  Watch* w = it->second;
  watches.erase(it);
  uv_poll_stop(&w->handle);
  uv_close(reinterpret_cast<uv_handle_t*>(&w->handle), OnClosed);
  return env.Undefined();
}

}  // namespace

bool InitPoll(Napi::Env env, Napi::Object exports) {
  return Export(exports, "pollReadable", PollReadable) && Export(exports, "pollStop", PollStop);
}

}  // namespace dk
