#pragma once
// Bridges between GGUF files on this machine and the protocol's plain types.
#include <functional>
#include <string>

#include "actors/protocol/protocol.hpp"
#include "model/decoder/llama_config.hpp"

namespace llamps {

// The planner's and deployer's view of a model file, from its header alone.
// The model's name is the file's stem ("stories260K" for .../stories260K.gguf).
// The planner's view of the model at path, its KV cache counted in kv (the cache the block
// hosts will keep). Throws model_error.
model_profile profile_of(const std::string& path, kv_type kv = kv_type::f16);

// Pulls the header and the tensors of blocks [order.first, order.last) from the deployer,
// chunk by chunk (one chunk in flight: memory stays bounded), into a sparse file of the
// original's size at the original's offsets, so the ordinary GGUF reader opens it. Returns
// its path. `progress(done, total)` is called after every chunk.
using progress_fn = std::function<void(uint64_t done, uint64_t total)>;
std::string fetch_blocks(caf::actor_system& sys, const deployer_actor& deployer, const load_order& order,
                         const std::string& node_id, const std::string& cache_dir,
                         const progress_fn& progress);

} // namespace llamps
