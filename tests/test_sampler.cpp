#include <catch2/catch.hpp>

#include <cmath>
#include <map>

#include "model/text/sampler.hpp"

using namespace llamps;

namespace {

sampling_params params(float temperature, float top_p, int top_k, uint64_t seed = 42) {
  sampling_params p;
  p.temperature = temperature;
  p.top_p = top_p;
  p.top_k = top_k;
  p.seed = seed;
  return p;
}

// sample() may overwrite its argument, so every draw gets a fresh copy.
std::vector<int32_t> draws(sampler& s, const std::vector<float>& logits, int n) {
  std::vector<int32_t> out;
  for (int i = 0; i < n; i++) {
    std::vector<float> copy = logits;
    out.push_back(s.sample(copy));
  }
  return out;
}

std::vector<double> frequencies(const std::vector<int32_t>& ids, size_t n_vocab) {
  std::vector<double> f(n_vocab, 0.0);
  for (int32_t id : ids)
    f.at(id) += 1.0 / ids.size();
  return f;
}

const std::vector<float> logits = {1.0f, 2.5f, -0.5f, 0.3f, 2.0f, -2.0f, 1.5f};

} // namespace

TEST_CASE("greedy picks the argmax, ties to the lowest id") {
  sampler s(params(0.0f, 0.9f, 40));
  std::vector<float> l = logits;
  CHECK(s.sample(l) == 1);
  std::vector<float> tie = {0.0f, 3.0f, 1.0f, 3.0f};
  CHECK(s.sample(tie) == 1);
  sampler negative(params(-1.0f, 1.0f, 0));
  std::vector<float> l2 = {-5.0f, -1.0f, -3.0f};
  CHECK(negative.sample(l2) == 1);
}

TEST_CASE("top-k 1 equals greedy at any temperature") {
  for (float t : {0.1f, 0.8f, 1.0f, 5.0f, 1000.0f}) {
    sampler s(params(t, 0.9f, 1, 7));
    for (int32_t id : draws(s, logits, 200))
      CHECK(id == 1);
  }
}

TEST_CASE("the same seed gives the same sequence, another seed another") {
  sampler a(params(1.0f, 0.95f, 5, 1234)), b(params(1.0f, 0.95f, 5, 1234));
  sampler c(params(1.0f, 0.95f, 5, 1235));
  const auto da = draws(a, logits, 500), db = draws(b, logits, 500), dc = draws(c, logits, 500);
  CHECK(da == db);
  CHECK(da != dc);
}

TEST_CASE("temperature 1 without truncation draws from the softmax") {
  sampler s(params(1.0f, 1.0f, 0, 99));
  const int n = 20000;
  const auto f = frequencies(draws(s, logits, n), logits.size());
  double sum = 0;
  for (float l : logits)
    sum += std::exp(l);
  for (size_t i = 0; i < logits.size(); i++) {
    const double p = std::exp(logits[i]) / sum;
    // 5 standard deviations of a frequency over n draws
    CHECK(std::abs(f[i] - p) < 5 * std::sqrt(p * (1 - p) / n) + 1e-9);
  }
}

TEST_CASE("temperature sharpens and flattens the distribution") {
  sampler cold(params(0.3f, 1.0f, 0, 5)), hot(params(3.0f, 1.0f, 0, 5));
  const auto fc = frequencies(draws(cold, logits, 5000), logits.size());
  const auto fh = frequencies(draws(hot, logits, 5000), logits.size());
  CHECK(fc[1] > 0.75); // the best token dominates when cold
  CHECK(fh[1] < 0.35); // and much less when hot
  CHECK(fh[5] > 0.02); // the worst one shows up when hot
}

TEST_CASE("top-p keeps the smallest set above p and renormalises") {
  // probabilities 0.5, 0.3, 0.15, 0.05
  const std::vector<float> l = {std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
  sampler s(params(1.0f, 0.7f, 0, 3));
  const int n = 20000;
  const auto f = frequencies(draws(s, l, n), l.size());
  CHECK(f[2] == 0.0);
  CHECK(f[3] == 0.0);
  CHECK(f[0] == Approx(0.5 / 0.8).margin(0.02));
  CHECK(f[1] == Approx(0.3 / 0.8).margin(0.02));

  sampler wide(params(1.0f, 0.85f, 0, 3)); // 0.5 + 0.3 = 0.8 is not > 0.85: needs the third
  const auto fw = frequencies(draws(wide, l, n), l.size());
  CHECK(fw[2] > 0.1);
  CHECK(fw[3] == 0.0);
}

TEST_CASE("top-p on a flat distribution with a tiny p keeps one token") {
  sampler s(params(1.0f, 0.01f, 0));
  const std::vector<float> flat = {0.0f, 0.0f};
  for (int32_t id : draws(s, flat, 100))
    CHECK(id == 0);
}

TEST_CASE("top-k keeps the k most likely") {
  sampler s(params(1.0f, 1.0f, 3, 11));
  const auto f = frequencies(draws(s, logits, 5000), logits.size());
  std::map<int, bool> allowed = {{1, true}, {4, true}, {6, true}};
  for (size_t i = 0; i < logits.size(); i++) {
    if (allowed.count(static_cast<int>(i)))
      CHECK(f[i] > 0.1);
    else
      CHECK(f[i] == 0.0);
  }
}

TEST_CASE("top-k then top-p work on the renormalised survivors") {
  // probabilities 0.4, 0.3, 0.2, 0.1; top-k 2 leaves 4/7 and 3/7; top-p 0.5 keeps only the
  // first (4/7 > 0.5), though 0.4 alone would not pass p over the full distribution.
  const std::vector<float> l = {std::log(0.4f), std::log(0.3f), std::log(0.2f), std::log(0.1f)};
  sampler s(params(1.0f, 0.5f, 2, 8));
  for (int32_t id : draws(s, l, 500))
    CHECK(id == 0);
}

TEST_CASE("empty logits are an error") {
  sampler s(params(1.0f, 0.9f, 40));
  std::vector<float> none;
  CHECK_THROWS(s.sample(none));
}
