#pragma once
// How the KV cache stores keys and values, and the one formula for what it costs: the block
// hosts, the block profile, the planner and the catalog all count with it.
#include <cstdint>

namespace llamps {

// F16 by default: half the memory of F32, and what llama.cpp uses by default; F32 to compare
// with references made with an F32 cache.
enum class kv_type : uint8_t { f16, f32 };
inline unsigned kv_value_bytes(kv_type t) { return t == kv_type::f16 ? 2 : 4; }

// K and V of one token in one block: kv_dim values each.
inline uint64_t kv_bytes_per_token_per_block(int kv_dim, kv_type t) {
  return 2 * uint64_t(kv_dim) * kv_value_bytes(t);
}

} // namespace llamps
