// The native checks' harness: CHECK counts a failure and goes on, REQUIRE stops the section.
#pragma once

#include <cstdio>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>

#include "socket.h"

namespace netqos::check {

inline int g_passed = 0;
inline int g_failed = 0;

template <typename... Args>
std::string cat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

inline void check_impl(bool ok, const char* expr, const char* file, int line, const std::string& what) {
  if (ok) {
    g_passed++;
    return;
  }
  g_failed++;
  std::fprintf(stderr, "FAIL %s:%d: %s\n     (%s)\n", file, line, what.c_str(), expr);
}

// A failure that makes the rest of a section meaningless.
struct Fatal : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline void section(const char* name) { std::printf("-- %s\n", name); }

// Runs the checks, counting an escaped exception as a failure; prints the totals and returns
// the exit status.
inline int run_checks(const std::function<void()>& checks) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  try {
    checks();
  } catch (const Fatal& e) {
    std::fprintf(stderr, "stopped: %s\n", e.what());
    g_failed++;
  } catch (const SystemError& e) {
    std::fprintf(stderr, "unexpected SystemError (errno %d): %s\n", e.error, e.what());
    g_failed++;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected exception: %s\n", e.what());
    g_failed++;
  }
  std::printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed ? 1 : 0;
}

}  // namespace netqos::check

#define CHECK(cond, ...)                                                          \
  ::netqos::check::check_impl(static_cast<bool>(cond), #cond, __FILE__, __LINE__, \
                              ::netqos::check::cat(__VA_ARGS__))
#define REQUIRE(cond, ...)                                                                          \
  do {                                                                                              \
    bool ok_ = static_cast<bool>(cond);                                                             \
    ::netqos::check::check_impl(ok_, #cond, __FILE__, __LINE__, ::netqos::check::cat(__VA_ARGS__)); \
    if (!ok_) throw ::netqos::check::Fatal(::netqos::check::cat("required: ", #cond));              \
  } while (0)
