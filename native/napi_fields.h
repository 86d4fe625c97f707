// FieldReader over JavaScript objects (decoded objects go to JavaScript through records.h).
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
  std::unique_ptr<FieldReader> object(const char* name) const override;
  size_t array_length(const char* name) const override;
  std::unique_ptr<FieldReader> element(const char* name, size_t i) const override;

 private:
  Napi::Value get(const char* name) const;
  Napi::Object obj_;
  std::string path_;
};

}  // namespace netqos
