#pragma once
// Picks the next token from logits: greedy (temperature 0), temperature, top-k, top-p.
// Seeded, so a given seed reproduces a given run.
#include <cstdint>
#include <random>
#include <vector>

namespace llamps {

struct sampling_params {
  float temperature = 0.8f; // 0 = greedy
  float top_p = 0.9f;       // 1 = off
  int top_k = 40;           // 0 = off
  uint64_t seed = 42;
};

class sampler {
public:
  explicit sampler(const sampling_params& p);
  int32_t sample(std::vector<float>& logits); // may modify logits
  const sampling_params& params() const { return params_; }

private:
  sampling_params params_;
  std::mt19937_64 rng_;
};

} // namespace llamps
