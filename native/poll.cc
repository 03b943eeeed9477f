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
  w->callback.MakeCallback(env.Global(), {Napi::Number::New(env, status)});
  if (env.IsExceptionPending()) {
    // As for any callback from the event loop: an uncaught exception.
    napi_value error;
    napi_get_and_clear_last_exception(w->env, &error);
    napi_fatal_exception(w->env, error);
  }
}

// pollReadable(fd, callback(status)) -> id. The descriptor stays the caller's.
Napi::Value PollReadable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgsOk(info, 2) || !info[0].IsNumber() || !info[1].IsFunction()) {
    if (!env.IsExceptionPending()) Napi::TypeError::New(env, "daemonkit native: pollReadable(fd, callback)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
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
  w->callback = Napi::Persistent(info[1].As<Napi::Function>());
  int32_t id = next_id++;
  watches[id] = w;
  return Napi::Number::New(env, id);
}

// pollStop(id): no more callbacks; the handle is closed on the next loop turn.
Napi::Value PollStop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!ArgsOk(info, 1) || !info[0].IsNumber()) return env.Undefined();
  auto it = watches.find(info[0].As<Napi::Number>().Int32Value());
  if (it == watches.end()) return env.Undefined();
  Watch* w = it->second;
  watches.erase(it);
  uv_poll_stop(&w->handle);
  uv_close(reinterpret_cast<uv_handle_t*>(&w->handle), OnClosed);
  return env.Undefined();
}

}  // namespace

void InitPoll(Napi::Env env, Napi::Object exports) {
  exports.Set("pollReadable", Napi::Function::New(env, PollReadable, "pollReadable"));
  exports.Set("pollStop", Napi::Function::New(env, PollStop, "pollStop"));
}

}  // namespace dk
