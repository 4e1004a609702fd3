// Batch split, foreground flags, enlarged patch and crop boxes (worker/patch_sampler.h).
#include "worker/patch_sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "common/error.h"

namespace nnfleet::worker {
namespace {

TEST(RankShare, SplitsLikeNnunetV2) {
  // bs 5 over 2 ranks: 3 + 2; over 3 ranks: 2 + 2 + 1.
  EXPECT_EQ(rank_share(5, 0, 2).start, 0);
  EXPECT_EQ(rank_share(5, 0, 2).count, 3);
  EXPECT_EQ(rank_share(5, 1, 2).start, 3);
  EXPECT_EQ(rank_share(5, 1, 2).count, 2);
  EXPECT_EQ(rank_share(5, 2, 3).start, 4);
  EXPECT_EQ(rank_share(5, 2, 3).count, 1);
}

TEST(RankShare, RejectsMoreRanksThanSamples) {
  EXPECT_THROW(rank_share(2, 0, 3), Error);
  EXPECT_THROW(rank_share(4, 4, 4), Error);
}

TEST(ForegroundFlags, LastThirdOfTheGlobalBatchIsForced) {
  EXPECT_EQ(foreground_flags_for_rank(2, 0, 1, 0.33), (std::vector<bool>{false, true}));
  const auto bs12 = foreground_flags_for_rank(12, 0, 1, 0.33);
  EXPECT_EQ(std::count(bs12.begin(), bs12.end(), true), 4);
  EXPECT_TRUE(bs12[8]);
  EXPECT_FALSE(bs12[7]);
  // bs 9 (hippocampus): round(9 * 0.67) = 6 -> 3 forced.
  const auto bs9 = foreground_flags_for_rank(9, 0, 1, 0.33);
  EXPECT_EQ(std::count(bs9.begin(), bs9.end(), true), 3);
}

TEST(ForegroundFlags, FollowTheGlobalSampleIndexAcrossRanks) {
  EXPECT_EQ(foreground_flags_for_rank(2, 0, 2, 0.33), (std::vector<bool>{false}));
  EXPECT_EQ(foreground_flags_for_rank(2, 1, 2, 0.33), (std::vector<bool>{true}));
  std::vector<bool> joined;
  for (int r = 0; r < 4; ++r) {
    const auto part = foreground_flags_for_rank(12, r, 4, 0.33);
    joined.insert(joined.end(), part.begin(), part.end());
  }
  EXPECT_EQ(joined, foreground_flags_for_rank(12, 0, 1, 0.33));
}

TEST(EnlargedPatch, MatchesNnunetForThreeDimensionalPatches) {
  // Reference values from nnunetv2's get_patch_size (rotation 30 degrees, smallest scale 0.85).
  EXPECT_EQ(make_spatial_setup({40, 56, 40}, true).initial_patch, (Index3{73, 80, 64}));
  EXPECT_EQ(make_spatial_setup({20, 32, 24}, true).initial_patch, (Index3{39, 46, 36}));
}

TEST(EnlargedPatch, MatchesNnunetForTwoDimensionalAndDummy2dPatches) {
  const SpatialSetup two_d = make_spatial_setup({56, 40}, true);
  EXPECT_EQ(two_d.dim, 2);
  EXPECT_EQ(two_d.initial_patch, (Index3{1, 65, 65}));
  EXPECT_EQ(make_spatial_setup({64, 160}, true).initial_patch, (Index3{1, 121, 188}));
  const SpatialSetup dummy = make_spatial_setup({8, 64, 64}, true);
  EXPECT_TRUE(dummy.dummy_2d);
  EXPECT_EQ(dummy.initial_patch, (Index3{8, 75, 75}));
}

TEST(EnlargedPatch, IsTheFinalPatchWithoutAugmentation) {
  const SpatialSetup setup = make_spatial_setup({40, 56, 40}, false);
  EXPECT_EQ(setup.initial_patch, setup.final_patch);
}

TEST(CropBox, RandomBoxesStayWithinNnunetBounds) {
  CaseInfo info;
  info.shape = {10, 20, 30};
  const Index3 patch{12, 16, 40}, final_patch{8, 10, 30};
  Rng rng(1);
  Index3 lo{1000, 1000, 1000}, hi{-1000, -1000, -1000};
  for (int i = 0; i < 4000; ++i) {
    const Box box = choose_crop_box(info, patch, final_patch, false, rng);
    EXPECT_EQ(box.size, patch);
    for (int a = 0; a < 3; ++a) {
      lo[a] = std::min(lo[a], box.lower[a]);
      hi[a] = std::max(hi[a], box.lower[a]);
    }
  }
  // need = (4, 6, 10): lower in [-need/2, shape + need//2 + need%2 - patch].
  EXPECT_EQ(lo, (Index3{-2, -3, -5}));
  EXPECT_EQ(hi, (Index3{0, 7, -5}));
}

TEST(CropBox, ForcedForegroundBoxContainsAStoredVoxel) {
  CaseInfo info;
  info.shape = {30, 30, 30};
  info.class_locations = {{"1", {}}, {"2", {{20, 3, 25}}}};
  Rng rng(7);
  const Index3 patch{10, 10, 10};
  for (int i = 0; i < 20; ++i) {
    const Box box = choose_crop_box(info, patch, patch, true, rng);
    EXPECT_EQ(box.lower, (Index3{15, 0, 20}));  // voxel - patch // 2, clamped below at 0
  }
}

TEST(CropBox, FallsBackToARandomBoxWithoutForeground) {
  CaseInfo info;
  info.shape = {30, 30, 30};
  info.class_locations = {{"1", {}}};
  Rng rng(3);
  const Box box = choose_crop_box(info, {10, 10, 10}, {10, 10, 10}, true, rng);
  for (int a = 0; a < 3; ++a) {
    EXPECT_GE(box.lower[a], 0);
    EXPECT_LE(box.lower[a], 20);
  }
}

TEST(CropBox, TwoDimensionalBoxesPickOneSlice) {
  CaseInfo info;
  info.shape = {5, 20, 20};
  const SpatialSetup setup = make_spatial_setup({16, 16}, false);
  Rng rng(11);
  std::set<int64_t> slices;
  for (int i = 0; i < 500; ++i) {
    const Box box = choose_crop_box(info, setup.initial_patch, setup.final_patch, false, rng);
    EXPECT_EQ(box.size[0], 1);
    slices.insert(box.lower[0]);
  }
  EXPECT_EQ(slices, (std::set<int64_t>{0, 1, 2, 3, 4}));
}

}  // namespace
}  // namespace nnfleet::worker
