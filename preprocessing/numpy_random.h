#pragma once
// numpy's legacy RandomState draws that nnU-Net's preprocessing uses, reproduced exactly so that
// our samples equal the reference's: RandomState(seed) is a 32-bit Mersenne Twister seeded with
// init_genrand (std::mt19937's seeding), and bounded integers are drawn by masking a 32-bit output
// to the next power of two minus one and redrawing while above the bound.

#include <cstdint>
#include <random>
#include <vector>

namespace nnfleet::preprocessing {

class NumpyLegacyRandom {
 public:
  explicit NumpyLegacyRandom(uint32_t seed) : mt_(seed) {}
  // A value in [0, max] (random_interval); no draw when max == 0. max < 2^32.
  uint64_t interval(uint64_t max);
  // randint(0, n): interval(n - 1).
  uint64_t below(uint64_t n) { return interval(n - 1); }
  // choice(n, k, replace=False) = permutation(n)[:k].
  std::vector<int64_t> choice_without_replacement(int64_t n, int64_t k);

 private:
  std::mt19937 mt_;
};

}  // namespace nnfleet::preprocessing
