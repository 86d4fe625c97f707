#include "nft_addon.h"

#include <uv.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>

#include "monitor.h"
#include "napi_fields.h"
#include "nft/nft_socket.h"

namespace netqos::nft {

namespace {

std::string errno_code(int err) {
  if (err == ERESTART) return "ERESTART";  // libuv has no name for it
  return err > 0 ? uv_err_name(-err) : "";
}

// System failures reach JavaScript as plain errors with errno and code; lib/nftables makes
// them NetlinkErrors.
Napi::Error system_error(Napi::Env env, int err, const std::string& message) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("code", Napi::String::New(env, errno_code(err)));
  return e;
}

// The batch of an operations array: BATCH_BEGIN, each operation's messages, BATCH_END.
// Options: { echo?: boolean, generation?: number }. Throws a JS error naming the bad field.
bool encode_batch(Napi::Env env, Napi::Value ops, Napi::Value options, NftBatch& b, size_t& count) {
  try {
    auto list = read_list(ops, "operations");
    count = list.Length();
    if (options.IsObject()) {
      JsReader o(options.As<Napi::Object>(), "options");
      b.echo = o.boolean("echo").value_or(false);
      if (o.has("generation"))
        b.generation = static_cast<uint32_t>(o.u64_in("generation", 0, 0xFFFFFFFFu, 0));
    }
    start_batch(b);
    JsIdentities ids;
    for (uint32_t i = 0; i < count; i++) {
      Napi::Value v = list.Get(i);
      std::string path = "ops[" + std::to_string(i) + "]";
      if (!v.IsObject()) throw InvalidArgument(path + ": expected an operation object, got " + describe(v));
      nft::encode_operation(b, JsReader(v.As<Napi::Object>(), path, &ids), static_cast<int32_t>(i));
    }
    finish_batch(b);
  } catch (const InvalidArgument& e) {
    invalid_argument(env, e.what()).ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

Napi::Object failure_to_js(Napi::Env env, int64_t index, const OpResult& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("index", Napi::Number::New(env, static_cast<double>(index)));
  o.Set("errno", Napi::Number::New(env, r.error));
  o.Set("code", Napi::String::New(env, errno_code(r.error)));
  o.Set("message", Napi::String::New(env, r.message));
  o.Set("description", Napi::String::New(env, strerror(r.error)));
  return o;
}

Napi::Object outcome_to_js(Napi::Env env, const ApplyOutcome& out, size_t messages, uint64_t sendmsgs) {
  Napi::Object o = Napi::Object::New(env);
  Napi::Array failures = Napi::Array::New(env);
  for (size_t i = 0; i < out.ops.size(); i++)
    if (out.ops[i].error)
      failures.Set(failures.Length(), failure_to_js(env, static_cast<int64_t>(i), out.ops[i]));
  if (out.batch.error) o.Set("batchFailure", failure_to_js(env, -1, out.batch));
  Napi::Array created = Napi::Array::New(env);
  for (size_t i = 0; i < out.echoed.offsets.size(); i++) {
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(out.echoed.data.data() + out.echoed.offsets[i]);
    JsWriter w(Napi::Object::New(env));
    if (!nft::decode_object(nlh, w)) continue;
    Napi::Object c = Napi::Object::New(env);
    c.Set("index", Napi::Number::New(env, out.echoed_op[i]));
    c.Set("object", w.value());
    created.Set(created.Length(), c);
  }
  o.Set("count", Napi::Number::New(env, static_cast<double>(out.ops.size())));
  o.Set("messages", Napi::Number::New(env, static_cast<double>(messages)));
  o.Set("failures", failures);
  o.Set("created", created);
  o.Set("generation", Napi::Number::New(env, out.generation));
  o.Set("lost", Napi::Boolean::New(env, out.lost));
  o.Set("sendmsgCalls", Napi::Number::New(env, static_cast<double>(sendmsgs)));
  return o;
}

bool read_requests(Napi::Env env, Napi::Value requests, std::vector<DumpRequest>& out) {
  try {
    auto list = read_list(requests, "requests");
    for (uint32_t i = 0; i < list.Length(); i++) {
      Napi::Value v = list.Get(i);
      std::string path = "requests[" + std::to_string(i) + "]";
      if (!v.IsObject()) throw InvalidArgument(path + ": expected an object, got " + describe(v));
      out.push_back(nft::read_dump_request(JsReader(v.As<Napi::Object>(), path)));
    }
  } catch (const InvalidArgument& e) {
    invalid_argument(env, e.what()).ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

Napi::Object replies_to_js(Napi::Env env, const std::vector<DumpRequest>& requests,
                           const std::vector<DumpReply>& replies, uint32_t generation) {
  Napi::Array out = Napi::Array::New(env, replies.size());
  for (size_t r = 0; r < replies.size(); r++) {
    Napi::Array objects = Napi::Array::New(env);
    for (size_t offset : replies[r].offsets) {
      const auto* nlh = reinterpret_cast<const nlmsghdr*>(replies[r].data.data() + offset);
      if (!dump_wants(nlh, requests[r])) continue;
      JsWriter w(Napi::Object::New(env));
      if (nft::decode_object(nlh, w, requests[r].hints)) objects.Set(objects.Length(), w.value());
    }
    out.Set(static_cast<uint32_t>(r), objects);
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("generation", Napi::Number::New(env, generation));
  o.Set("replies", out);
  return o;
}

// What Dump runs on the calling thread: up to this many reads, each of one object (a get) or
// within one named table, none of a set's elements.
constexpr size_t kInlineReads = 8;
bool is_small(const std::vector<DumpRequest>& requests) {
  return requests.size() <= kInlineReads &&
         std::all_of(requests.begin(), requests.end(), [](const DumpRequest& r) {
           return r.kind != DumpKind::Elements &&
                  (r.get() || !r.table.empty() || r.kind == DumpKind::Generation);
         });
}

// Work on the libuv pool: `work` runs there (a SystemError rejects), `done` makes the value.
class Task : public Napi::AsyncWorker {
 public:
  Task(Napi::Env env, std::function<void()> work, std::function<Napi::Value(Napi::Env)> done)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        done_(std::move(done)) {}
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      work_();
    } catch (const SystemError& e) {
      error_ = e.error;
      message_ = e.what();
    }
  }
  void OnOK() override {
    if (error_)
      deferred_.Reject(system_error(Env(), error_, message_).Value());
    else
      settle(deferred_, [&] { return done_(Env()); });
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::function<void()> work_;
  std::function<Napi::Value(Napi::Env)> done_;
  int error_ = 0;
  std::string message_;
};

bool wanted_event(uint16_t type) {
  switch (nft_msg(type)) {
    case NFT_MSG_NEWTABLE:
    case NFT_MSG_DELTABLE:
    case NFT_MSG_NEWCHAIN:
    case NFT_MSG_DELCHAIN:
    case NFT_MSG_NEWRULE:
    case NFT_MSG_DELRULE:
    case NFT_MSG_NEWSET:
    case NFT_MSG_DELSET:
    case NFT_MSG_NEWSETELEM:
    case NFT_MSG_DELSETELEM:
    case NFT_MSG_NEWGEN:
      return true;
    default:
      return false;
  }
}

class Handle : public Napi::ObjectWrap<Handle> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "NftHandle",
        {InstanceMethod("apply", &Handle::Apply), InstanceMethod("applySync", &Handle::ApplySync),
         InstanceMethod("dump", &Handle::Dump), InstanceMethod("dumpSync", &Handle::DumpSync),
         InstanceMethod("generation", &Handle::Generation), InstanceMethod("watch", &Handle::Watch),
         InstanceMethod("events", &Handle::Events), InstanceMethod("close", &Handle::Close),
         InstanceMethod("counters", &Handle::Counters)});
  }

  explicit Handle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Handle>(info) {
    try {
      netns_ = read_netns(info[0]);
    } catch (const InvalidArgument& e) {
      invalid_argument(info.Env(), e.what()).ThrowAsJavaScriptException();
      return;
    }
    try {
      socket_ = std::make_shared<NftSocket>(netns_);
    } catch (const SystemError& e) {
      system_error(info.Env(), e.error, e.what()).ThrowAsJavaScriptException();
    }
  }

 private:
  bool usable(Napi::Env env) {
    if (socket_) return true;
    system_error(env, EBADF, "the nftables handle is closed").ThrowAsJavaScriptException();
    return false;
  }

  // The socket for work whose arguments have just been read. Reading them ran the caller's
  // getters, which may have closed the handle: then EBADF. The work keeps its own reference.
  std::shared_ptr<NftSocket> socket_after_reading(Napi::Env env) {
    if (!socket_)
      system_error(env, EBADF, "the nftables handle was closed while its arguments were read")
          .ThrowAsJavaScriptException();
    return socket_;
  }

  Napi::Value Apply(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!usable(env)) return env.Undefined();
    auto b = std::make_shared<NftBatch>();
    size_t count = 0;
    if (!encode_batch(env, info[0], info[1], *b, count)) return env.Undefined();
    auto socket = socket_after_reading(env);
    if (!socket) return env.Undefined();
    auto monitor = monitor_;
    auto out = std::make_shared<ApplyOutcome>();
    auto sendmsgs = std::make_shared<uint64_t>(0);
    auto* task = new Task(
        env,
        [socket, monitor, b, count, out, sendmsgs] {
          std::lock_guard<std::mutex> guard(socket->lock());
          uint64_t before = socket->sendmsg_calls();
          socket->execute(*b, count, *out);
          *sendmsgs = socket->sendmsg_calls() - before;
          if (monitor) monitor->drain();
        },
        [out, b, sendmsgs](Napi::Env e) -> Napi::Value {
          return outcome_to_js(e, *out, b->size(), *sendmsgs);
        });
    Napi::Promise promise = task->promise();
    task->Queue();
    return promise;
  }

  Napi::Value ApplySync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!usable(env)) return env.Undefined();
    NftBatch b;
    size_t count = 0;
    if (!encode_batch(env, info[0], info[1], b, count)) return env.Undefined();
    auto socket = socket_after_reading(env);
    if (!socket) return env.Undefined();
    ApplyOutcome out;
    uint64_t sendmsgs;
    // Results are built after the lock is released: that runs JavaScript, which may call this
    // handle again.
    try {
      std::lock_guard<std::mutex> guard(socket->lock());
      uint64_t before = socket->sendmsg_calls();
      socket->execute(b, count, out);
      sendmsgs = socket->sendmsg_calls() - before;
      if (monitor_) monitor_->drain();
    } catch (const SystemError& e) {
      system_error(env, e.error, e.what()).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return outcome_to_js(env, out, b.size(), sendmsgs);
  }

  Napi::Value Dump(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!usable(env)) return env.Undefined();
    auto requests = std::make_shared<std::vector<DumpRequest>>();
    if (!read_requests(env, info[0], *requests)) return env.Undefined();
    auto socket = socket_after_reading(env);
    if (!socket) return env.Undefined();
    // A few reads within one table (the table, its chains, rules or sets) are small answers: a
    // hop to the worker pool and back costs more (60-130 us each way on a busy VM), so they run
    // here, as a small tc read does, unless the socket is busy. A map's elements grow with the
    // pods: those go to the pool.
    if (is_small(*requests)) {
      std::unique_lock<std::mutex> guard(socket->lock(), std::try_to_lock);
      if (guard.owns_lock()) {
        auto deferred = Napi::Promise::Deferred::New(env);
        std::vector<DumpReply> replies;
        uint32_t generation = 0;
        try {
          generation = socket->dump_all(*requests, replies);
        } catch (const SystemError& e) {
          guard.unlock();
          deferred.Reject(system_error(env, e.error, e.what()).Value());
          return deferred.Promise();
        }
        guard.unlock();  // building the results runs JavaScript, which may use this handle
        settle(deferred, [&] { return replies_to_js(env, *requests, replies, generation); });
        return deferred.Promise();
      }
    }
    auto replies = std::make_shared<std::vector<DumpReply>>();
    auto generation = std::make_shared<uint32_t>(0);
    auto* task = new Task(
        env,
        [socket, requests, replies, generation] {
          std::lock_guard<std::mutex> guard(socket->lock());
          *generation = socket->dump_all(*requests, *replies);
        },
        [requests, replies, generation](Napi::Env e) -> Napi::Value {
          return replies_to_js(e, *requests, *replies, *generation);
        });
    Napi::Promise promise = task->promise();
    task->Queue();
    return promise;
  }

  Napi::Value DumpSync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!usable(env)) return env.Undefined();
    std::vector<DumpRequest> requests;
    if (!read_requests(env, info[0], requests)) return env.Undefined();
    auto socket = socket_after_reading(env);
    if (!socket) return env.Undefined();
    std::vector<DumpReply> replies;
    uint32_t generation;
    try {
      std::lock_guard<std::mutex> guard(socket->lock());
      generation = socket->dump_all(requests, replies);
    } catch (const SystemError& e) {
      system_error(env, e.error, e.what()).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return replies_to_js(env, requests, replies, generation);
  }

  // The ruleset's generation: one small get, on the calling thread.
  Napi::Value Generation(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!usable(env)) return env.Undefined();
    std::lock_guard<std::mutex> guard(socket_->lock());
    try {
      return Napi::Number::New(env, socket_->generation());
    } catch (const SystemError& e) {
      system_error(env, e.error, e.what()).ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }

  // watch(receiveBuffer): subscribes to the namespace's nf_tables notifications (once).
  Napi::Value Watch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!usable(env) || monitor_) return env.Undefined();
    int receive_buffer =
        info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
    try {
      monitor_ = std::make_shared<Monitor>(netns_, receive_buffer,
                                           MonitorSpec{NETLINK_NETFILTER, 1u << (NFNLGRP_NFTABLES - 1),
                                                       wanted_event, "nf_tables notifications"});
    } catch (const SystemError& e) {
      system_error(env, e.error, e.what()).ThrowAsJavaScriptException();
    }
    return env.Undefined();
  }

  // The notifications received since the last call, decoded: { events, overflow }. Never waits.
  Napi::Value Events(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!usable(env)) return env.Undefined();
    if (!monitor_) {
      system_error(env, EINVAL, "the handle is not watching (call watch() first)")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    MonitorLog log;
    monitor_->take(log);
    Napi::Array events = Napi::Array::New(env);
    for (size_t offset : log.offsets) {
      JsWriter w(Napi::Object::New(env));
      if (nft::decode_event(reinterpret_cast<const nlmsghdr*>(log.data.data() + offset), w))
        events.Set(events.Length(), w.value());
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("events", events);
    out.Set("overflow", Napi::Boolean::New(env, log.overflow));
    return out;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    socket_.reset();
    monitor_.reset();
    return info.Env().Undefined();
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
  std::shared_ptr<NftSocket> socket_;
  std::shared_ptr<Monitor> monitor_;
};

}  // namespace

Napi::Function define_handle(Napi::Env env) { return Handle::Define(env); }

// nftEncode(ops, options?): every message of the batch as a Buffer, BATCH_BEGIN and BATCH_END
// included, for comparing with what nft sends.
Napi::Value encode_for_comparison(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NftBatch b;
  size_t count = 0;
  if (!encode_batch(env, info[0], info[1], b, count)) return env.Undefined();
  Napi::Array out = Napi::Array::New(env, b.size());
  for (size_t i = 0; i < b.size(); i++) {
    nlmsghdr* nlh = b.batch.message(i);
    out.Set(static_cast<uint32_t>(i),
            Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<uint8_t*>(nlh), nlh->nlmsg_len));
  }
  return out;
}

// nftDecode(buffer): the objects of the messages in a buffer (a request nft sent, a reply).
Napi::Value decode_for_comparison(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBuffer()) {
    invalid_argument(env, "buffer: expected a Buffer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  JsWriter w(Napi::Object::New(env));
  decode_buffer(buf.Data(), buf.Length(), w);
  return w.value();
}

}  // namespace netqos::nft
