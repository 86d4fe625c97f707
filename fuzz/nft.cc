// nf_tables replies and notifications (NETLINK_NETFILTER): any bytes, walked as the messages of
// one receive buffer and decoded as objects and as events (what a dump reply or a watching
// handle hands the decoders), through nft::decode_buffer, as the nftDecode binding does.
#include <cstddef>
#include <cstdint>

#include "nft/nft.h"
#include "replies.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  netqos_fuzz::SinkWriter w;
  netqos::nft::decode_buffer(data, size, w);
  return 0;
}
