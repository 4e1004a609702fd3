// The whole augmentation pipeline on one sample (worker/augment.h).
#include "worker/augment.h"

#include <gtest/gtest.h>

#include <set>

namespace nnfleet::worker {
namespace {

Sample random_sample(const Index3& shape, int channels, Rng& rng) {
  Sample s;
  s.resize(channels, 1, shape);
  for (float& v : s.image) v = static_cast<float>(rng.normal());
  for (int8_t& l : s.labels) l = static_cast<int8_t>(rng.randint(-1, 3));
  return s;
}

AugmentSetup setup_for(const std::vector<int64_t>& patch) {
  AugmentSetup setup;
  setup.spatial = make_spatial_setup(patch, true);
  setup.mirror_axes = {patch.size() == 3, true, true};
  return setup;
}

TEST(AugmentSample, ProducesTheFinalPatchWithLabelsFromTheDeclaredSet) {
  for (const auto& patch : std::vector<std::vector<int64_t>>{{8, 10, 12}, {4, 16, 16}, {12, 10}}) {
    const AugmentSetup setup = setup_for(patch);
    AugmentScratch scratch;
    for (int i = 0; i < 60; ++i) {
      Rng rng(1000 + i);
      Sample s = random_sample(setup.spatial.initial_patch, 2, rng);
      augment_sample(s, setup, rng, scratch);
      EXPECT_EQ(s.shape, setup.spatial.final_patch);
      EXPECT_EQ(s.image.size(), 2u * s.voxels());
      for (int8_t l : s.labels) ASSERT_TRUE(l >= -1 && l <= 3) << int(l);
      for (float v : s.image) ASSERT_TRUE(std::isfinite(v));
    }
  }
}

TEST(AugmentSample, IsAFunctionOfTheGenerator) {
  const AugmentSetup setup = setup_for({8, 10, 12});
  AugmentScratch scratch_a, scratch_b;
  for (int i = 0; i < 20; ++i) {
    Rng make(i);
    const Sample original = random_sample(setup.spatial.initial_patch, 1, make);
    Sample a = original, b = original;
    Rng ra(77 + i), rb(77 + i);
    augment_sample(a, setup, ra, scratch_a);
    augment_sample(b, setup, rb, scratch_b);
    EXPECT_EQ(a.image, b.image);
    EXPECT_EQ(a.labels, b.labels);
  }
}

TEST(AugmentSample, DummyTwoDimensionalPatchesKeepSlicesApart) {
  // Each slice of the input holds one constant label: in-plane transforms must not mix slices.
  const AugmentSetup setup = setup_for({4, 20, 20});
  ASSERT_TRUE(setup.spatial.dummy_2d);
  AugmentScratch scratch;
  for (int i = 0; i < 40; ++i) {
    Rng rng(i);
    Sample s;
    s.resize(1, 1, setup.spatial.initial_patch);
    const int64_t plane = s.shape[1] * s.shape[2];
    for (int64_t z = 0; z < s.shape[0]; ++z) {
      std::fill(s.labels.begin() + z * plane, s.labels.begin() + (z + 1) * plane, int8_t(z));
      std::fill(s.image.begin() + z * plane, s.image.begin() + (z + 1) * plane, 1.0f);
    }
    augment_sample(s, setup, rng, scratch);
    const int64_t out_plane = s.shape[1] * s.shape[2];
    for (int64_t z = 0; z < s.shape[0]; ++z) {
      std::set<int> seen(s.labels.begin() + z * out_plane, s.labels.begin() + (z + 1) * out_plane);
      seen.erase(-1);
      EXPECT_LE(seen.size(), 1u);
    }
  }
}

}  // namespace
}  // namespace nnfleet::worker
