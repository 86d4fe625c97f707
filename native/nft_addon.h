// N-API side of nf_tables: the NftHandle class (one NETLINK_NETFILTER socket in one namespace)
// and nftEncode (the messages operations would send, for comparing with nft's own).
#pragma once

#include <napi.h>

namespace netqos::nft {

Napi::Function define_handle(Napi::Env env);
Napi::Value encode_for_comparison(const Napi::CallbackInfo& info);
Napi::Value decode_for_comparison(const Napi::CallbackInfo& info);

}  // namespace netqos::nft
