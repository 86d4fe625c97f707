// The benchmark floor: the same engine the addon drives (encode_operation over PlainReader,
// RouteSocket::execute), with no Node and no N-API, timing only encode + execute.
//
//   netqos_floor <netns> <workload> <N> [repeats]
//
//   w1   replace a TBF root qdisc on h0..h{N-1} (veth ends the caller created), one batch
//   w2   pod QoS from nothing on N pods, one batch, the operations applyQos sends for
//        ingress + egress bandwidth 10M: IFB nqifb{i} (mtu 1500, up, group 0x4e51) for every
//        pod, then per pod TBF root 4e51: on nqifb{i} and on h{i} (10 Mbit/s, 12,500-byte
//        bucket, 43,750-byte limit), clsact on h{i}, u32 match-all prio 49003 on its ingress hook
//        with a mirred redirect to nqifb{i} carrying netqos's cookie
//   w6   remove it as clearQos does, one batch: the filter, the root TBF and the clsact of h{i},
//        then every nqifb{i} moved to group 0x4e52 and that group deleted in one message
//   rtt  one TBF replace on h0 per execute, timed one by one `repeats` times (default 1000)
//   pod-tbf  what applyQos sends for ingress bandwidth 10M alone on h0..h{N-1}: a TBF 4e51:
//        at each root (10 Mbit/s, 12,500-byte bucket, 43,750-byte limit), one batch
//   links, qdiscs, named-qdiscs, filters, w3read: the reads (reads.cc)
//
// Untimed setup: w2 first clears h0..h{N-1} (IFBs, root and clsact qdiscs left by earlier runs);
// w6 removes the pods a previous w2 left, and otherwise (or on later repeats) builds them first.
// So each workload can be repeated. Every run prints one JSON line.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "operation.h"
#include "plain_fields.h"
#include "reads.h"
#include "socket.h"

using namespace netqos;

namespace {

using Clock = std::chrono::steady_clock;

Value tbf(const std::string& dev) {
  return Value::object({{"dev", dev},
                        {"kind", "tbf"},
                        {"parent", "root"},
                        {"handle", "1:"},
                        {"rate", 10000000},
                        {"burst", 32768},
                        {"latencyUs", 25000}});
}
// applyQos's TBF for 10M (netqos profile: 10 ms of the rate as bucket, 25 ms + bucket as limit).
Value pod_tbf(const std::string& dev) {
  return Value::object({{"dev", dev},
                        {"kind", "tbf"},
                        {"parent", "root"},
                        {"handle", "4e51:"},
                        {"rate", 10000000},
                        {"burst", 12500},
                        {"limit", 43750}});
}
Value op(const char* verb, const char* what, Value body) {
  return Value::object({{"op", verb}, {what, std::move(body)}});
}
std::string host(size_t i) { return "h" + std::to_string(i); }
std::string ifb(size_t i) { return "nqifb" + std::to_string(i); }

// lib/qos/policy.ts: NETQOS_IFB_GROUP, NETQOS_DOOMED_GROUP, PRIORITY[FromPod], cookieFor.
constexpr int kIfbGroup = 0x4e51;
constexpr int kDoomedGroup = 0x4e52;
constexpr int kFromPodPriority = 49003;
std::string from_pod_cookie(uint32_t ifindex) {
  char hex[32];
  std::snprintf(hex, sizeof hex, "6e717301%08x", ifindex);
  return hex;
}

std::vector<Value> w1_ops(size_t n) {
  std::vector<Value> ops;
  for (size_t i = 0; i < n; i++) ops.push_back(op("replace", "qdisc", tbf(host(i))));
  return ops;
}

std::vector<Value> pod_tbf_ops(size_t n) {
  std::vector<Value> ops;
  for (size_t i = 0; i < n; i++) ops.push_back(op("replace", "qdisc", pod_tbf(host(i))));
  return ops;
}

// ifindexes: of h0..h{N-1}, for the cookies (resolved before the clock starts).
std::vector<Value> w2_ops(size_t n, const std::vector<uint32_t>& ifindexes) {
  std::vector<Value> ops;
  for (size_t i = 0; i < n; i++)
    ops.push_back(
        op("add", "link",
           Value::object(
               {{"kind", "ifb"}, {"name", ifb(i)}, {"mtu", 1500}, {"up", true}, {"group", kIfbGroup}})));
  for (size_t i = 0; i < n; i++) {
    ops.push_back(op("replace", "qdisc", pod_tbf(ifb(i))));
    ops.push_back(op("replace", "qdisc", pod_tbf(host(i))));
    ops.push_back(op("add", "qdisc", Value::object({{"dev", host(i)}, {"kind", "clsact"}})));
    ops.push_back(
        op("add", "filter",
           Value::object(
               {{"dev", host(i)},
                {"parent", "ingress"},
                {"kind", "u32"},
                {"priority", kFromPodPriority},
                {"protocol", "all"},
                {"actions", Value::array({Value::object({{"kind", "mirred"},
                                                         {"direction", "egress"},
                                                         {"mode", "redirect"},
                                                         {"dev", ifb(i)},
                                                         {"cookie", from_pod_cookie(ifindexes[i])}})})}})));
  }
  return ops;
}

std::vector<Value> w6_ops(size_t n) {
  std::vector<Value> ops;
  for (size_t i = 0; i < n; i++) {
    ops.push_back(op("delete", "filter",
                     Value::object({{"dev", host(i)},
                                    {"parent", "ingress"},
                                    {"kind", "u32"},
                                    {"priority", kFromPodPriority},
                                    {"protocol", "all"}})));
    ops.push_back(
        op("delete", "qdisc", Value::object({{"dev", host(i)}, {"parent", "root"}, {"handle", "4e51:"}})));
  }
  for (size_t i = 0; i < n; i++)
    ops.push_back(op("delete", "qdisc", Value::object({{"dev", host(i)}, {"kind", "clsact"}})));
  for (size_t i = 0; i < n; i++)
    ops.push_back(op("change", "link", Value::object({{"name", ifb(i)}, {"group", kDoomedGroup}})));
  ops.push_back(op("delete", "link", Value::object({{"group", kDoomedGroup}})));
  return ops;
}

struct Run {
  double seconds = 0;
  double cpu_seconds = 0;  // user + system time of the process (the kernel's work is in sendmsg)
  uint64_t messages = 0;
  uint64_t sendmsgs = 0;
  size_t failures = 0;
  std::string first_failure;
};

// Encodes and executes ops as one batch; only this is timed.
Run run(RouteSocket& sock, const std::vector<Value>& ops) {
  Run r;
  uint64_t messages = sock.messages_sent(), sendmsgs = sock.sendmsg_calls();
  std::vector<OpResult> results;
  double cpu0 = cpu_seconds();
  auto start = Clock::now();
  {
    Batch batch;
    for (size_t i = 0; i < ops.size(); i++)
      encode_operation(batch, PlainReader(ops[i], "ops[" + std::to_string(i) + "]"));
    sock.execute(batch, results);
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.cpu_seconds = cpu_seconds() - cpu0;
  r.messages = sock.messages_sent() - messages;
  r.sendmsgs = sock.sendmsg_calls() - sendmsgs;
  for (size_t i = 0; i < results.size(); i++) {
    if (!results[i].error) continue;
    if (!r.failures)
      r.first_failure = "operation " + std::to_string(i) + ": errno " + std::to_string(results[i].error) +
                        " " + results[i].message;
    r.failures++;
  }
  return r;
}

void print(const char* workload, size_t n, const Run& r, const std::string& extra = "") {
  std::printf(
      "{\"workload\":\"%s\",\"n\":%zu,\"seconds\":%.6f,\"perItemUs\":%.3f,\"messages\":%llu,"
      "\"sendmsgCalls\":%llu,\"cpuSeconds\":%.6f,\"failures\":%zu%s}\n",
      workload, n, r.seconds, r.seconds * 1e6 / static_cast<double>(n ? n : 1),
      static_cast<unsigned long long>(r.messages), static_cast<unsigned long long>(r.sendmsgs), r.cpu_seconds,
      r.failures, extra.c_str());
  if (r.failures)
    std::fprintf(stderr, "%s: %zu failures, first: %s\n", workload, r.failures, r.first_failure.c_str());
}

// Untimed state changes between repeats; failures there are reported, not fatal.
void prepare(RouteSocket& sock, const std::vector<Value>& ops, const char* what) {
  Run r = run(sock, ops);
  if (r.failures)
    std::fprintf(stderr, "setup (%s): %zu failures, first: %s\n", what, r.failures, r.first_failure.c_str());
}

// Untimed: back to nothing on h0..h{N-1} (no IFBs, no root or ingress qdisc), whatever a
// previous run left; "not there" failures are expected and ignored.
void reset(RouteSocket& sock, size_t n) { run(sock, w6_ops(n)); }

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(rank, v.size() - 1)];
}

int usage(const char* argv0) {
  std::fprintf(
      stderr,
      "usage: %s <netns> <w1|w2|w6|rtt|pod-tbf|links|qdiscs|named-qdiscs|filters|w3read> <N> [repeats]\n"
      "       %s <netns> serve   (reads: one per stdin line \"<workload> <N>\")\n",
      argv0, argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[2]) == "serve") return serve_reads(argv[1]);
  if (argc < 4 || argc > 5) return usage(argv[0]);
  std::string netns = argv[1], workload = argv[2];
  char* end = nullptr;
  unsigned long long n = std::strtoull(argv[3], &end, 10);
  if (!end || *end || n == 0) return usage(argv[0]);
  unsigned long long repeats = workload == "rtt" ? 1000 : 1;
  if (argc == 5) {
    repeats = std::strtoull(argv[4], &end, 10);
    if (!end || *end || repeats == 0) return usage(argv[0]);
  }
  if (is_read_workload(workload)) return run_reads(netns, workload, n, argc == 5 ? repeats : 1);
  if (workload != "w1" && workload != "w2" && workload != "w6" && workload != "rtt" && workload != "pod-tbf")
    return usage(argv[0]);

  size_t failures = 0;
  try {
    RouteSocket sock(netns);
    if (workload == "rtt") {
      std::vector<Value> one = {op("replace", "qdisc", tbf(host(0)))};
      prepare(sock, one, "first replace");  // the qdisc exists; every sample replaces it
      std::vector<double> samples;
      Run total;
      for (unsigned long long k = 0; k < repeats; k++) {
        Run r = run(sock, one);
        samples.push_back(r.seconds * 1e6);
        total.seconds += r.seconds;
        total.cpu_seconds += r.cpu_seconds;
        total.messages += r.messages;
        total.sendmsgs += r.sendmsgs;
        total.failures += r.failures;
        if (r.failures && total.first_failure.empty()) total.first_failure = r.first_failure;
      }
      char extra[128];
      std::snprintf(extra, sizeof extra, ",\"repeats\":%llu,\"p50Us\":%.2f,\"p99Us\":%.2f", repeats,
                    percentile(samples, 0.50), percentile(samples, 0.99));
      // perItemUs: the mean over all samples.
      print("rtt", static_cast<size_t>(repeats), total, extra);
      failures = total.failures;
    } else {
      std::vector<uint32_t> ifindexes;
      if (workload == "w2" || workload == "w6")
        for (size_t i = 0; i < n; i++) ifindexes.push_back(sock.resolve(host(i)));
      bool built = sock.resolve(ifb(0)) != 0;  // pods left by a previous w2
      for (unsigned long long k = 0; k < repeats; k++) {
        Run r;
        if (workload == "w1") {
          r = run(sock, w1_ops(n));
        } else if (workload == "pod-tbf") {
          r = run(sock, pod_tbf_ops(n));
        } else if (workload == "w2") {
          reset(sock, n);
          r = run(sock, w2_ops(n, ifindexes));
        } else {
          if (!built) {
            reset(sock, n);
            prepare(sock, w2_ops(n, ifindexes), "building the pods to remove");
          }
          r = run(sock, w6_ops(n));
          built = false;
        }
        print(workload.c_str(), n, r);
        failures += r.failures;
      }
    }
  } catch (const SystemError& e) {
    std::fprintf(stderr, "%s (errno %d)\n", e.what(), e.error);
    return 1;
  } catch (const InvalidArgument& e) {
    std::fprintf(stderr, "invalid operation: %s\n", e.what());
    return 1;
  }
  return failures ? 1 : 0;
}
