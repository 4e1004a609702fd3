// Tile positions, the Gaussian importance map and padding against values computed by nnunetv2
// (tests/data/predictor/make_fixtures.py).
#include "worker/sliding_window.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "common/error.h"
#include "tests/support/test_paths.h"

namespace nnfleet::worker {
namespace {

nlohmann::json fixtures() {
  std::ifstream in(test::test_data() / "predictor" / "sliding_window_fixtures.json");
  return nlohmann::json::parse(in);
}

TEST(SlidingWindowSteps, MatchesNnunetv2ForKnownSizes) {
  for (const auto& c : fixtures()["steps"]) {
    const auto steps = sliding_window_steps(c["image"].get<std::vector<int64_t>>(),
                                            c["tile"].get<std::vector<int64_t>>(),
                                            c["step"].get<double>());
    EXPECT_EQ(steps, c["steps"].get<std::vector<std::vector<int64_t>>>()) << c["image"].dump();
  }
}

TEST(SlidingWindowSteps, RoundsHalfToEvenLikeNumpy) {
  // (97 - 64) / 2 = 16.5 -> 16
  EXPECT_EQ(sliding_window_steps({97}, {64}, 0.5), (std::vector<std::vector<int64_t>>{{0, 16, 33}}));
}

TEST(SlidingWindowSteps, RejectsImageSmallerThanTileAndBadStep) {
  EXPECT_THROW(sliding_window_steps({30, 64}, {32, 64}, 0.5), Error);
  EXPECT_THROW(sliding_window_steps({64, 64}, {32, 64}, 0.0), Error);
  EXPECT_THROW(sliding_window_steps({64, 64}, {32, 64}, 1.5), Error);
  EXPECT_THROW(sliding_window_steps({64, 64, 3}, {32, 64}, 0.5), Error);
}

TEST(GaussianImportanceMap, MatchesNnunetv2Float32) {
  for (const auto& c : fixtures()["gaussian"]) {
    const auto tile = c["tile"].get<std::vector<int64_t>>();
    const std::vector<double> map = gaussian_importance_map(tile);
    std::vector<float> f(map.begin(), map.end());
    replace_zeros_by_min(f);
    const auto& ref = c["float32"];
    const auto index = ref["index"].get<std::vector<int64_t>>();
    const auto values = ref["values"].get<std::vector<double>>();
    for (size_t i = 0; i < index.size(); ++i)
      EXPECT_NEAR(f[static_cast<size_t>(index[i])], values[i], 1e-6 * std::max(1.0, values[i]))
          << c["tile"].dump() << " at " << index[i];
    double sum = 0;
    for (float v : f) sum += v;
    EXPECT_NEAR(sum, ref["sum"].get<double>(), 1e-4 * ref["sum"].get<double>());
    EXPECT_FLOAT_EQ(*std::min_element(f.begin(), f.end()), ref["min"].get<float>());
    EXPECT_FLOAT_EQ(*std::max_element(f.begin(), f.end()), 10.0f);
  }
}

TEST(GaussianImportanceMap, PeaksAtCentreIsSymmetricAndPositive) {
  const std::vector<int64_t> tile{8, 10, 12};
  std::vector<double> d = gaussian_importance_map(tile);
  std::vector<float> map(d.begin(), d.end());
  replace_zeros_by_min(map);
  auto at = [&](int64_t z, int64_t y, int64_t x) { return map[static_cast<size_t>((z * 10 + y) * 12 + x)]; };
  EXPECT_FLOAT_EQ(at(4, 5, 6), 10.0f);
  EXPECT_FLOAT_EQ(at(3, 5, 6), at(5, 5, 6));
  EXPECT_FLOAT_EQ(at(4, 2, 6), at(4, 8, 6));
  EXPECT_GT(at(4, 5, 6), at(4, 5, 7));
  EXPECT_GT(*std::min_element(map.begin(), map.end()), 0.0f);
}

TEST(GaussianImportanceMap, ZeroMapIsAnError) {
  std::vector<float> zeros(5, 0.0f);
  EXPECT_THROW(replace_zeros_by_min(zeros), Error);
}

TEST(TilePadding, CentresWithTheOddVoxelAboveLikeNnunetv2) {
  for (const auto& c : fixtures()["padding"]) {
    const TilePadding pad = padding_for_tile(c["shape"].get<std::vector<int64_t>>(),
                                             c["patch"].get<std::vector<int64_t>>());
    EXPECT_EQ(pad.padded_shape, c["padded"].get<std::vector<int64_t>>());
    EXPECT_EQ(pad.before, c["before"].get<std::vector<int64_t>>());
    EXPECT_TRUE(pad.needed());
  }
  EXPECT_FALSE(padding_for_tile({40, 60}, {40, 56}).needed());
}

}  // namespace
}  // namespace nnfleet::worker
