// JSON text -> Value (plain_fields.h), for the nf_tables floor, which reads the operations
// applyQos planned (bench/nft-qos.ts writes them) instead of building its own: so it sends exactly
// netqos's batch. Integers stay integers (Int when negative, UInt otherwise); a number with a
// fraction or an exponent is a double. Throws std::runtime_error at the first malformed byte.
#pragma once

#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "plain_fields.h"

namespace netqos::bench {

class JsonReader {
 public:
  explicit JsonReader(const std::string& text) : s_(text) {}

  Value document() {
    Value v = value(0);
    space();
    if (i_ != s_.size()) fail("text after the value");
    return v;
  }

 private:
  static constexpr int kMaxDepth = 64;

  [[noreturn]] void fail(const char* what) const {
    throw std::runtime_error("JSON at byte " + std::to_string(i_) + ": " + what);
  }
  void space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) i_++;
  }
  bool take(char c) {
    space();
    if (i_ < s_.size() && s_[i_] == c) return ++i_, true;
    return false;
  }
  void expect(char c) {
    if (!take(c)) fail((std::string("expected '") + c + "'").c_str());
  }
  bool word(const char* w) {
    size_t n = std::char_traits<char>::length(w);
    if (s_.compare(i_, n, w) != 0) return false;
    i_ += n;
    return true;
  }

  Value value(int depth) {
    if (depth > kMaxDepth) fail("nested too deeply");
    space();
    if (i_ >= s_.size()) fail("unexpected end");
    char c = s_[i_];
    if (c == '{') return object(depth);
    if (c == '[') return array(depth);
    if (c == '"') return Value(string());
    if (word("true")) return Value(true);
    if (word("false")) return Value(false);
    if (word("null")) return Value(nullptr);
    return number();
  }

  Value object(int depth) {
    expect('{');
    Value::Object o;
    if (take('}')) return Value(std::move(o));
    do {
      space();
      std::string key = string();
      expect(':');
      o[key] = value(depth + 1);
    } while (take(','));
    expect('}');
    return Value(std::move(o));
  }

  Value array(int depth) {
    expect('[');
    Value::Array a;
    if (take(']')) return Value(std::move(a));
    do a.push_back(value(depth + 1));
    while (take(','));
    expect(']');
    return Value(std::move(a));
  }

  std::string string() {
    if (i_ >= s_.size() || s_[i_] != '"') fail("expected a string");
    i_++;
    std::string out;
    while (true) {
      if (i_ >= s_.size()) fail("unterminated string");
      char c = s_[i_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) fail("unterminated escape");
      char e = s_[i_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u':
          utf8(out, codepoint());
          break;
        default:
          fail("unknown escape");
      }
    }
  }

  unsigned hex4() {
    if (i_ + 4 > s_.size()) fail("short \\u escape");
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
      char h = s_[i_++];
      v <<= 4;
      if (h >= '0' && h <= '9')
        v |= static_cast<unsigned>(h - '0');
      else if (h >= 'a' && h <= 'f')
        v |= static_cast<unsigned>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F')
        v |= static_cast<unsigned>(h - 'A' + 10);
      else
        fail("bad \\u escape");
    }
    return v;
  }
  unsigned codepoint() {
    unsigned cp = hex4();
    if (cp >= 0xD800 && cp < 0xDC00 && s_.compare(i_, 2, "\\u") == 0) {
      i_ += 2;
      unsigned low = hex4();
      if (low < 0xDC00 || low > 0xDFFF) fail("bad surrogate pair");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    return cp;
  }
  static void utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  Value number() {
    size_t start = i_;
    if (i_ < s_.size() && s_[i_] == '-') i_++;
    bool integral = true;
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c >= '0' && c <= '9') {
        i_++;
      } else if (c == '.' || c == 'e' || c == 'E' || c == '+' || (c == '-' && i_ > start)) {
        integral = false;
        i_++;
      } else {
        break;
      }
    }
    std::string text = s_.substr(start, i_ - start);
    if (text.empty() || text == "-") fail("expected a value");
    char* end = nullptr;
    errno = 0;
    if (integral && text[0] == '-') {
      long long v = std::strtoll(text.c_str(), &end, 10);
      if (!errno && *end == '\0') return Value(static_cast<int64_t>(v));
    } else if (integral) {
      unsigned long long v = std::strtoull(text.c_str(), &end, 10);
      if (!errno && *end == '\0') return Value(static_cast<uint64_t>(v));
    }
    double d = std::strtod(text.c_str(), &end);
    if (*end != '\0') fail("malformed number");
    return Value(d);
  }

  const std::string& s_;
  size_t i_ = 0;
};

inline Value parse_json(const std::string& text) { return JsonReader(text).document(); }

}  // namespace netqos::bench
