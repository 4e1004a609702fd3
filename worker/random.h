#pragma once
// Deterministic random numbers for data loading and augmentation.
//
// Note [loader determinism]: every sample of every batch draws from its own generator, seeded from
// (loader seed, batch index, global sample index). The batch a rank receives therefore depends
// neither on thread timing nor on the number of workers, and the samples of a global batch are the
// same whether one rank or N ranks produce it (each rank owns a contiguous range of global sample
// indices, see foreground_flags_for_rank). The draws are implemented here, not with <random>'s
// distributions, so the sequence is the same with every standard library.

#include <cmath>
#include <cstdint>

namespace nnfleet::worker {

// SplitMix64 finaliser: a good 64-bit mixing function.
inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// xoshiro256** seeded through SplitMix64. Not thread-safe: one per sample.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (auto& s : state_) {
      seed = mix64(seed);
      s = seed;
    }
  }
  // Generator for sample `sample_index` of batch `batch_index` (see Note [loader determinism]).
  static Rng for_sample(uint64_t seed, uint64_t batch_index, uint64_t sample_index) {
    return Rng(mix64(mix64(seed) ^ mix64(batch_index * 0x100000001b3ULL + 1)) ^ sample_index);
  }

  uint64_t next_u64() {
    const uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }
  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  // Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [lo, hi] (inclusive; requires lo <= hi).
  int64_t randint(int64_t lo, int64_t hi) {
    const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
    return lo + static_cast<int64_t>(next_u64() % span);
  }
  bool bernoulli(double p) { return uniform() < p; }
  // Standard normal (Box-Muller, one value per call).
  double normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4];
};

}  // namespace nnfleet::worker
