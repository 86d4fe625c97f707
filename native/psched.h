// The packet scheduler's clock and tc's time arithmetic, as iproute2's tc_core.c has them: psched
// ticks, transmit times, rate specs. One place, so every kind computes the numbers tc computes.
#pragma once

#include <linux/pkt_sched.h>

#include <cstdint>

namespace netqos {

// The kernel keeps bucket sizes as 32-bit psched ticks (64 ns each since 2.6.31: ~274.9 s).
constexpr uint32_t kMaxTicks = 0xFFFFFFFFu;

// Psched clock, read once from /proc/net/psched as tc_core_init() does.
double tick_in_usec();
// The clock rate tc's get_hz() reports (the fourth field of /proc/net/psched when the third is
// 1000000; 1e9 with high-resolution timers): HTB's default bursts are rate / hz + mtu.
uint32_t psched_hz();
// tc_core_time2ktime's factor (clock_res / 1e6): HFSC's curve times in the kernel's units.
double clock_factor();
// tc_calc_xmittime: ticks to send `size` bytes at `rate` bytes/s (truncated as tc does,
// saturated at kMaxTicks).
uint32_t xmittime(uint64_t rate_bytes, uint64_t size);
// The exact ticks before truncation, to refuse what does not fit 32 bits.
double xmittime_exact(uint64_t rate_bytes, uint64_t size);
// Inverse, for decoding: bytes sent in `ticks` at `rate` bytes/s.
uint64_t xmitsize(uint64_t rate_bytes, uint32_t ticks);
// The exact inverse of xmittime: the smallest size xmittime maps to `ticks` at `rate`, so a
// bucket read back and sent again keeps its ticks (xmitsize rounds to the nearest byte instead).
uint64_t bytes_for_ticks(uint64_t rate_bytes, uint32_t ticks);
// CoDel keeps times in 1024 ns units and reports them back truncated to microseconds: the
// microseconds a reported value was set from (the smallest that gives the same units).
uint32_t codel_time_us(uint32_t reported);
// tc_calc_rtable's cell size: the smallest cell_log whose 256 cells cover `mtu` (0: tc's 2047).
int cell_log_for(uint32_t mtu);
// A ratespec for Ethernet as tc_calc_rtable_64 fills it: the rate capped to 32 bits.
void fill_ratespec(tc_ratespec& spec, uint64_t rate_bytes, uint32_t mtu, uint16_t mpu);
// The 256-entry rate table of that spec (police still sends one).
void fill_rate_table(uint32_t table[256], uint64_t rate_bytes, int cell_log);

}  // namespace netqos
