#pragma once
#include <cstdint>
#include <vector>

namespace llamps {

// How tensors cross the border out of model/: a shape and row-major float data. The actor
// and runtime code never see model/'s own buffers; hidden states travel between block hosts
// in this form.
struct tensor_data {
  std::vector<int64_t> shape; // e.g. {n_tokens, n_embd}
  std::vector<float> values;

  int64_t rows() const { return shape.empty() ? 0 : shape.front(); }
  int64_t cols() const { return shape.empty() ? 0 : shape.back(); }
};

} // namespace llamps
