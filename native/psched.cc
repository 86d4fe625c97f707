#include "psched.h"

#include <cmath>
#include <cstdint>
#include <cstdio>

namespace netqos {

namespace {

// The four words of /proc/net/psched (all 0 when it cannot be read).
struct Psched {
  unsigned t2us = 0, us2t = 0, clock_res = 0, hz = 0;
};
const Psched& psched() {
  static const Psched value = [] {
    Psched p;
    FILE* f = std::fopen("/proc/net/psched", "r");
    if (f) {
      if (std::fscanf(f, "%08x%08x%08x%08x", &p.t2us, &p.us2t, &p.clock_res, &p.hz) != 4) p = Psched{};
      std::fclose(f);
    }
    return p;
  }();
  return value;
}

// A byte count computed in doubles, as a u64: a reply's rate can be any 64-bit number, and a
// product past 2^64 saturates (converting it would be undefined behaviour).
uint64_t saturate_u64(double d) {
  if (!(d > 0)) return 0;
  return d >= 18446744073709551616.0 ? UINT64_MAX : static_cast<uint64_t>(d);
}

}  // namespace

// tc derives tick_in_usec from /proc/net/psched's first three words.
double tick_in_usec() {
  static const double value = [] {
    Psched p = psched();
    if (!p.t2us || !p.us2t || !p.clock_res) return 15.625;  // every kernel since 2.6.31 (64 ns ticks)
    if (p.clock_res == 1000000000) p.t2us = p.us2t;
    double clock_factor = static_cast<double>(p.clock_res) / 1e6;
    return static_cast<double>(p.t2us) / p.us2t * clock_factor;
  }();
  return value;
}

uint32_t psched_hz() {
  const Psched& p = psched();
  return p.clock_res == 1000000 && p.hz ? p.hz : 100;  // tc's fallback is its HZ, 100
}

double clock_factor() {
  const Psched& p = psched();
  return p.clock_res ? static_cast<double>(p.clock_res) / 1e6 : 1;
}

double xmittime_exact(uint64_t rate_bytes, uint64_t size) {
  if (rate_bytes == 0) return 0;
  return 1e6 * static_cast<double>(size) / static_cast<double>(rate_bytes) * tick_in_usec();
}

// Same truncations as tc: the time is cut to whole microseconds, then scaled to ticks.
uint32_t xmittime(uint64_t rate_bytes, uint64_t size) {
  if (rate_bytes == 0) return 0;
  double usec = 1e6 * (static_cast<double>(size) / static_cast<double>(rate_bytes));
  if (usec >= 4294967295.0) usec = 4294967295.0;
  auto whole_usec = static_cast<uint32_t>(usec);
  double ticks = static_cast<double>(whole_usec) * tick_in_usec();
  return ticks >= 4294967295.0 ? kMaxTicks : static_cast<uint32_t>(ticks);
}

uint64_t xmitsize(uint64_t rate_bytes, uint32_t ticks) {
  double usec = static_cast<double>(ticks) / tick_in_usec();
  return saturate_u64(std::round(static_cast<double>(rate_bytes) * usec / 1e6));
}

uint64_t bytes_for_ticks(uint64_t rate_bytes, uint32_t ticks) {
  // xmittime truncates twice: bytes to whole microseconds, microseconds to ticks. Undo both:
  // the fewest microseconds that give these ticks, then the fewest bytes that take as long.
  double usec = std::ceil(static_cast<double>(ticks) / tick_in_usec());
  return saturate_u64(std::ceil(usec * static_cast<double>(rate_bytes) / 1e6 - 1e-9));
}

uint32_t codel_time_us(uint32_t reported) {
  // The kernel sets units = us * 1000 >> 10 and reports units * 1024 / 1000, both truncated.
  uint64_t units = (static_cast<uint64_t>(reported) * 1000 + 1023) / 1024;
  if (units * 1024 / 1000 != reported) return reported;  // not a value CoDel reported
  return static_cast<uint32_t>((units * 1024 + 999) / 1000);
}

int cell_log_for(uint32_t mtu) {
  if (mtu == 0) mtu = 2047;
  int cell_log = 0;
  while ((mtu >> cell_log) > 255) cell_log++;
  return cell_log;
}

void fill_ratespec(tc_ratespec& spec, uint64_t rate_bytes, uint32_t mtu, uint16_t mpu) {
  spec.rate = rate_bytes >= (1ULL << 32) ? ~0U : static_cast<uint32_t>(rate_bytes);
  spec.cell_log = static_cast<unsigned char>(cell_log_for(mtu));
  spec.cell_align = -1;
  spec.linklayer = TC_LINKLAYER_ETHERNET;
  spec.mpu = mpu;
}

void fill_rate_table(uint32_t table[256], uint64_t rate_bytes, int cell_log) {
  for (int i = 0; i < 256; i++) table[i] = xmittime(rate_bytes, static_cast<uint64_t>(i + 1) << cell_log);
}

}  // namespace netqos
