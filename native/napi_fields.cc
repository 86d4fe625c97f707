#include "napi_fields.h"

#include <climits>
#include <cmath>
#include <cstring>

namespace netqos {

namespace {
constexpr double kMaxSafe = 9007199254740991.0;  // 2^53 - 1
}  // namespace

std::string describe(const Napi::Value& v) {
  if (v.IsString()) return quote(v.As<Napi::String>().Utf8Value());
  if (v.IsNumber()) return describe_number(v.As<Napi::Number>().DoubleValue());
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? "true" : "false";
  if (v.IsNull()) return "null";
  if (v.IsUndefined()) return "undefined";
  if (v.IsArray()) return "an array";
  if (v.IsObject()) return "an object";
  if (v.IsBigInt()) return "a bigint";
  return "a value of another type";
}

Napi::Error invalid_argument(Napi::Env env, const std::string& message) {
  Napi::Error e = Napi::TypeError::New(env, message);
  e.Set("code", Napi::String::New(env, "ERR_NETQOS_INVALID_ARGUMENT"));
  return e;
}

Napi::Array read_list(const Napi::Value& list, const char* what) {
  if (!list.IsArray())
    throw InvalidArgument(std::string(what) + ": expected an array, got " + describe(list));
  auto array = list.As<Napi::Array>();
  if (array.Length() > kMaxListLength)
    throw InvalidArgument(std::string(what) + ": has " + std::to_string(array.Length()) + " items (at most " +
                          std::to_string(kMaxListLength) + " in one call; split it)");
  return array;
}

std::string read_netns(const Napi::Value& v) {
  if (v.IsEmpty() || v.IsUndefined()) return "";
  if (!v.IsString())
    throw InvalidArgument("netns: expected the name or path of a network namespace, got " + describe(v));
  std::string netns = v.As<Napi::String>().Utf8Value();
  check_text("netns", netns);
  if (netns.empty() || netns.size() >= PATH_MAX)
    throw InvalidArgument("netns: " + quote(netns) + " is not a namespace name or path (1.." +
                          std::to_string(PATH_MAX - 1) + " bytes)");
  return netns;
}

Napi::Value JsReader::get(const char* name) const {
  for (const auto& field : read_)
    if (std::strcmp(field.first, name) == 0) return field.second;
  Napi::Value v = obj_.Get(name);
  read_.emplace_back(name, v);
  return v;
}

bool JsReader::has(const char* name) const { return !get(name).IsUndefined(); }

std::optional<uint64_t> JsReader::u64(const char* name) const {
  Napi::Value v = get(name);
  if (v.IsUndefined()) return std::nullopt;
  if (v.IsBigInt()) {
    bool lossless = true;
    uint64_t out = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) fail(name, describe(v) + " is not an unsigned 64-bit integer");
    return out;
  }
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (std::isfinite(d) && d >= 0 && d == std::floor(d) && d <= kMaxSafe) return static_cast<uint64_t>(d);
    fail(name, not_u64(describe(v), d));
  }
  fail(name, "expected a non-negative integer, got " + describe(v));
}

std::optional<int64_t> JsReader::i64(const char* name) const {
  Napi::Value v = get(name);
  if (v.IsUndefined()) return std::nullopt;
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) <= kMaxSafe) return static_cast<int64_t>(d);
  }
  fail(name, "expected an integer, got " + describe(v));
}

std::optional<double> JsReader::number(const char* name) const {
  Napi::Value v = get(name);
  if (v.IsUndefined()) return std::nullopt;
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (std::isfinite(d)) return d;
  }
  fail(name, "expected a finite number, got " + describe(v));
}

std::optional<bool> JsReader::boolean(const char* name) const {
  Napi::Value v = get(name);
  if (v.IsUndefined()) return std::nullopt;
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value();
  fail(name, "expected true or false, got " + describe(v));
}

std::optional<std::string> JsReader::string(const char* name) const {
  Napi::Value v = get(name);
  if (v.IsUndefined()) return std::nullopt;
  if (!v.IsString()) fail(name, "expected a string, got " + describe(v));
  return text(name, v.As<Napi::String>().Utf8Value());
}

bool JsReader::is_string(const char* name) const { return get(name).IsString(); }

std::optional<IfRef> JsReader::iface(const char* name) const {
  Napi::Value v = get(name);
  if (v.IsUndefined()) return std::nullopt;
  IfRef ref;
  if (v.IsString()) {
    ref.name = text(name, v.As<Napi::String>().Utf8Value());
    if (ref.name.empty() || ref.name.size() > 15)
      fail(name, describe(v) + " is not an interface name (1..15 characters)");
    return ref;
  }
  if (v.IsNumber()) {
    double d = v.As<Napi::Number>().DoubleValue();
    if (d >= 1 && d <= 2147483647.0 && d == std::floor(d)) {
      ref.index = static_cast<uint32_t>(d);
      return ref;
    }
  }
  fail(name, "expected an interface name or index, got " + describe(v));
}

std::optional<std::vector<std::string>> JsReader::strings(const char* name) const {
  Napi::Value v = get(name);
  if (v.IsUndefined()) return std::nullopt;
  if (!v.IsArray()) fail(name, "expected an array of strings, got " + describe(v));
  auto list = v.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value e = list.Get(i);
    if (!e.IsString())
      throw InvalidArgument(path_ + "." + name + "[" + std::to_string(i) + "]: expected a string, got " +
                            describe(e));
    std::string item = e.As<Napi::String>().Utf8Value();
    check_text(path_ + "." + name + "[" + std::to_string(i) + "]", item);
    out.push_back(std::move(item));
  }
  return out;
}

std::optional<std::vector<double>> JsReader::numbers(const char* name) const {
  Napi::Value v = get(name);
  if (v.IsUndefined()) return std::nullopt;
  if (!v.IsArray()) fail(name, "expected an array of numbers, got " + describe(v));
  auto list = v.As<Napi::Array>();
  std::vector<double> out;
  out.reserve(list.Length());
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value e = list.Get(i);
    double d = e.IsNumber() ? e.As<Napi::Number>().DoubleValue() : NAN;
    if (!std::isfinite(d))
      throw InvalidArgument(path_ + "." + name + "[" + std::to_string(i) +
                            "]: expected a finite number, got " + describe(e));
    out.push_back(d);
  }
  return out;
}

std::unique_ptr<FieldReader> JsReader::object(const char* name) const {
  Napi::Value v = get(name);
  if (v.IsUndefined()) return nullptr;
  if (!v.IsObject() || v.IsArray()) fail(name, "expected an object, got " + describe(v));
  return std::make_unique<JsReader>(v.As<Napi::Object>(), path_ + "." + name, ids_);
}

size_t JsReader::array_length(const char* name) const {
  Napi::Value v = get(name);
  if (v.IsUndefined()) return 0;
  if (!v.IsArray()) fail(name, "expected an array, got " + describe(v));
  return v.As<Napi::Array>().Length();
}

std::unique_ptr<FieldReader> JsReader::element(const char* name, size_t i) const {
  Napi::Value v = get(name).As<Napi::Array>().Get(static_cast<uint32_t>(i));
  std::string at = std::string(name) + "[" + std::to_string(i) + "]";
  if (!v.IsObject() || v.IsArray())
    throw InvalidArgument(path_ + "." + at + ": expected an object, got " + describe(v));
  return std::make_unique<JsReader>(v.As<Napi::Object>(), path_ + "." + at, ids_);
}

uint64_t JsReader::identity(const char* name) const {
  if (!ids_) return 0;
  return ids_->of(get(name));
}

uint64_t JsIdentities::of(const Napi::Value& v) {
  if (!v.IsObject()) return 0;
  for (const auto& slot : slots_)
    if (slot.first.StrictEquals(v)) return slot.second;
  if (slots_.size() < kSlots)
    slots_.emplace_back(v, ++last_);
  else
    slots_[next_] = {v, ++last_};
  next_ = (next_ + 1) % kSlots;
  return last_;
}

void JsWriter::set_u64(const char* name, uint64_t v) {
  obj_.Set(name, Napi::Number::New(obj_.Env(), static_cast<double>(v)));
}
void JsWriter::set_i64(const char* name, int64_t v) {
  obj_.Set(name, Napi::Number::New(obj_.Env(), static_cast<double>(v)));
}
void JsWriter::set_number(const char* name, double v) { obj_.Set(name, Napi::Number::New(obj_.Env(), v)); }
void JsWriter::set_bool(const char* name, bool v) { obj_.Set(name, Napi::Boolean::New(obj_.Env(), v)); }
void JsWriter::set_string(const char* name, const std::string& v) {
  obj_.Set(name, Napi::String::New(obj_.Env(), v));
}
void JsWriter::set_strings(const char* name, const std::vector<std::string>& v) {
  Napi::Array list = Napi::Array::New(obj_.Env(), v.size());
  for (size_t i = 0; i < v.size(); i++)
    list.Set(static_cast<uint32_t>(i), Napi::String::New(obj_.Env(), v[i]));
  obj_.Set(name, list);
}

void JsWriter::set_numbers(const char* name, const std::vector<double>& v) {
  Napi::Array list = Napi::Array::New(obj_.Env(), v.size());
  for (size_t i = 0; i < v.size(); i++)
    list.Set(static_cast<uint32_t>(i), Napi::Number::New(obj_.Env(), v[i]));
  obj_.Set(name, list);
}

std::unique_ptr<FieldWriter> JsWriter::object(const char* name) {
  if (!stats_ && std::strcmp(name, "stats") == 0) return std::make_unique<NullWriter>();
  Napi::Object child = Napi::Object::New(obj_.Env());
  obj_.Set(name, child);
  return std::make_unique<JsWriter>(child, stats_);
}
std::unique_ptr<FieldWriter> JsWriter::append(const char* name) {
  Napi::Value existing = obj_.Get(name);
  Napi::Array list;
  if (existing.IsArray()) {
    list = existing.As<Napi::Array>();
  } else {
    list = Napi::Array::New(obj_.Env());
    obj_.Set(name, list);
  }
  Napi::Object child = Napi::Object::New(obj_.Env());
  list.Set(list.Length(), child);
  return std::make_unique<JsWriter>(child, stats_);
}

}  // namespace netqos
