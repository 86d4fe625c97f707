// The read floor (reads.cc): dumps walked by plain libmnl, for bench/run.ts's read rows.
#pragma once

#include <cstddef>
#include <string>

namespace netqos {

// User and system time of the process: less disturbed than wall time by other work on a busy
// machine (the kernel's part of a dump or a batch runs in the process's system calls).
double cpu_seconds();

bool is_read_workload(const std::string& workload);
// Runs `repeats` timed reads and prints one JSON line each; returns the exit status.
int run_reads(const std::string& netns, const std::string& workload, size_t n, unsigned long long repeats);
// One read per stdin line "<workload> <N>", one JSON line each (for interleaving with another
// process's runs without starting a process per run).
int serve_reads(const std::string& netns);

}  // namespace netqos
