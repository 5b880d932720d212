// Sampling as llama2.c's run.c does it (argmax, softmax, multinomial, nucleus), plus top-k.
#include "model/text/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace llamps {

namespace {

struct prob_index {
  float prob;
  int32_t index;
};

// Highest probability first; equal probabilities by lowest id, so the order (and so the
// draw) does not depend on the sort algorithm of the standard library at hand.
bool more_likely(const prob_index& a, const prob_index& b) {
  return a.prob > b.prob || (a.prob == b.prob && a.index < b.index);
}

// Ties go to the lowest id, like llama2.c (strict > while scanning upwards).
int32_t argmax(const std::vector<float>& v) {
  size_t best = 0;
  for (size_t i = 1; i < v.size(); i++)
    if (v[i] > v[best])
      best = i;
  return static_cast<int32_t>(best);
}

// In place: logits become probabilities of softmax(logits / temperature). The maximum is
// subtracted before dividing so that a tiny temperature gives -inf (weight 0), never NaN.
void softmax(std::vector<float>& x, float temperature) {
  const float max = *std::max_element(x.begin(), x.end());
  double sum = 0;
  for (float& v : x) {
    v = std::exp((v - max) / temperature);
    sum += v;
  }
  for (float& v : x)
    v = static_cast<float>(v / sum);
}

// Plain multinomial draw over all of probs (coin in [0,1)).
int32_t sample_mult(const std::vector<float>& probs, double coin) {
  double cdf = 0;
  for (size_t i = 0; i < probs.size(); i++) {
    cdf += probs[i];
    if (coin < cdf)
      return static_cast<int32_t>(i);
  }
  return static_cast<int32_t>(probs.size() - 1); // rounding left the cdf just below 1
}

// Top-k, then top-p (llama2.c's sample_topp) over the survivors: keep the most likely
// tokens, then the smallest prefix of them whose renormalised mass exceeds top_p, and draw
// from that prefix in proportion to the kept probabilities.
int32_t sample_truncated(const std::vector<float>& probs, int top_k, float top_p, double coin) {
  const size_t n = probs.size();
  const bool use_p = top_p > 0 && top_p < 1;
  std::vector<prob_index> cand;
  cand.reserve(n);
  // Without top-k a token below (1 - top_p) / (n - 1) can never be in the nucleus (the
  // tokens above it would have to hold more than top_p already): drop it before sorting.
  const float cutoff = (use_p && top_k <= 0 && n > 1) ? (1.0f - top_p) / static_cast<float>(n - 1) : 0.0f;
  for (size_t i = 0; i < n; i++)
    if (probs[i] >= cutoff)
      cand.push_back({probs[i], static_cast<int32_t>(i)});
  if (cand.empty()) { // top_p < 1/n and a flat distribution: the nucleus is the top token
    const int32_t best = argmax(probs);
    cand.push_back({probs[best], best});
  }

  size_t keep = cand.size();
  if (top_k > 0 && static_cast<size_t>(top_k) < keep)
    keep = static_cast<size_t>(top_k);
  std::partial_sort(cand.begin(), cand.begin() + keep, cand.end(), more_likely);
  cand.resize(keep);

  double total = 0;
  for (const auto& c : cand)
    total += c.prob;
  if (use_p) {
    // Smallest prefix whose share of the kept mass is > top_p.
    const double target = top_p * total;
    double cumulative = 0;
    size_t last = cand.size() - 1;
    for (size_t i = 0; i < cand.size(); i++) {
      cumulative += cand[i].prob;
      if (cumulative > target) {
        last = i;
        break;
      }
    }
    cand.resize(last + 1);
    total = cumulative;
  }

  const double r = coin * total;
  double cdf = 0;
  for (const auto& c : cand) {
    cdf += c.prob;
    if (r < cdf)
      return c.index;
  }
  return cand.back().index;
}

} // namespace

sampler::sampler(const sampling_params& p) : params_(p), rng_(p.seed) {}

int32_t sampler::sample(std::vector<float>& logits) {
  if (logits.empty())
    throw std::invalid_argument("sampler: empty logits");
  // top-k = 1 is greedy whatever the temperature; taking the argmax of the logits directly
  // avoids ties that a huge temperature could create among the probabilities.
  if (params_.temperature <= 0 || params_.top_k == 1)
    return argmax(logits);

  softmax(logits, params_.temperature);
  // A double in [0,1) from the top 53 bits: mt19937_64 is specified exactly by the standard
  // but std::uniform_real_distribution is not, and every node must draw the same coin.
  const double coin = static_cast<double>(rng_() >> 11) * 0x1.0p-53;

  const bool use_k = params_.top_k > 0 && static_cast<size_t>(params_.top_k) < logits.size();
  const bool use_p = params_.top_p > 0 && params_.top_p < 1;
  if (!use_k && !use_p)
    return sample_mult(logits, coin);
  return sample_truncated(logits, use_k ? params_.top_k : 0, params_.top_p, coin);
}

} // namespace llamps
