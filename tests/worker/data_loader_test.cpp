// The threaded loader end to end on small generated case files (worker/data_loader.h).
#include "worker/data_loader.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "common/error.h"
#include "tests/support/test_paths.h"
#include "tests/worker/case_file_writer.h"

namespace nnfleet::worker {
namespace {

// Six cases of shape (10, 12, 14): cases 0-4 have label 1 at one voxel and label 2 at another,
// case 5 has no foreground; voxels outside a central box are -1 (outside the non-zero mask).
class DataLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::scratch_dir("data_loader");
    for (int i = 0; i < 6; ++i) {
      std::map<int, std::vector<std::array<int64_t, 3>>> labelled;
      if (i < 5) labelled = {{1, {{2 + i, 3, 4}}}, {2, {{7, 9, 1 + i}}}};
      auto c = test::make_indexed_case(2, {10, 12, 14}, labelled);
      for (int64_t x = 0; x < 14; ++x) c.seg[x] = -1;  // first row of slice 0
      test::write_case_file(dir_ / (name(i) + ".h5"), c);
      cases_.push_back(name(i));
    }
  }
  static std::string name(int i) { return "case_" + std::to_string(i); }

  LoaderOptions options(std::vector<int64_t> patch, int batch, bool augment) const {
    LoaderOptions o;
    o.case_folder = dir_;
    o.cases = cases_;
    o.patch_size = std::move(patch);
    o.global_batch_size = batch;
    o.augment = augment;
    o.labels = {0, 1, 2};
    o.num_workers = 2;
    o.seed = 42;
    return o;
  }

  std::filesystem::path dir_;
  std::vector<std::string> cases_;
};

TEST_F(DataLoaderTest, ProducesBatchesOfTheAgreedShapes) {
  auto o = options({8, 8, 8}, 3, true);
  o.ds_scales = {{1, 1, 1}, {0.5, 0.5, 0.5}, {0.25, 0.25, 0.25}};
  o.mirror_axes = {0, 1, 2};
  DataLoader loader(o);
  EXPECT_EQ(loader.local_batch_size(), 3);
  for (int k = 0; k < 5; ++k) {
    const Batch b = loader.next();
    EXPECT_EQ(b.data.sizes(), (std::vector<int64_t>{3, 2, 8, 8, 8}));
    ASSERT_EQ(b.target.size(), 3u);
    EXPECT_EQ(b.target[0].sizes(), (std::vector<int64_t>{3, 1, 8, 8, 8}));
    EXPECT_EQ(b.target[1].sizes(), (std::vector<int64_t>{3, 1, 4, 4, 4}));
    EXPECT_EQ(b.target[2].sizes(), (std::vector<int64_t>{3, 1, 2, 2, 2}));
    EXPECT_EQ(b.data.dtype(), torch::kFloat32);
    EXPECT_EQ(b.cases.size(), 3u);
    for (const auto& t : b.target) {
      EXPECT_GE(t.min().item<float>(), 0.0f);  // -1 mapped to 0
      EXPECT_LE(t.max().item<float>(), 2.0f);
    }
  }
}

TEST_F(DataLoaderTest, TwoDimensionalPatchesDropTheDepthAxis) {
  auto o = options({8, 10}, 2, true);
  o.ds_scales = {{1, 1}, {0.5, 0.5}};
  DataLoader loader(o);
  const Batch b = loader.next();
  EXPECT_EQ(b.data.sizes(), (std::vector<int64_t>{2, 2, 8, 10}));
  EXPECT_EQ(b.target[1].sizes(), (std::vector<int64_t>{2, 1, 4, 5}));
}

TEST_F(DataLoaderTest, WithoutAugmentationPatchesAreCropsOfTheImage) {
  DataLoader loader(options({4, 5, 6}, 2, false));
  for (int k = 0; k < 10; ++k) {
    const Batch b = loader.next();
    const auto d = b.data[0][0];  // image value = linear voxel index where inside
    const float v0 = d[1][1][1].item<float>(), v1 = d[1][1][2].item<float>();
    if (v0 > 0 && v1 > 0) EXPECT_EQ(v1 - v0, 1.0f);
  }
}

TEST_F(DataLoaderTest, OversamplingForcesForegroundIntoTheLastThird) {
  // bs 3: round(3 * 0.67) = 2, so sample 2 is forced, 0 and 1 are random.
  auto o = options({3, 3, 3}, 3, false);
  o.cases.pop_back();  // every remaining case has foreground
  DataLoader loader(o);
  int random_with_fg = 0, forced_with_fg = 0;
  const int batches = 150;
  for (int k = 0; k < batches; ++k) {
    const Batch b = loader.next();
    for (int j = 0; j < 3; ++j) {
      const bool fg = b.target[0][j].max().item<float>() > 0;
      (j == 2 ? forced_with_fg : random_with_fg) += fg ? 1 : 0;
    }
  }
  EXPECT_EQ(forced_with_fg, batches);
  // Two foreground voxels in 10 x 12 x 14: a random 3^3 patch rarely holds one (about 3 %).
  EXPECT_LT(random_with_fg, 2 * batches * 0.1);
}

TEST_F(DataLoaderTest, CasesWithoutForegroundFallBackToRandomPatches) {
  auto o = options({3, 3, 3}, 1, false);
  o.cases = {name(5)};
  o.oversample_foreground = 1.0;
  DataLoader loader(o);
  for (int k = 0; k < 5; ++k) EXPECT_EQ(loader.next().target[0].max().item<float>(), 0.0f);
}

TEST_F(DataLoaderTest, RankSharesJoinToTheSingleRankBatch) {
  auto o = options({6, 6, 6}, 5, true);
  o.mirror_axes = {0, 1, 2};
  DataLoader whole(o);
  std::vector<std::unique_ptr<DataLoader>> parts;
  for (int r = 0; r < 2; ++r) {
    auto po = o;
    po.group_rank = r;
    po.group_size = 2;
    parts.push_back(std::make_unique<DataLoader>(po));
  }
  EXPECT_EQ(parts[0]->local_batch_size(), 3);
  EXPECT_EQ(parts[1]->local_batch_size(), 2);
  for (int k = 0; k < 3; ++k) {
    const Batch all = whole.next();
    const Batch a = parts[0]->next(), b = parts[1]->next();
    EXPECT_TRUE(torch::equal(all.data, torch::cat({a.data, b.data})));
    EXPECT_TRUE(torch::equal(all.target[0], torch::cat({a.target[0], b.target[0]})));
  }
}

TEST_F(DataLoaderTest, DeterministicForASeedWhateverTheWorkerCount) {
  auto o = options({6, 6, 6}, 2, true);
  o.mirror_axes = {0, 1, 2};
  o.num_workers = 1;
  DataLoader one(o);
  o.num_workers = 3;
  DataLoader three(o);
  o.seed = 43;
  DataLoader other_seed(o);
  bool any_difference = false;
  for (int k = 0; k < 8; ++k) {
    const Batch a = one.next(), b = three.next(), c = other_seed.next();
    EXPECT_TRUE(torch::equal(a.data, b.data)) << k;
    EXPECT_TRUE(torch::equal(a.target[0], b.target[0])) << k;
    EXPECT_EQ(a.cases, b.cases);
    any_difference = any_difference || !torch::equal(a.data, c.data);
  }
  EXPECT_TRUE(any_difference);
}

TEST_F(DataLoaderTest, AWorkerErrorReachesNextNamingTheCase) {
  std::ofstream(dir_ / "broken_case.h5") << "not an HDF5 file";
  auto o = options({4, 4, 4}, 2, true);
  o.cases = {name(0), "broken_case"};
  DataLoader loader(o);
  bool thrown = false;
  for (int k = 0; k < 20 && !thrown; ++k) {
    try {
      loader.next();
    } catch (const Error& e) {
      thrown = true;
      EXPECT_NE(std::string(e.what()).find("broken_case"), std::string::npos) << e.what();
    }
  }
  EXPECT_TRUE(thrown);
}

TEST_F(DataLoaderTest, DestructionDoesNotWaitForUnclaimedBatches) {
  auto o = options({8, 8, 8}, 4, true);
  o.num_workers = 4;
  o.queue_depth = 2;
  for (int i = 0; i < 5; ++i) {
    DataLoader loader(o);
    if (i % 2 == 0) loader.next();
  }
  SUCCEED();
}

TEST_F(DataLoaderTest, RejectsBadOptionsWithTheValue) {
  auto o = options({8, 8, 8}, 2, true);
  o.mirror_axes = {3};
  EXPECT_THROW(DataLoader{o}, Error);
  o = options({8, 8, 8}, 2, true);
  o.group_size = 3;
  EXPECT_THROW(DataLoader{o}, Error);
  o = options({8, 8, 8}, 2, true);
  o.case_folder = dir_ / "missing";
  EXPECT_THROW(DataLoader{o}, Error);
}

TEST_F(DataLoaderTest, CascadeAppendsOneHotChannelsOfThePreviousStage) {
  const auto prev_dir = test::scratch_dir("data_loader_prev");
  for (const auto& c : cases_) {
    std::vector<int8_t> prev(10 * 12 * 14);
    for (size_t i = 0; i < prev.size(); ++i) prev[i] = int8_t(i % 3);
    test::write_seg_prev_file(prev_dir / (c + ".h5"), {10, 12, 14}, prev);
  }
  auto o = options({6, 6, 6}, 2, true);
  o.previous_stage_folder = prev_dir;
  DataLoader loader(o);
  for (int k = 0; k < 4; ++k) {
    const Batch b = loader.next();
    ASSERT_EQ(b.data.size(1), 4);  // 2 image channels + labels 1 and 2
    const auto one_hot = b.data.narrow(1, 2, 2);
    EXPECT_TRUE(torch::all((one_hot == 0) | (one_hot == 1)).item<bool>());
    EXPECT_LE(one_hot.sum(1).max().item<float>(), 1.0f);
  }
}

}  // namespace
}  // namespace nnfleet::worker
