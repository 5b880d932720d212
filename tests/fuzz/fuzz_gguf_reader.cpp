// libFuzzer target: any byte string must either open as a GGUF (then every tensor reads) or
// fail with model_error; never crash, hang, leak or allocate beyond the input's size.
// FUZZ_SOURCES: model/gguf/gguf.cpp model/gguf/gguf_parse.cpp model/gguf/gguf_types.cpp model/quant/formats.cpp model/decoder/llama_config.cpp
#include <cstddef>
#include <cstdint>
#include <vector>

#include "model/gguf/gguf.hpp"
#include "model/decoder/llama_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto f = llamps::gguf::file::open_memory(data, size, "fuzz.gguf");
    (void)f.identity();
    std::vector<float> out;
    for (const auto& t : f.tensors()) {
      out.resize(t.n_elements()); // bounded: the tensor's bytes are inside the input
      f.read_f32(t, out.data());
    }
    (void)llamps::read_block_profile(f); // includes read_llama_config
  } catch (const llamps::model_error&) {
  }
  return 0;
}
