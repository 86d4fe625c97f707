#include "plain_fields.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace netqos {

namespace {

constexpr double kMaxSafe = 9007199254740991.0;  // 2^53 - 1
constexpr uint64_t kMaxSafeInt = 9007199254740991ULL;

const char* type_name(Value::Type t) {
  switch (t) {
    case Value::Type::Undefined:
      return "undefined";
    case Value::Type::Null:
      return "null";
    case Value::Type::Bool:
      return "bool";
    case Value::Type::Int:
      return "int64";
    case Value::Type::UInt:
      return "uint64";
    case Value::Type::Double:
      return "double";
    case Value::Type::String:
      return "string";
    case Value::Type::Array:
      return "array";
    case Value::Type::Object:
      return "object";
  }
  return "?";
}

[[noreturn]] void wrong_type(const Value& v, const char* wanted) {
  throw std::logic_error(std::string("Value: expected ") + wanted + ", got " + type_name(v.type()));
}

}  // namespace

Value::Value(const Value& other)
    : type_(other.type_), b_(other.b_), i_(other.i_), u_(other.u_), d_(other.d_), s_(other.s_) {
  if (other.a_) a_ = std::make_shared<Array>(*other.a_);
  if (other.o_) o_ = std::make_shared<Object>(*other.o_);
}

Value& Value::operator=(const Value& other) {
  if (this != &other) {
    Value copy(other);
    *this = std::move(copy);
  }
  return *this;
}

bool Value::as_bool() const {
  if (type_ != Type::Bool) wrong_type(*this, "bool");
  return b_;
}

int64_t Value::as_i64() const {
  if (type_ == Type::Int) return i_;
  if (type_ == Type::UInt && u_ <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(u_);
  if (type_ == Type::Double && std::isfinite(d_) && d_ == std::floor(d_) && std::fabs(d_) < 9.2e18)
    return static_cast<int64_t>(d_);
  wrong_type(*this, "an integer in the int64 range");
}

uint64_t Value::as_u64() const {
  if (type_ == Type::UInt) return u_;
  if (type_ == Type::Int && i_ >= 0) return static_cast<uint64_t>(i_);
  if (type_ == Type::Double && std::isfinite(d_) && d_ >= 0 && d_ == std::floor(d_) && d_ < 1.8e19)
    return static_cast<uint64_t>(d_);
  wrong_type(*this, "a non-negative integer");
}

double Value::as_double() const {
  if (type_ == Type::Double) return d_;
  if (type_ == Type::Int) return static_cast<double>(i_);
  if (type_ == Type::UInt) return static_cast<double>(u_);
  wrong_type(*this, "a number");
}

const std::string& Value::as_string() const {
  if (type_ != Type::String) wrong_type(*this, "string");
  return s_;
}

const Value::Array& Value::as_array() const {
  if (type_ != Type::Array) wrong_type(*this, "array");
  return *a_;
}
Value::Array& Value::as_array() {
  if (type_ != Type::Array) wrong_type(*this, "array");
  return *a_;
}
const Value::Object& Value::as_object() const {
  if (type_ != Type::Object) wrong_type(*this, "object");
  return *o_;
}
Value::Object& Value::as_object() {
  if (type_ != Type::Object) wrong_type(*this, "object");
  return *o_;
}

const Value* Value::get(const std::string& key) const {
  if (type_ != Type::Object) return nullptr;
  auto it = o_->find(key);
  if (it == o_->end() || it->second.is_undefined()) return nullptr;
  return &it->second;
}

const Value* Value::find(const std::string& path) const {
  const Value* cur = this;
  size_t i = 0;
  while (cur && i < path.size()) {
    if (path[i] == '.') {
      i++;
      continue;
    }
    if (path[i] == '[') {
      size_t close = path.find(']', i);
      if (close == std::string::npos) return nullptr;
      size_t index = std::stoul(path.substr(i + 1, close - i - 1));
      if (!cur->is_array() || index >= cur->a_->size()) return nullptr;
      cur = &(*cur->a_)[index];
      i = close + 1;
      continue;
    }
    size_t end = path.find_first_of(".[", i);
    if (end == std::string::npos) end = path.size();
    cur = cur->get(path.substr(i, end - i));
    i = end;
  }
  return cur;
}

Value& Value::operator[](const std::string& key) {
  if (type_ == Type::Undefined || type_ == Type::Null) *this = Value(Object());
  if (type_ != Type::Object) wrong_type(*this, "object");
  return (*o_)[key];
}

const Value& Value::at(size_t i) const {
  if (type_ != Type::Array) wrong_type(*this, "array");
  return a_->at(i);
}

size_t Value::size() const {
  if (type_ == Type::Array) return a_->size();
  if (type_ == Type::Object) return o_->size();
  return 0;
}

void Value::push_back(Value v) {
  if (type_ == Type::Undefined || type_ == Type::Null) *this = Value(Array());
  if (type_ != Type::Array) wrong_type(*this, "array");
  a_->push_back(std::move(v));
}

// ---- JSON ----

namespace {

void json_string(std::string& out, const std::string& s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

void json_number(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  // Shortest form that reads back as the same double.
  char buf[32];
  for (int precision = 15; precision <= 17; precision++) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  out += buf;
}

void json(std::string& out, const Value& v) {
  switch (v.type()) {
    case Value::Type::Undefined:
    case Value::Type::Null:
      out += "null";
      break;
    case Value::Type::Bool:
      out += v.as_bool() ? "true" : "false";
      break;
    case Value::Type::Int:
      out += std::to_string(v.as_i64());
      break;
    case Value::Type::UInt:
      out += std::to_string(v.as_u64());
      break;
    case Value::Type::Double:
      json_number(out, v.as_double());
      break;
    case Value::Type::String:
      json_string(out, v.as_string());
      break;
    case Value::Type::Array: {
      out.push_back('[');
      bool first = true;
      for (const Value& e : v.as_array()) {
        if (!first) out.push_back(',');
        first = false;
        json(out, e);
      }
      out.push_back(']');
      break;
    }
    case Value::Type::Object: {
      out.push_back('{');
      bool first = true;
      for (const auto& kv : v.as_object()) {
        if (kv.second.is_undefined()) continue;
        if (!first) out.push_back(',');
        first = false;
        json_string(out, kv.first);
        out.push_back(':');
        json(out, kv.second);
      }
      out.push_back('}');
      break;
    }
  }
}

}  // namespace

std::string to_json(const Value& v) {
  std::string out;
  json(out, v);
  return out;
}

// ---- PlainReader: the JsReader rules over Values ----

namespace {

// What JavaScript value an integer Value stands for (see plain_fields.h).
bool int_is_number(const Value& v) {
  if (v.type() == Value::Type::Int) {
    int64_t i = v.as_i64();
    return i >= -static_cast<int64_t>(kMaxSafeInt) && i <= static_cast<int64_t>(kMaxSafeInt);
  }
  if (v.type() == Value::Type::UInt) return v.as_u64() <= kMaxSafeInt;
  return false;
}

// The Value as a JavaScript Number (IsNumber()), or false.
bool js_number(const Value& v, double& out) {
  if (v.type() == Value::Type::Double) {
    out = v.as_double();
    return true;
  }
  if (int_is_number(v)) {
    out = v.as_double();
    return true;
  }
  return false;
}

bool js_bigint(const Value& v) { return v.is_integer() && !int_is_number(v); }

// JsReader's describe().
std::string describe(const Value& v) {
  switch (v.type()) {
    case Value::Type::String:
      return quote(v.as_string());
    case Value::Type::Int:
      return std::to_string(v.as_i64());
    case Value::Type::UInt:
      return std::to_string(v.as_u64());
    case Value::Type::Double:
      return describe_number(v.as_double());
    case Value::Type::Bool:
      return v.as_bool() ? "true" : "false";
    case Value::Type::Null:
      return "null";
    case Value::Type::Array:
      return "an array";
    case Value::Type::Object:
      return "an object";
    case Value::Type::Undefined:
      return "undefined";
  }
  return "a value of another type";
}

}  // namespace

PlainReader::PlainReader(const Value& v, std::string path) : path_(std::move(path)) {
  if (!v.is_object()) throw InvalidArgument(path_ + ": expected an object, got " + describe(v));
  obj_ = v.o_;
}

const Value* PlainReader::get(const char* name) const {
  auto it = obj_->find(name);
  if (it == obj_->end() || it->second.is_undefined()) return nullptr;
  return &it->second;
}

bool PlainReader::has(const char* name) const { return get(name) != nullptr; }

std::optional<uint64_t> PlainReader::u64(const char* name) const {
  const Value* v = get(name);
  if (!v) return std::nullopt;
  if (js_bigint(*v)) {
    // BigInt: any value that fits an unsigned 64-bit integer.
    if (v->type() == Value::Type::UInt || v->as_i64() >= 0) return v->as_u64();
    fail(name, describe(*v) + " is not an unsigned 64-bit integer");
  }
  double d;
  if (js_number(*v, d)) {
    if (std::isfinite(d) && d >= 0 && d == std::floor(d) && d <= kMaxSafe) {
      // Integers exactly, not through the double.
      if (v->type() == Value::Type::UInt) return v->as_u64();
      if (v->type() == Value::Type::Int) return static_cast<uint64_t>(v->as_i64());
      return static_cast<uint64_t>(d);
    }
    fail(name, not_u64(describe(*v), d));
  }
  fail(name, "expected a non-negative integer, got " + describe(*v));
}

std::optional<int64_t> PlainReader::i64(const char* name) const {
  const Value* v = get(name);
  if (!v) return std::nullopt;
  double d;
  if (js_number(*v, d)) {
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) <= kMaxSafe) {
      if (v->type() == Value::Type::Int) return v->as_i64();
      if (v->type() == Value::Type::UInt) return static_cast<int64_t>(v->as_u64());
      return static_cast<int64_t>(d);
    }
  }
  fail(name, "expected an integer, got " + describe(*v));
}

std::optional<double> PlainReader::number(const char* name) const {
  const Value* v = get(name);
  if (!v) return std::nullopt;
  double d;
  if (js_number(*v, d) && std::isfinite(d)) return d;
  fail(name, "expected a finite number, got " + describe(*v));
}

std::optional<bool> PlainReader::boolean(const char* name) const {
  const Value* v = get(name);
  if (!v) return std::nullopt;
  if (v->is_bool()) return v->as_bool();
  fail(name, "expected true or false, got " + describe(*v));
}

std::optional<std::string> PlainReader::string(const char* name) const {
  const Value* v = get(name);
  if (!v) return std::nullopt;
  if (v->is_string()) return text(name, v->as_string());
  fail(name, "expected a string, got " + describe(*v));
}

bool PlainReader::is_string(const char* name) const {
  const Value* v = get(name);
  return v && v->is_string();
}

std::optional<IfRef> PlainReader::iface(const char* name) const {
  const Value* v = get(name);
  if (!v) return std::nullopt;
  IfRef ref;
  if (v->is_string()) {
    ref.name = text(name, v->as_string());
    if (ref.name.empty() || ref.name.size() > 15)
      fail(name, describe(*v) + " is not an interface name (1..15 characters)");
    return ref;
  }
  double d;
  if (js_number(*v, d)) {
    if (d >= 1 && d <= 2147483647.0 && d == std::floor(d)) {
      ref.index = static_cast<uint32_t>(d);
      return ref;
    }
  }
  fail(name, "expected an interface name or index, got " + describe(*v));
}

std::optional<std::vector<std::string>> PlainReader::strings(const char* name) const {
  const Value* v = get(name);
  if (!v) return std::nullopt;
  if (!v->is_array()) fail(name, "expected an array of strings, got " + describe(*v));
  std::vector<std::string> out;
  for (size_t i = 0; i < v->size(); i++) {
    const Value& e = v->at(i);
    if (!e.is_string())
      throw InvalidArgument(path_ + "." + name + "[" + std::to_string(i) + "]: expected a string, got " +
                            describe(e));
    check_text(path_ + "." + name + "[" + std::to_string(i) + "]", e.as_string());
    out.push_back(e.as_string());
  }
  return out;
}

std::optional<std::vector<double>> PlainReader::numbers(const char* name) const {
  const Value* v = get(name);
  if (!v) return std::nullopt;
  if (!v->is_array()) fail(name, "expected an array of numbers, got " + describe(*v));
  std::vector<double> out;
  for (size_t i = 0; i < v->size(); i++) {
    const Value& e = v->at(i);
    if (!e.is_number() || !std::isfinite(e.as_double()))
      throw InvalidArgument(path_ + "." + name + "[" + std::to_string(i) +
                            "]: expected a finite number, got " + describe(e));
    out.push_back(e.as_double());
  }
  return out;
}

std::unique_ptr<FieldReader> PlainReader::object(const char* name) const {
  const Value* v = get(name);
  if (!v) return nullptr;
  if (!v->is_object()) fail(name, "expected an object, got " + describe(*v));
  return std::make_unique<PlainReader>(*v, path_ + "." + name);
}

size_t PlainReader::array_length(const char* name) const {
  const Value* v = get(name);
  if (!v) return 0;
  if (!v->is_array()) fail(name, "expected an array, got " + describe(*v));
  return v->size();
}

std::unique_ptr<FieldReader> PlainReader::element(const char* name, size_t i) const {
  std::string at = path_ + "." + name + "[" + std::to_string(i) + "]";
  const Value* v = get(name);
  const Value* e = v && v->is_array() && i < v->size() ? &v->at(i) : nullptr;
  // JavaScript reads a hole or an index past the end as undefined.
  if (!e || e->is_undefined()) throw InvalidArgument(at + ": expected an object, got undefined");
  if (!e->is_object()) throw InvalidArgument(at + ": expected an object, got " + describe(*e));
  return std::make_unique<PlainReader>(*e, at);
}

// ---- PlainWriter ----

PlainWriter::PlainWriter(Value& root) {
  if (!root.is_object()) root = Value(Value::Object());
  obj_ = root.o_;
}

void PlainWriter::set_u64(const char* name, uint64_t v) { (*obj_)[name] = Value(v); }
void PlainWriter::set_i64(const char* name, int64_t v) { (*obj_)[name] = Value(v); }
void PlainWriter::set_number(const char* name, double v) { (*obj_)[name] = Value(v); }
void PlainWriter::set_bool(const char* name, bool v) { (*obj_)[name] = Value(v); }
void PlainWriter::set_string(const char* name, const std::string& v) { (*obj_)[name] = Value(v); }

void PlainWriter::set_strings(const char* name, const std::vector<std::string>& v) {
  Value::Array list;
  list.reserve(v.size());
  for (const std::string& s : v) list.emplace_back(s);
  (*obj_)[name] = Value(std::move(list));
}

void PlainWriter::set_numbers(const char* name, const std::vector<double>& v) {
  Value::Array list;
  list.reserve(v.size());
  for (double d : v) list.emplace_back(d);
  (*obj_)[name] = Value(std::move(list));
}

std::unique_ptr<FieldWriter> PlainWriter::object(const char* name) {
  Value& slot = (*obj_)[name];
  slot = Value(Value::Object());
  return std::unique_ptr<FieldWriter>(new PlainWriter(slot.o_));
}

std::unique_ptr<FieldWriter> PlainWriter::append(const char* name) {
  Value& slot = (*obj_)[name];
  if (!slot.is_array()) slot = Value(Value::Array());
  slot.a_->push_back(Value(Value::Object()));
  return std::unique_ptr<FieldWriter>(new PlainWriter(slot.a_->back().o_));
}

}  // namespace netqos
