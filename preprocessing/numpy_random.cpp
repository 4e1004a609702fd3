#include "preprocessing/numpy_random.h"

#include <numeric>

#include "common/error.h"

namespace nnfleet::preprocessing {

uint64_t NumpyLegacyRandom::interval(uint64_t max) {
  if (max == 0) return 0;
  NNFLEET_CHECK(max <= 0xFFFFFFFFull, "bounded draw above 2^32 is not implemented");
  uint64_t mask = max;
  for (int shift : {1, 2, 4, 8, 16, 32}) mask |= mask >> shift;
  uint64_t v;
  do {
    v = static_cast<uint32_t>(mt_()) & mask;
  } while (v > max);
  return v;
}

std::vector<int64_t> NumpyLegacyRandom::choice_without_replacement(int64_t n, int64_t k) {
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), int64_t{0});
  for (int64_t i = n - 1; i >= 1; --i) {
    const auto j = static_cast<int64_t>(interval(static_cast<uint64_t>(i)));
    std::swap(perm[i], perm[j]);
  }
  perm.resize(static_cast<size_t>(std::min(k, n)));
  return perm;
}

}  // namespace nnfleet::preprocessing
