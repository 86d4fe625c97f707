// An exclusive flock(2) on an open file, never waiting: the cross-process lock of the QoS calls
// (lib/qos/locks.ts). Node has no flock; the kernel drops the lock when its holder dies.
#include <napi.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <uv.h>

#include <cerrno>
#include <string>

namespace netqos {

namespace {

Napi::Value Flock(const Napi::CallbackInfo& info, int operation, const char* name) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, std::string(name) + ": fd must be a number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  int rc;
  do rc = flock(fd, operation);
  while (rc < 0 && errno == EINTR);
  if (rc == 0) return Napi::Boolean::New(env, true);
  if (errno == EWOULDBLOCK) return Napi::Boolean::New(env, false);
  Napi::Error e = Napi::Error::New(env, std::string("flock: ") + uv_strerror(-errno));
  e.Set("code", Napi::String::New(env, uv_err_name(-errno)));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

}  // namespace

// tryLockFile(fd): true when this open file now holds the lock, false when another holds it.
Napi::Value TryLockFile(const Napi::CallbackInfo& info) {
  return Flock(info, LOCK_EX | LOCK_NB, "tryLockFile");
}

// unlockFile(fd): gives the lock up, keeping the file open (for the next call to take again).
Napi::Value UnlockFile(const Napi::CallbackInfo& info) { return Flock(info, LOCK_UN, "unlockFile"); }

// fileId(path): "DEV:INO" of the file (stat(2), links followed), null when it cannot be read.
// What the QoS calls key namespaces and recognize lock files by: one system call, no Stats.
Napi::Value FileId(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "fileId: path must be a string").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string path = info[0].As<Napi::String>().Utf8Value();
  struct stat st {};
  if (path.find('\0') != std::string::npos || stat(path.c_str(), &st) < 0) return env.Null();
  return Napi::String::New(env, std::to_string(static_cast<unsigned long long>(st.st_dev)) + ":" +
                                    std::to_string(static_cast<unsigned long long>(st.st_ino)));
}

}  // namespace netqos
