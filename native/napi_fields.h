// FieldReader and FieldWriter over JavaScript objects.
#pragma once

#include <napi.h>

#include "fields.h"

namespace netqos {

class JsReader : public FieldReader {
 public:
  JsReader(Napi::Object obj, std::string path) : obj_(obj), path_(std::move(path)) {}
  const std::string& path() const override { return path_; }
  bool has(const char* name) const override;
  std::optional<uint64_t> u64(const char* name) const override;
  std::optional<int64_t> i64(const char* name) const override;
  std::optional<double> number(const char* name) const override;
  std::optional<bool> boolean(const char* name) const override;
  std::optional<std::string> string(const char* name) const override;
  std::optional<IfRef> iface(const char* name) const override;
  std::optional<std::vector<std::string>> strings(const char* name) const override;
  std::optional<std::vector<double>> numbers(const char* name) const override;
  std::unique_ptr<FieldReader> object(const char* name) const override;
  size_t array_length(const char* name) const override;
  std::unique_ptr<FieldReader> element(const char* name, size_t i) const override;

 private:
  Napi::Value get(const char* name) const;
  Napi::Object obj_;
  std::string path_;
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
