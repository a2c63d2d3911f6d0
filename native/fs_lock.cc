// A second, tiny addon (binding.gyp target zkp_fs_lock): an exclusive,
// non-blocking flock(2) on an open file descriptor, for the Raft data
// directory lock (src/raft/storage/dir-lock.ts). Node has no flock of its own.
// flock is used rather than a PID file because the kernel releases it when
// the holder dies, kill -9 included, so a stale lock can never block a
// restart, and a live holder is never mistaken for a dead one (PID reuse).
// Built apart from zkp_native so that it needs no CPU-specific flags.
#include <napi.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <sys/file.h>

namespace {

// tryLockExclusive(fd) -> true if this open file description now holds the
// lock, false if another one holds it; throws on any other error.
Napi::Value TryLockExclusive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "zkp_fs_lock: tryLockExclusive(fd) needs one file descriptor").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const int fd = info[0].As<Napi::Number>().Int32Value();
  int rc;
  do {
    rc = flock(fd, LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) return Napi::Boolean::New(env, true);
  if (errno == EWOULDBLOCK) return Napi::Boolean::New(env, false);
  Napi::Error::New(env, std::string("zkp_fs_lock: flock failed: ") + std::strerror(errno)).ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("tryLockExclusive", Napi::Function::New(env, TryLockExclusive));
  return exports;
}

}  // namespace

NODE_API_MODULE(zkp_fs_lock, Init)
