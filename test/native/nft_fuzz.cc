// libFuzzer entry for the nf_tables decoders: any bytes, walked as netlink messages and decoded as
// objects and as notifications (what a dump reply or a monitor socket hands them). Build:
//   cmake -S native -B build-fuzz -DNETQOS_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ && cmake --build build-fuzz
//   --target nft_fuzz build-fuzz/nft_fuzz -max_total_time=60 CORPUS_DIR
// A corpus: the messages of test/fixtures/nft-requests.json, one file each.
#include <cstddef>
#include <cstdint>

#include "nft/nft.h"
#include "plain_fields.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  netqos::Value root = netqos::Value::object();
  netqos::PlainWriter w(root);
  netqos::nft::decode_buffer(data, size, w);
  return 0;
}
