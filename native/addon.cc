// N-API glue: the Handle class (one route-netlink socket in one namespace), batched apply and
// dumps as Promises (work on the libuv pool) or synchronously, and errors as NetlinkError.
#include <napi.h>
#include <uv.h>

#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <memory>

#include "decode.h"
#include "dump_request.h"
#include "monitor.h"
#include "napi_fields.h"
#include "nft_addon.h"
#include "operation.h"
#include "psched.h"
#include "records.h"
#include "registry.h"
#include "socket.h"

namespace netqos {

Napi::Value TryLockFile(const Napi::CallbackInfo& info);  // lock.cc
Napi::Value UnlockFile(const Napi::CallbackInfo& info);   // lock.cc
Napi::Value FileId(const Napi::CallbackInfo& info);       // lock.cc

namespace {

struct AddonData {
  Napi::FunctionReference error_class;  // NetlinkError, handed over by lib/netlink at load
  // lib/netlink/records.ts unpackRecords(values, strings, replies, newShapes): builds the objects
  // of a RecordStream, handed over at load; and how many shapes it has been told of.
  Napi::FunctionReference unpack_records;
  size_t shapes_known = 0;
};

std::string errno_code(int err) {
  if (err <= 0) return "";
  return uv_err_name(-err);
}

Napi::Error netlink_error(Napi::Env env, int err, const std::string& message) {
  auto* data = env.GetInstanceData<AddonData>();
  Napi::Object details = Napi::Object::New(env);
  details.Set("errno", Napi::Number::New(env, err));
  details.Set("code", Napi::String::New(env, errno_code(err)));
  if (data && !data->error_class.IsEmpty()) {
    Napi::Value e = data->error_class.New({Napi::String::New(env, message), details});
    return Napi::Error(env, e);
  }
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("code", Napi::String::New(env, errno_code(err)));
  return e;
}

// Encodes an array of operations; throws a JS error naming the bad field. `known`, when an
// array, lists [name, index, name, index, ...] the caller vouches for (see Batch::known).
bool encode_all(Napi::Env env, Napi::Value ops, Batch& batch, Napi::Value known = Napi::Value()) {
  try {
    auto list = read_list(ops, "operations");
    uint32_t n = list.Length();
    for (uint32_t i = 0; i < n; i++) {
      Napi::Value v = list.Get(i);
      std::string path = "ops[" + std::to_string(i) + "]";
      if (!v.IsObject()) throw InvalidArgument(path + ": expected an operation object, got " + describe(v));
      JsReader reader(v.As<Napi::Object>(), path);
      encode_operation(batch, reader);
    }
    if (!known.IsEmpty() && known.IsArray()) {
      auto pairs = known.As<Napi::Array>();
      for (uint32_t i = 0; i + 1 < pairs.Length(); i += 2) {
        Napi::Value name = pairs.Get(i), index = pairs.Get(i + 1);
        std::string where = "known interfaces[" + std::to_string(i / 2) + "]";
        if (!name.IsString() || !index.IsNumber())
          throw InvalidArgument(where + ": expected a name and an index, got " + describe(name) + " and " +
                                describe(index));
        std::string text = name.As<Napi::String>().Utf8Value();
        check_text(where, text);
        double d = index.As<Napi::Number>().DoubleValue();
        if (text.empty() || text.size() > 15 || !(d >= 1 && d <= 2147483647.0 && d == std::floor(d)))
          throw InvalidArgument(where + ": " + quote(text) + " = " + describe(index) +
                                " is not an interface name (1..15 characters) and index (1..2147483647)");
        batch.known[text] = static_cast<uint32_t>(d);
      }
    }
  } catch (const InvalidArgument& e) {
    invalid_argument(env, e.what()).ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

// Result of a batch: only what went wrong (or warned) is materialised, so 10,000 successful
// operations cost one small object.
Napi::Object results_to_js(Napi::Env env, const std::vector<OpResult>& results, uint64_t sendmsgs) {
  Napi::Object out = Napi::Object::New(env);
  Napi::Array failures = Napi::Array::New(env);
  Napi::Array warnings = Napi::Array::New(env);
  for (size_t i = 0; i < results.size(); i++) {
    const OpResult& r = results[i];
    if (r.error == 0 && r.message.empty()) continue;
    Napi::Object o = Napi::Object::New(env);
    o.Set("index", Napi::Number::New(env, static_cast<double>(i)));
    o.Set("message", Napi::String::New(env, r.message));
    if (r.error) {
      o.Set("errno", Napi::Number::New(env, r.error));
      o.Set("description", Napi::String::New(env, strerror(r.error)));
      o.Set("code", Napi::String::New(env, errno_code(r.error)));
      failures.Set(failures.Length(), o);
    } else {
      warnings.Set(warnings.Length(), o);
    }
  }
  out.Set("count", Napi::Number::New(env, static_cast<double>(results.size())));
  out.Set("failures", failures);
  out.Set("warnings", warnings);
  out.Set("sendmsgCalls", Napi::Number::New(env, static_cast<double>(sendmsgs)));
  return out;
}

bool read_dumps(Napi::Env env, Napi::Value requests, std::vector<DumpRequest>& out) {
  try {
    auto list = read_list(requests, "requests");
    for (uint32_t i = 0; i < list.Length(); i++) {
      Napi::Value v = list.Get(i);
      std::string path = "requests[" + std::to_string(i) + "]";
      if (!v.IsObject()) throw InvalidArgument(path + ": expected an object, got " + describe(v));
      out.push_back(read_dump_request(JsReader(v.As<Napi::Object>(), path)));
    }
  } catch (const InvalidArgument& e) {
    invalid_argument(env, e.what()).ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

// The objects of a stream, one array per reply (`replies` of them), built by the JavaScript side.
Napi::Value records_to_js(Napi::Env env, RecordStream& stream, size_t replies) {
  auto* data = env.GetInstanceData<AddonData>();
  if (!data || data->unpack_records.IsEmpty())
    throw Napi::Error::New(env, "netqos: the record reader is not set (load the addon through lib/netlink)");
  // The values go over without a copy: the ArrayBuffer lends the stream's memory to
  // JavaScript, and is detached once the objects are built (the stream keeps its memory for the
  // next read, see RecordStream).
  size_t count = stream.values.size();
  Napi::ArrayBuffer buffer = count == 0
                                 ? Napi::ArrayBuffer::New(env, 0)
                                 : Napi::ArrayBuffer::New(env, stream.values.data(), count * sizeof(double));
  struct Detach {
    Napi::Env env;
    napi_value buffer;
    ~Detach() {
      if (buffer) napi_detach_arraybuffer(env, buffer);
    }
  } detach{env, count == 0 ? nullptr : static_cast<napi_value>(buffer)};
  // The keys of the shapes new since the last call (each compiled once).
  Napi::Value fresh = env.Undefined();
  size_t shapes = shape_count();
  if (shapes > data->shapes_known) {
    Napi::Array list = Napi::Array::New(env, shapes - data->shapes_known);
    for (size_t i = data->shapes_known; i < shapes; i++) {
      ShapeFields fields = shape_fields(i);
      Napi::Array keys = Napi::Array::New(env, fields.keys.size());
      Napi::Array types = Napi::Array::New(env, fields.types.size());
      for (uint32_t k = 0; k < fields.keys.size(); k++) {
        keys.Set(k, fields.keys[k]);
        types.Set(k, Napi::Number::New(env, fields.types[k]));
      }
      Napi::Array shape = Napi::Array::New(env, 2);
      shape.Set(0u, keys);
      shape.Set(1u, types);
      list.Set(static_cast<uint32_t>(i - data->shapes_known), shape);
    }
    data->shapes_known = shapes;
    fresh = list;
  }
  return data->unpack_records.Call({Napi::Float64Array::New(env, count, buffer, 0),
                                    Napi::String::New(env, stream.strings),
                                    Napi::Number::New(env, static_cast<double>(replies)), fresh});
}

// Runs the reads and decodes their answers into `stream` (no N-API: also on a worker thread).
void read_records(RouteSocket& socket, const std::vector<DumpRequest>& requests, RecordStream& stream) {
  RecordSink sink(stream, requests);
  socket.read(requests, sink);
  sink.finish();
}

// What runs on the calling thread even when asked for a Promise (see Handle::Apply): up to this
// many messages, no link changes (creating or deleting an interface takes the kernel
// milliseconds); up to as many reads of one object or one hook each.
constexpr size_t kInlineMessages = 8;
bool is_small(Batch& batch) {
  if (batch.size() > kInlineMessages) return false;
  for (size_t i = 0; i < batch.size(); i++) {
    uint16_t type = batch.message(i)->nlmsg_type;
    if (type == RTM_NEWLINK || type == RTM_DELLINK) return false;
  }
  return true;
}
bool is_small(const std::vector<DumpRequest>& requests) {
  return requests.size() <= kInlineMessages &&
         std::all_of(requests.begin(), requests.end(), [](const DumpRequest& r) {
           return r.one_object() || (r.kind == DumpKind::Qdisc && (r.dev.index || r.dev.by_name()));
         });
}

// With a monitor, its notifications are drained after every chunk of a batch, so a batch of
// thousands of operations cannot overflow its receive buffer.
std::function<void()> drainer(const std::shared_ptr<Monitor>& monitor) {
  if (!monitor) return nullptr;
  return [monitor] { monitor->drain(); };
}

class ApplyWorker : public Napi::AsyncWorker {
 public:
  ApplyWorker(Napi::Env env, std::shared_ptr<RouteSocket> socket, std::shared_ptr<Monitor> monitor,
              std::unique_ptr<Batch> batch)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        socket_(std::move(socket)),
        monitor_(std::move(monitor)),
        batch_(std::move(batch)) {}
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
    std::lock_guard<std::mutex> guard(socket_->lock());
    uint64_t before = socket_->sendmsg_calls();
    socket_->execute(*batch_, results_, drainer(monitor_));
    sendmsgs_ = socket_->sendmsg_calls() - before;
  }
  void OnOK() override {
    settle(deferred_, [&] { return results_to_js(Env(), results_, sendmsgs_); });
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<RouteSocket> socket_;
  std::shared_ptr<Monitor> monitor_;
  std::unique_ptr<Batch> batch_;
  std::vector<OpResult> results_;
  uint64_t sendmsgs_ = 0;
};

class DumpWorker : public Napi::AsyncWorker {
 public:
  DumpWorker(Napi::Env env, std::shared_ptr<RouteSocket> socket, std::vector<DumpRequest> requests)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        socket_(std::move(socket)),
        requests_(std::move(requests)) {}
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
    std::lock_guard<std::mutex> guard(socket_->lock());
    try {
      read_records(*socket_, requests_, stream_);
    } catch (const SystemError& e) {
      error_ = e.error;
      message_ = e.what();
    }
  }
  void OnOK() override {
    if (error_) {
      deferred_.Reject(netlink_error(Env(), error_, message_).Value());
      return;
    }
    settle(deferred_, [&] { return records_to_js(Env(), stream_, requests_.size()); });
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<RouteSocket> socket_;
  std::vector<DumpRequest> requests_;
  RecordStream stream_;
  int error_ = 0;
  std::string message_;
};

class Handle : public Napi::ObjectWrap<Handle> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "Handle",
        {InstanceMethod("apply", &Handle::Apply), InstanceMethod("applySync", &Handle::ApplySync),
         InstanceMethod("dump", &Handle::Dump), InstanceMethod("dumpSync", &Handle::DumpSync),
         InstanceMethod("close", &Handle::Close), InstanceMethod("counters", &Handle::Counters),
         InstanceMethod("namespaceId", &Handle::NamespaceId), InstanceMethod("watch", &Handle::Watch),
         InstanceMethod("events", &Handle::Events)});
  }

  explicit Handle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Handle>(info) {
    try {
      netns_ = read_netns(info[0]);
    } catch (const InvalidArgument& e) {
      invalid_argument(info.Env(), e.what()).ThrowAsJavaScriptException();
      return;
    }
    try {
      socket_ = std::make_shared<RouteSocket>(netns_);
    } catch (const SystemError& e) {
      netlink_error(info.Env(), e.error, e.what()).ThrowAsJavaScriptException();
    }
  }

 private:
  bool usable(Napi::Env env) {
    if (socket_) return true;
    netlink_error(env, EBADF, "the netlink handle is closed").ThrowAsJavaScriptException();
    return false;
  }

  // The socket for work whose arguments have just been read. Reading them ran the caller's
  // getters, which may have closed the handle: then EBADF. The work keeps its own reference, so
  // a close() from JavaScript it runs later (a setter reached while building results) cannot
  // free the socket under it.
  std::shared_ptr<RouteSocket> socket_after_reading(Napi::Env env) {
    if (!socket_)
      netlink_error(env, EBADF, "the netlink handle was closed while its arguments were read")
          .ThrowAsJavaScriptException();
    return socket_;
  }

  Napi::Value Apply(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!usable(env)) return env.Undefined();
    auto batch = std::make_unique<Batch>();
    if (!encode_all(env, info[0], *batch, info[1])) return env.Undefined();
    auto socket = socket_after_reading(env);
    if (!socket) return env.Undefined();
    // A few qdisc or filter messages take the kernel tens of microseconds, inside sendmsg: less
    // than handing them to the worker pool and back costs. They run here, unless the socket is
    // busy with a batch already (then they queue behind it, as everything else does).
    if (is_small(*batch)) {
      std::unique_lock<std::mutex> guard(socket->lock(), std::try_to_lock);
      if (guard.owns_lock()) {
        auto deferred = Napi::Promise::Deferred::New(env);
        std::vector<OpResult> results;
        uint64_t sendmsgs = run_here(*socket, *batch, results);
        guard.unlock();
        settle(deferred, [&] { return results_to_js(env, results, sendmsgs); });
        return deferred.Promise();
      }
    }
    auto* worker = new ApplyWorker(env, socket, monitor_, std::move(batch));
    Napi::Promise promise = worker->promise();
    worker->Queue();
    return promise;
  }

  Napi::Value ApplySync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!usable(env)) return env.Undefined();
    Batch batch;
    if (!encode_all(env, info[0], batch, info[1])) return env.Undefined();
    auto socket = socket_after_reading(env);
    if (!socket) return env.Undefined();
    std::vector<OpResult> results;
    uint64_t sendmsgs;
    {
      std::lock_guard<std::mutex> guard(socket->lock());
      sendmsgs = run_here(*socket, batch, results);
    }
    return results_to_js(env, results, sendmsgs);
  }

  // The batch on this thread; the caller holds the socket's lock, and builds the results after
  // releasing it (that runs JavaScript, which may call this handle again). Returns the sendmsg
  // calls made.
  uint64_t run_here(RouteSocket& socket, Batch& batch, std::vector<OpResult>& results) {
    uint64_t before = socket.sendmsg_calls();
    socket.execute(batch, results, drainer(monitor_));
    return socket.sendmsg_calls() - before;
  }

  // The reads on this thread, under the socket's lock; the objects are built after it (that runs
  // JavaScript). Throws SystemError.
  Napi::Value dump_here(Napi::Env env, RouteSocket& socket, const std::vector<DumpRequest>& requests,
                        std::unique_lock<std::mutex>& guard) {
    RecordStream stream;
    read_records(socket, requests, stream);
    guard.unlock();
    return records_to_js(env, stream, requests.size());
  }

  Napi::Value Dump(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!usable(env)) return env.Undefined();
    std::vector<DumpRequest> requests;
    if (!read_dumps(env, info[0], requests)) return env.Undefined();
    auto socket = socket_after_reading(env);
    if (!socket) return env.Undefined();
    // A few reads of one object or hook each are small answers: here, as a small apply is.
    if (is_small(requests)) {
      std::unique_lock<std::mutex> guard(socket->lock(), std::try_to_lock);
      if (guard.owns_lock()) {
        auto deferred = Napi::Promise::Deferred::New(env);
        try {
          settle(deferred, [&] { return dump_here(env, *socket, requests, guard); });
        } catch (const SystemError& e) {
          deferred.Reject(netlink_error(env, e.error, e.what()).Value());
        }
        return deferred.Promise();
      }
    }
    auto* worker = new DumpWorker(env, socket, std::move(requests));
    Napi::Promise promise = worker->promise();
    worker->Queue();
    return promise;
  }

  Napi::Value DumpSync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!usable(env)) return env.Undefined();
    std::vector<DumpRequest> requests;
    if (!read_dumps(env, info[0], requests)) return env.Undefined();
    auto socket = socket_after_reading(env);
    if (!socket) return env.Undefined();
    std::unique_lock<std::mutex> guard(socket->lock());
    try {
      return dump_here(env, *socket, requests, guard);
    } catch (const SystemError& e) {
      netlink_error(env, e.error, e.what()).ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }

  // Closing while work is queued is safe: the workers hold the socket until they finish.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    socket_.reset();
    monitor_.reset();
    return info.Env().Undefined();
  }

  // watch(receiveBuffer): subscribes to the namespace's link and tc notifications (once; later
  // calls do nothing).
  Napi::Value Watch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!usable(env)) return env.Undefined();
    if (monitor_) return env.Undefined();
    int receive_buffer =
        info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
    try {
      monitor_ = std::make_shared<Monitor>(netns_, receive_buffer);
    } catch (const SystemError& e) {
      netlink_error(env, e.error, e.what()).ThrowAsJavaScriptException();
    }
    return env.Undefined();
  }

  // The notifications received since the last call, decoded without statistics: { events,
  // overflow }. Never waits.
  Napi::Value Events(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!usable(env)) return env.Undefined();
    if (!monitor_) {
      netlink_error(env, EINVAL, "the handle is not watching (call watch() first)")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    MonitorLog log;
    monitor_->take(log);
    struct Release {
      MonitorLog& log;
      ~Release() {
        size_t bytes = log.data.capacity();
        log = MonitorLog{};
        release_memory(bytes);
      }
    } release{log};
    RecordStream stream;
    stream.begin_segment(0);
    for (size_t offset : log.offsets) {
      RecordWriter w(stream, false);
      if (!decode_event(reinterpret_cast<const nlmsghdr*>(log.data.data() + offset), w)) w.discard();
    }
    stream.end_segment();
    Napi::Object out = Napi::Object::New(env);
    out.Set("events", records_to_js(env, stream, 1).As<Napi::Array>().Get(0u));
    out.Set("overflow", Napi::Boolean::New(env, log.overflow));
    return out;
  }

  // The namespace the socket is in ("DEV:INO", "" when unknown): what the QoS calls compare with
  // the namespace a target names before they reuse a handle.
  Napi::Value NamespaceId(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!usable(env)) return env.Undefined();
    return Napi::String::New(env, socket_->namespace_id());
  }

  Napi::Value Counters(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("messages", Napi::Number::New(env, socket_ ? static_cast<double>(socket_->messages_sent()) : 0));
    o.Set("sendmsgCalls",
          Napi::Number::New(env, socket_ ? static_cast<double>(socket_->sendmsg_calls()) : 0));
    return o;
  }

  std::string netns_;
  std::shared_ptr<RouteSocket> socket_;
  std::shared_ptr<Monitor> monitor_;
};

// encode(ops): the request each operation would send, as Buffers (interfaces by index), for
// comparing with iproute2's own requests.
Napi::Value Encode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Batch batch;
  if (!encode_all(env, info[0], batch)) return env.Undefined();
  Napi::Array out = Napi::Array::New(env, batch.size());
  for (size_t i = 0; i < batch.size(); i++) {
    nlmsghdr* nlh = batch.message(i);
    out.Set(static_cast<uint32_t>(i),
            Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<uint8_t*>(nlh), nlh->nlmsg_len));
  }
  return out;
}

Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
  auto* data = info.Env().GetInstanceData<AddonData>();
  if (info[0].IsFunction()) data->error_class = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

Napi::Value SetRecordReader(const Napi::CallbackInfo& info) {
  auto* data = info.Env().GetInstanceData<AddonData>();
  if (info[0].IsFunction()) {
    data->unpack_records = Napi::Persistent(info[0].As<Napi::Function>());
    data->shapes_known = 0;  // a new reader (the module loaded again, as test runners do) knows none
  }
  return info.Env().Undefined();
}

Napi::Value TickInUsec(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), tick_in_usec());
}

// The kinds in the registry, by family: the TypeScript side checks its own table against it.
Napi::Value Kinds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto list = [&](const std::vector<std::string>& names) {
    Napi::Array out = Napi::Array::New(env, names.size());
    for (size_t i = 0; i < names.size(); i++) out.Set(static_cast<uint32_t>(i), names[i]);
    return out;
  };
  Napi::Object out = Napi::Object::New(env);
  out.Set("qdisc", list(qdisc_kinds()));
  out.Set("class", list(class_kinds()));
  out.Set("filter", list(filter_kinds()));
  out.Set("action", list(action_kinds()));
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new AddonData());
  exports.Set("Handle", Handle::Define(env));
  exports.Set("encode", Napi::Function::New(env, Encode));
  exports.Set("setErrorClass", Napi::Function::New(env, SetErrorClass));
  exports.Set("setRecordReader", Napi::Function::New(env, SetRecordReader));
  exports.Set("tickInUsec", Napi::Function::New(env, TickInUsec));
  exports.Set("kinds", Napi::Function::New(env, Kinds));
  exports.Set("tryLockFile", Napi::Function::New(env, TryLockFile));
  exports.Set("unlockFile", Napi::Function::New(env, UnlockFile));
  exports.Set("fileId", Napi::Function::New(env, FileId));
  exports.Set("NftHandle", nft::define_handle(env));
  exports.Set("nftEncode", Napi::Function::New(env, nft::encode_for_comparison));
  exports.Set("nftDecode", Napi::Function::New(env, nft::decode_for_comparison));
  return exports;
}

}  // namespace

}  // namespace netqos

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return netqos::Init(env, exports); }

NODE_API_MODULE(netqos, InitModule)
