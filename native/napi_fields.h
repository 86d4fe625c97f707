// FieldReader and FieldWriter over JavaScript objects (tc's reads reach JavaScript through
// records.h instead; JsWriter serves nf_tables), and what both addons (tc and nf_tables) do with
// a caller's arguments: lists, namespaces, errors, Promises settled safely.
#pragma once

#include <napi.h>

#include <string>
#include <utility>
#include <vector>

#include "fields.h"

namespace netqos {

// A JavaScript value for a message: a string quoted (a short prefix of a long one), a number as
// JavaScript prints it, otherwise its type ("an object").
std::string describe(const Napi::Value& v);

// A caller's mistake as JavaScript sees it: a TypeError with code ERR_NETQOS_INVALID_ARGUMENT.
Napi::Error invalid_argument(Napi::Env env, const std::string& message);

// Most operations one batch takes, and requests one read: a larger list is refused rather than
// grown into gigabytes of messages (each operation is at least one).
constexpr uint32_t kMaxListLength = 1000000;

// `list` as an array of at most kMaxListLength items; throws InvalidArgument naming `what`.
Napi::Array read_list(const Napi::Value& list, const char* what);

// A handle's namespace argument: undefined (or none) is the caller's own namespace ("");
// anything but a name or path is refused (InvalidArgument), so that a mistake never quietly
// programs the host's namespace.
std::string read_netns(const Napi::Value& v);

// Resolves with what `make` builds, or rejects with what it throws: building results runs
// JavaScript (a setter someone put on Object.prototype), and an exception escaping a worker's
// completion would end the process.
template <typename Make>
void settle(Napi::Promise::Deferred& deferred, Make make) {
  try {
    deferred.Resolve(make());
  } catch (const Napi::Error& e) {
    deferred.Reject(e.Value());
  }
}

// The arrays and objects one call's readers have met lately, by identity (see
// FieldReader::identity). Values stay valid for the call: its handle scope holds them.
class JsIdentities {
 public:
  uint64_t of(const Napi::Value& v);

 private:
  // A few recent values: what operations share comes round again soon; a miss costs a scan.
  static constexpr size_t kSlots = 16;
  std::vector<std::pair<Napi::Value, uint64_t>> slots_;
  size_t next_ = 0;
  uint64_t last_ = 0;
};

class JsReader : public FieldReader {
 public:
  // With `ids`, the reader and those it hands out answer identity() (else 0).
  JsReader(Napi::Object obj, std::string path, JsIdentities* ids = nullptr)
      : obj_(obj), path_(std::move(path)), ids_(ids) {}
  const std::string& path() const override { return path_; }
  bool has(const char* name) const override;
  std::optional<uint64_t> u64(const char* name) const override;
  std::optional<int64_t> i64(const char* name) const override;
  std::optional<double> number(const char* name) const override;
  std::optional<bool> boolean(const char* name) const override;
  std::optional<std::string> string(const char* name) const override;
  bool is_string(const char* name) const override;
  std::optional<IfRef> iface(const char* name) const override;
  std::optional<std::vector<std::string>> strings(const char* name) const override;
  std::optional<std::vector<double>> numbers(const char* name) const override;
  std::unique_ptr<FieldReader> object(const char* name) const override;
  size_t array_length(const char* name) const override;
  std::unique_ptr<FieldReader> element(const char* name, size_t i) const override;
  uint64_t identity(const char* name) const override;

 private:
  Napi::Value get(const char* name) const;
  Napi::Object obj_;
  std::string path_;
  JsIdentities* ids_;
  // Each field is read from the object once: a getter runs once, so what was checked is what
  // is encoded (a getter answering differently each time cannot slip a value past a check).
  mutable std::vector<std::pair<const char*, Napi::Value>> read_;
};

class JsWriter : public FieldWriter {
 public:
  // stats false: "stats" objects are left out (a notification's counters are stale at once).
  explicit JsWriter(Napi::Object obj, bool stats = true) : obj_(obj), stats_(stats) {}
  void set_u64(const char* name, uint64_t v) override;
  void set_i64(const char* name, int64_t v) override;
  void set_number(const char* name, double v) override;
  void set_bool(const char* name, bool v) override;
  void set_string(const char* name, const std::string& v) override;
  void set_strings(const char* name, const std::vector<std::string>& v) override;
  void set_numbers(const char* name, const std::vector<double>& v) override;
  std::unique_ptr<FieldWriter> object(const char* name) override;
  std::unique_ptr<FieldWriter> append(const char* name) override;
  Napi::Object value() const { return obj_; }

 private:
  Napi::Object obj_;
  bool stats_;
};

}  // namespace netqos
