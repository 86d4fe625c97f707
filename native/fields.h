// Typed access to an operation's parameters and to a decoded object's fields.
// Kind files read and write through these interfaces only, so they never see N-API: the addon
// implements them over JavaScript objects, and the C++ benchmark floor fills parameter structs
// directly.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace netqos {

// A number as a message shows it: "101", "0.5", "1e+300" (not std::to_string's "101.000000").
inline std::string number_text(double d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", d);
  return buf;
}

// A caller's mistake in an operation: names the field, the value and what is allowed.
class InvalidArgument : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An interface given by name (resolved to an index when the batch is sent) or by index.
struct IfRef {
  uint32_t index = 0;
  std::string name;
  bool by_name() const { return !name.empty(); }
};

class FieldReader {
 public:
  virtual ~FieldReader() = default;
  // Dotted path of this object for messages, e.g. "ops[3].filter.actions[0]".
  virtual const std::string& path() const = 0;
  virtual bool has(const char* name) const = 0;
  // Each getter returns nullopt when the field is absent or undefined, and throws InvalidArgument
  // when it is present with the wrong type.
  virtual std::optional<uint64_t> u64(const char* name) const = 0;  // non-negative integer
  virtual std::optional<int64_t> i64(const char* name) const = 0;
  virtual std::optional<double> number(const char* name) const = 0;
  virtual std::optional<bool> boolean(const char* name) const = 0;
  virtual std::optional<std::string> string(const char* name) const = 0;
  // Interface: a name (string) or an index (number).
  virtual std::optional<IfRef> iface(const char* name) const = 0;
  // A list of strings (nullopt when absent).
  virtual std::optional<std::vector<std::string>> strings(const char* name) const = 0;
  // A list of finite numbers (nullopt when absent).
  virtual std::optional<std::vector<double>> numbers(const char* name) const = 0;
  virtual std::unique_ptr<FieldReader> object(const char* name) const = 0;  // null when absent
  virtual size_t array_length(const char* name) const = 0;                  // 0 when absent
  virtual std::unique_ptr<FieldReader> element(const char* name, size_t i) const = 0;

  // Helpers that turn absence or a bad value into a clear InvalidArgument.
  [[noreturn]] void fail(const char* field, const std::string& what) const {
    throw InvalidArgument(path() + "." + field + ": " + what);
  }
  // A problem of the object as a whole (fields that must come together or not at all).
  [[noreturn]] void fail(const std::string& what) const { throw InvalidArgument(path() + ": " + what); }
  uint64_t require_u64(const char* name, const char* what) const {
    auto v = u64(name);
    if (!v) fail(name, std::string("is required (") + what + ")");
    return *v;
  }
  uint64_t u64_in(const char* name, uint64_t lo, uint64_t hi, uint64_t fallback) const;
  // numbers(name) as whole numbers in lo..hi, at most max_count of them (empty when absent).
  std::vector<int64_t> integers_in(const char* name, int64_t lo, int64_t hi, size_t max_count) const;
};

class FieldWriter {
 public:
  virtual ~FieldWriter() = default;
  virtual void set_u64(const char* name, uint64_t v) = 0;
  virtual void set_i64(const char* name, int64_t v) = 0;
  virtual void set_number(const char* name, double v) = 0;
  virtual void set_bool(const char* name, bool v) = 0;
  virtual void set_string(const char* name, const std::string& v) = 0;
  virtual void set_strings(const char* name, const std::vector<std::string>& v) = 0;
  virtual void set_numbers(const char* name, const std::vector<double>& v) = 0;
  virtual std::unique_ptr<FieldWriter> object(const char* name) = 0;
  // Appends a new object to the array field `name` (created on first use).
  virtual std::unique_ptr<FieldWriter> append(const char* name) = 0;
};

// Drops everything written to it (fields a caller does not want, such as statistics).
class NullWriter : public FieldWriter {
 public:
  void set_u64(const char*, uint64_t) override {}
  void set_i64(const char*, int64_t) override {}
  void set_number(const char*, double) override {}
  void set_bool(const char*, bool) override {}
  void set_string(const char*, const std::string&) override {}
  void set_strings(const char*, const std::vector<std::string>&) override {}
  void set_numbers(const char*, const std::vector<double>&) override {}
  std::unique_ptr<FieldWriter> object(const char*) override { return std::make_unique<NullWriter>(); }
  std::unique_ptr<FieldWriter> append(const char*) override { return std::make_unique<NullWriter>(); }
};

inline uint64_t FieldReader::u64_in(const char* name, uint64_t lo, uint64_t hi, uint64_t fallback) const {
  auto v = u64(name);
  if (!v) return fallback;
  if (*v < lo || *v > hi)
    fail(name, std::to_string(*v) + " is out of range (allowed " + std::to_string(lo) + ".." +
                   std::to_string(hi) + ")");
  return *v;
}

inline std::vector<int64_t> FieldReader::integers_in(const char* name, int64_t lo, int64_t hi,
                                                     size_t max_count) const {
  std::vector<int64_t> out;
  auto list = numbers(name);
  if (!list) return out;
  if (list->size() > max_count)
    fail(name,
         "has " + std::to_string(list->size()) + " entries (at most " + std::to_string(max_count) + ")");
  for (size_t i = 0; i < list->size(); i++) {
    double d = (*list)[i];
    if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != std::trunc(d))
      throw InvalidArgument(path() + "." + name + "[" + std::to_string(i) + "]: " + number_text(d) +
                            " is not a whole number in " + std::to_string(lo) + ".." + std::to_string(hi));
    out.push_back(static_cast<int64_t>(d));
  }
  return out;
}

}  // namespace netqos
