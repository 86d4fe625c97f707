// FieldReader and FieldWriter over a small C++ value tree, with no Node dependency: for native
// tests and the benchmark floor, which drive the same engine the addon does.
//
//   Value op = Value::object({{"op", "add"},
//                             {"qdisc", Value::object({{"dev", "v0"}, {"kind", "tbf"},
//                                                      {"rate", 10000000}, {"burst", 32768},
//                                                      {"latencyUs", 25000}})}});
//   encode_operation(batch, PlainReader(op, "ops[0]"));
//
//   Value obj = Value::object();
//   PlainWriter w(obj);
//   decode_object(nlh, w);
//   std::puts(to_json(obj).c_str());
//
// PlainReader accepts and refuses exactly what JsReader (napi_fields.cc) does, reading each Value
// as the JavaScript value it stands for:
//   undefined (or an absent key) -> undefined        null   -> null
//   bool   -> boolean                                double -> Number
//   string -> string                                 array  -> Array, object -> plain Object
//   int64/uint64 -> the JavaScript value that holds it exactly: a Number when its magnitude is at
//                   most 2^53 - 1, a BigInt beyond (so u64() takes any non-negative integer, while
//                   i64(), number() and iface() refuse integers a Number cannot hold).
// Error messages are JsReader's ("ops[0].qdisc.rate: -5 is not a non-negative integer"), except
// that integers beyond 2^53 are shown with their digits where JavaScript says "a bigint".
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "fields.h"

namespace netqos {

class Value {
 public:
  enum class Type { Undefined, Null, Bool, Int, UInt, Double, String, Array, Object };
  using Array = std::vector<Value>;
  using Object = std::map<std::string, Value>;

  Value() : type_(Type::Null) {}
  Value(std::nullptr_t) : type_(Type::Null) {}
  Value(bool b) : type_(Type::Bool), b_(b) {}
  template <typename T, typename std::enable_if<std::is_integral<T>::value && !std::is_same<T, bool>::value &&
                                                    std::is_signed<T>::value,
                                                int>::type = 0>
  Value(T v) : type_(Type::Int), i_(static_cast<int64_t>(v)) {}
  template <typename T, typename std::enable_if<std::is_integral<T>::value && !std::is_same<T, bool>::value &&
                                                    !std::is_signed<T>::value,
                                                int>::type = 0>
  Value(T v) : type_(Type::UInt), u_(static_cast<uint64_t>(v)) {}
  Value(double d) : type_(Type::Double), d_(d) {}
  Value(float d) : type_(Type::Double), d_(d) {}
  Value(const char* s) : type_(Type::String), s_(s) {}
  Value(std::string s) : type_(Type::String), s_(std::move(s)) {}
  Value(Array a) : type_(Type::Array), a_(std::make_shared<Array>(std::move(a))) {}
  Value(Object o) : type_(Type::Object), o_(std::make_shared<Object>(std::move(o))) {}

  // Copies are deep; moves keep the array or object where it is in memory (PlainWriter relies
  // on that: a writer stays valid while arrays around it grow).
  Value(const Value& other);
  Value(Value&& other) noexcept = default;
  Value& operator=(const Value& other);
  Value& operator=(Value&& other) noexcept = default;
  ~Value() = default;

  static Value undefined() {
    Value v;
    v.type_ = Type::Undefined;
    return v;
  }
  static Value object(std::initializer_list<std::pair<const std::string, Value>> members = {}) {
    return Value(Object(members));
  }
  static Value array(std::initializer_list<Value> elements = {}) { return Value(Array(elements)); }

  Type type() const { return type_; }
  bool is_undefined() const { return type_ == Type::Undefined; }
  bool is_null() const { return type_ == Type::Null; }
  bool is_bool() const { return type_ == Type::Bool; }
  bool is_integer() const { return type_ == Type::Int || type_ == Type::UInt; }
  bool is_number() const { return is_integer() || type_ == Type::Double; }
  bool is_string() const { return type_ == Type::String; }
  bool is_array() const { return type_ == Type::Array; }
  bool is_object() const { return type_ == Type::Object; }

  // Typed access; each throws std::logic_error on another type (u64: also on a negative or
  // fractional value; i64: on a value outside int64 or fractional).
  bool as_bool() const;
  int64_t as_i64() const;
  uint64_t as_u64() const;
  double as_double() const;  // any number
  const std::string& as_string() const;
  const Array& as_array() const;
  Array& as_array();
  const Object& as_object() const;
  Object& as_object();

  // Object member, or nullptr when this is not an object or the key is absent or undefined.
  const Value* get(const std::string& key) const;
  // Dotted path of members and [indices]: find("actions[0].cookie").
  const Value* find(const std::string& path) const;
  // Object member, created (null) when absent; turns undefined or null into an empty object.
  Value& operator[](const std::string& key);
  // Array element (std::out_of_range when absent).
  const Value& at(size_t i) const;
  size_t size() const;      // array elements or object members, 0 otherwise
  void push_back(Value v);  // turns undefined or null into an empty array

 private:
  Type type_;
  bool b_ = false;
  int64_t i_ = 0;
  uint64_t u_ = 0;
  double d_ = 0;
  std::string s_;
  std::shared_ptr<Array> a_;
  std::shared_ptr<Object> o_;
  friend class PlainReader;
  friend class PlainWriter;
};

// JSON text of a value (one line; undefined members are left out, as JSON.stringify does).
std::string to_json(const Value& v);

// Reads an object Value. The tree must outlive the reader and the readers it hands out.
class PlainReader : public FieldReader {
 public:
  // Throws InvalidArgument ("<path>: expected an object, got ...") when v is not an object.
  PlainReader(const Value& v, std::string path);
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

 private:
  const Value* get(const char* name) const;  // nullptr when absent or undefined
  std::shared_ptr<const Value::Object> obj_;
  std::string path_;
};

// Writes into an object Value (made an empty object if it is not one). Like RecordWriter, object()
// replaces the field with a new object and append() adds to the array field, creating it when
// the field is not an array. Writers hold the objects they write, so a child writer stays valid
// however the tree changes around it; the root Value must not be moved from or reassigned while
// writers are in use.
class PlainWriter : public FieldWriter {
 public:
  explicit PlainWriter(Value& root);
  void set_u64(const char* name, uint64_t v) override;
  void set_i64(const char* name, int64_t v) override;
  void set_number(const char* name, double v) override;
  void set_bool(const char* name, bool v) override;
  void set_string(const char* name, const std::string& v) override;
  void set_strings(const char* name, const std::vector<std::string>& v) override;
  void set_numbers(const char* name, const std::vector<double>& v) override;
  std::unique_ptr<FieldWriter> object(const char* name) override;
  std::unique_ptr<FieldWriter> append(const char* name) override;

 private:
  explicit PlainWriter(std::shared_ptr<Value::Object> obj) : obj_(std::move(obj)) {}
  std::shared_ptr<Value::Object> obj_;
};

}  // namespace netqos
