// Intensity transforms with known answers (worker/augment_intensity.h).
#include "worker/augment_intensity.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

namespace nnfleet::worker {
namespace {

std::vector<float> ramp(int64_t n) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>(std::sin(0.37 * i) * 10 + i * 0.1);
  return v;
}

TEST(Gamma, GammaOfOneIsTheIdentity) {
  for (bool invert : {false, true}) {
    for (bool retain : {false, true}) {
      auto v = ramp(500);
      const auto original = v;
      apply_gamma(v.data(), 500, 1.0, invert, retain);
      for (size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(v[i], original[i], 1e-3);
    }
  }
}

TEST(Gamma, RetainsMeanAndStd) {
  auto v = ramp(1000);
  const double mean0 = std::accumulate(v.begin(), v.end(), 0.0) / v.size();
  apply_gamma(v.data(), 1000, 1.4, false, true);
  const double mean1 = std::accumulate(v.begin(), v.end(), 0.0) / v.size();
  EXPECT_NEAR(mean0, mean1, 1e-3);
}

TEST(Gamma, SquaresTheNormalisedValues) {
  std::vector<float> v{0, 1, 2, 4};
  apply_gamma(v.data(), 4, 2.0, false, false);
  EXPECT_NEAR(v[1], 0.25, 1e-5);  // ((1 - 0) / 4)^2 * 4
  EXPECT_NEAR(v[2], 1.0, 1e-5);
  EXPECT_NEAR(v[3], 4.0, 1e-5);
}

TEST(Noise, SigmaZeroChangesNothing) {
  auto v = ramp(100);
  const auto original = v;
  Rng rng(1);
  add_gaussian_noise(v.data(), 100, 0.0, rng);
  EXPECT_EQ(v, original);
}

TEST(Noise, HasTheRequestedStandardDeviation) {
  std::vector<float> v(20000, 0.0f);
  Rng rng(2);
  add_gaussian_noise(v.data(), 20000, 0.1, rng);
  double sq = 0;
  for (float x : v) sq += x * x;
  EXPECT_NEAR(std::sqrt(sq / v.size()), 0.1, 0.005);
}

TEST(Blur, KeepsAConstantImageAndItsShape) {
  std::vector<float> v(4 * 5 * 6, 3.0f), scratch;
  gaussian_blur(v.data(), {4, 5, 6}, {0.7, 1.0, 0.5}, scratch);
  for (float x : v) EXPECT_NEAR(x, 3.0f, 1e-5);
}

TEST(Blur, SpreadsAnImpulseSymmetricallyAndKeepsItsSum) {
  std::vector<float> v(1 * 1 * 21, 0.0f), scratch;
  v[10] = 1.0f;
  gaussian_blur(v.data(), {1, 1, 21}, {0, 0, 1.0}, scratch);
  EXPECT_NEAR(std::accumulate(v.begin(), v.end(), 0.0), 1.0, 1e-5);
  EXPECT_NEAR(v[9], v[11], 1e-7);
  EXPECT_NEAR(v[10], 0.4026, 1e-3);  // 5 taps (round-to-odd(4.5)), normalised
}

TEST(Brightness, MultipliesEveryVoxel) {
  std::vector<float> v{1, -2, 3};
  multiply_brightness(v.data(), 3, 1.25);
  EXPECT_EQ(v, (std::vector<float>{1.25f, -2.5f, 3.75f}));
}

TEST(Contrast, StretchesAroundTheMeanWithinTheOriginalRange) {
  std::vector<float> v{0, 1, 2, 3, 4};
  adjust_contrast(v.data(), 5, 2.0);
  EXPECT_EQ(v, (std::vector<float>{0, 0, 2, 4, 4}));
  std::vector<float> w{0, 1, 2, 3, 4};
  adjust_contrast(w.data(), 5, 0.5);
  EXPECT_EQ(w, (std::vector<float>{1, 1.5, 2, 2.5, 3}));
}

TEST(LowResolution, ZoomOneIsTheIdentity) {
  auto v = ramp(3 * 4 * 5);
  const auto original = v;
  std::vector<float> scratch;
  simulate_low_resolution(v.data(), {3, 4, 5}, 1.0, {false, false, false}, scratch);
  for (size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(v[i], original[i], 1e-5);
}

TEST(LowResolution, HalfZoomMakesPairsOfEqualValuesAlongAKeptAxisFreeLine) {
  std::vector<float> v{0, 1, 2, 3, 4, 5, 6, 7}, scratch;
  simulate_low_resolution(v.data(), {1, 1, 8}, 0.5, {true, true, false}, scratch);
  // nearest-exact down to {1, 3, 5, 7}; linear up (align_corners false):
  // 1, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7
  const std::vector<float> expected{1, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7};
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(v[i], expected[i], 1e-5) << i;
}

TEST(DrawAroundOne, StaysInTheRangeAndSplitsAtOne) {
  Rng rng(5);
  int below = 0;
  for (int i = 0; i < 2000; ++i) {
    const double f = draw_around_one(rng, 0.75, 1.25);
    EXPECT_GE(f, 0.75);
    EXPECT_LT(f, 1.25);
    below += f < 1 ? 1 : 0;
  }
  EXPECT_NEAR(below / 2000.0, 0.5, 0.05);
}

}  // namespace
}  // namespace nnfleet::worker
