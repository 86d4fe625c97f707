// The nf_tables floor: one nfnetlink batch of the operations applyQos planned, sent by netqos's
// engine (nft::encode_operation over PlainReader, NftSocket::execute) with no Node and no N-API,
// timing only encode + execute. bench/nft-qos.ts plans each step with planQos against the state
// the floor itself made (so a change replaces the same rules, by the kernel's handles) and hands
// the operations over as JSON: the floor sends exactly netqos's batch. It asks for no echo and no
// generation check (netqos asks for both): the least work that reaches the same ruleset.
//
//   netqos_nft_floor <netns> <operations.json>
//
// Prints one JSON line: {"workload":"nft","n":<operations>,"seconds":...,"messages":...,
// "sendmsgCalls":...,"failures":...}; exits non-zero when the kernel refused the batch.
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "json_read.h"
#include "nft/nft.h"
#include "nft/nft_socket.h"
#include "plain_fields.h"

using namespace netqos;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <netns> <operations.json>\n", argv[0]);
    return 2;
  }
  try {
    std::ifstream in(argv[2]);
    if (!in) {
      std::fprintf(stderr, "cannot read %s\n", argv[2]);
      return 2;
    }
    std::stringstream text;
    text << in.rdbuf();
    Value ops = bench::parse_json(text.str());
    if (!ops.is_array()) throw std::runtime_error("expected an array of operations");
    nft::NftSocket sock(argv[1]);
    nft::ApplyOutcome out;
    auto start = std::chrono::steady_clock::now();
    {
      nft::NftBatch batch;
      nft::start_batch(batch);
      for (size_t i = 0; i < ops.size(); i++)
        nft::encode_operation(batch, PlainReader(ops.at(i), "ops[" + std::to_string(i) + "]"),
                              static_cast<int32_t>(i));
      nft::finish_batch(batch);
      sock.execute(batch, ops.size(), out);
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    size_t failures = out.batch.error ? 1 : 0;
    std::string first = out.batch.error ? out.batch.message : "";
    for (size_t i = 0; i < out.ops.size(); i++)
      if (out.ops[i].error && !failures++)
        first = "operation " + std::to_string(i) + ": errno " + std::to_string(out.ops[i].error) + " " +
                out.ops[i].message;
    std::printf(
        "{\"workload\":\"nft\",\"n\":%zu,\"seconds\":%.6f,\"messages\":%llu,\"sendmsgCalls\":%llu,"
        "\"failures\":%zu}\n",
        ops.size(), seconds, static_cast<unsigned long long>(sock.messages_sent()),
        static_cast<unsigned long long>(sock.sendmsg_calls()), failures);
    if (failures) std::fprintf(stderr, "nft: %zu failures, first: %s\n", failures, first.c_str());
    return failures ? 1 : 0;
  } catch (const SystemError& e) {
    std::fprintf(stderr, "%s (errno %d)\n", e.what(), e.error);
  } catch (const InvalidArgument& e) {
    std::fprintf(stderr, "invalid operation: %s\n", e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
  }
  return 1;
}
