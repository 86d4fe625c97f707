// Typed access to an operation's parameters and to a decoded object's fields.
// Kind files read and write through these interfaces only, so they never see N-API: the addon
// implements them over JavaScript objects, and the C++ benchmark floor fills parameter structs
// directly.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace netqos {

// A caller's mistake in an operation: names the field, the value and what is allowed.
class InvalidArgument : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Longest part of a caller's string that an error message quotes (a 1 MB value is not echoed).
constexpr size_t kQuoteMax = 64;

// A caller's string for a message: in double quotes, control characters escaped (a NUL shows
// as \u0000), cut after kQuoteMax bytes (at a character boundary) with the full length noted.
inline std::string quote(const std::string& s) {
  size_t n = s.size() <= kQuoteMax ? s.size() : kQuoteMax;
  while (n < s.size() && n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) n--;
  std::string out = "\"";
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7F) {
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  if (n < s.size()) out += "... (" + std::to_string(s.size()) + " bytes)";
  return out;
}

// A number for a message, as JavaScript prints it (NaN, Infinity, 1e+300: never 300 digits).
inline std::string describe_number(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[32];
  if (d == std::floor(d) && std::fabs(d) < 1e21) {
    std::snprintf(buf, sizeof buf, "%.0f", d);
    return buf;
  }
  // The shortest form that reads back as d.
  for (int precision = 1; precision <= 17; precision++) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  return buf;
}

// Why a Number is not a u64 field's value.
inline std::string not_u64(const std::string& described, double d) {
  if (std::isfinite(d) && d > 9007199254740991.0 && d < 18446744073709551616.0 && d == std::floor(d))
    return described + " is above 2^53 - 1, where Numbers skip integers (give a BigInt)";
  if (std::isfinite(d) && d >= 18446744073709551616.0)
    return described + " is not an unsigned 64-bit integer";
  return described + " is not a non-negative integer";
}

// A string bound for the kernel, at `where` ("ops[0].qdisc.dev"): a NUL inside it would end it
// there (the kernel reads C strings), so "vh0\0evil" would name vh0. Throws InvalidArgument.
inline void check_text(const std::string& where, const std::string& s) {
  if (s.find('\0') != std::string::npos)
    throw InvalidArgument(where + ": " + quote(s) +
                          " contains a NUL character (not allowed in a string sent to the kernel)");
}

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
  // Whether the field is a string (for fields that take a name or a number).
  virtual bool is_string(const char* name) const = 0;
  // Interface: a name (string) or an index (number).
  virtual std::optional<IfRef> iface(const char* name) const = 0;
  // A list of strings (nullopt when absent).
  virtual std::optional<std::vector<std::string>> strings(const char* name) const = 0;
  // A list of finite numbers (nullopt when absent).
  virtual std::optional<std::vector<double>> numbers(const char* name) const = 0;
  virtual std::unique_ptr<FieldReader> object(const char* name) const = 0;  // null when absent
  virtual size_t array_length(const char* name) const = 0;                  // 0 when absent
  virtual std::unique_ptr<FieldReader> element(const char* name, size_t i) const = 0;
  // A token for the array or object at `name`: within one call, equal non-zero tokens are the
  // same value (not merely an equal one), so work on a value many operations share (the rules
  // of pods with the same annotations share their expressions) is done once. 0: not known.
  virtual uint64_t identity(const char* name) const { return 0; }

  // A string bound for the kernel (see check_text). Returns s.
  const std::string& text(const char* name, const std::string& s) const {
    check_text(path() + "." + name, s);
    return s;
  }

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
      throw InvalidArgument(path() + "." + name + "[" + std::to_string(i) + "]: " + describe_number(d) +
                            " is not a whole number in " + std::to_string(lo) + ".." + std::to_string(hi));
    out.push_back(static_cast<int64_t>(d));
  }
  return out;
}

}  // namespace netqos
