// dist/ pieces that need no peers: batch split, GPU layout check, group layout, bucket layout,
// and GradientSync on a group of one rank.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/error.h"
#include "dist/batch_split.h"
#include "dist/gpu_layout.h"
#include "dist/grad_sync.h"
#include "dist/job_group.h"

namespace nnfleet::dist {
namespace {

TEST(BatchSplit, FollowsNnunetV2UnevenSplit) {
  // 5 samples over 2 ranks: 3 + 2; over 4 ranks: 2 + 1 + 1 + 1.
  EXPECT_EQ(batch_share(5, 0, 2).begin, 0);
  EXPECT_EQ(batch_share(5, 0, 2).end, 3);
  EXPECT_EQ(batch_share(5, 1, 2).begin, 3);
  EXPECT_EQ(batch_share(5, 1, 2).end, 5);
  const int sizes[] = {2, 1, 1, 1};
  int next = 0;
  for (int r = 0; r < 4; ++r) {
    const BatchShare s = batch_share(5, r, 4);
    EXPECT_EQ(s.begin, next);
    EXPECT_EQ(s.size(), sizes[r]);
    next = s.end;
  }
  EXPECT_EQ(next, 5);
  EXPECT_DOUBLE_EQ(loss_scale(5, 0, 2), 3.0 * 2 / 5);
  EXPECT_DOUBLE_EQ(loss_scale(4, 1, 2), 1.0);
}

TEST(BatchSplit, SharesValidationCasesRoundRobin) {
  EXPECT_EQ(round_robin_share(5, 1, 2), (std::vector<std::size_t>{1, 3}));
  EXPECT_EQ(round_robin_share(2, 3, 4), std::vector<std::size_t>{});
}

TEST(BatchSplit, RefusesMoreRanksThanSamples) {
  EXPECT_THROW(batch_share(2, 0, 4), Error);
  EXPECT_THROW(batch_share(4, 4, 4), Error);
}

TEST(GpuLayout, MapsLocalRankModuloVisibleGpus) {
  EXPECT_EQ(gpu_for_local_rank(0, 4), 0);
  EXPECT_EQ(gpu_for_local_rank(5, 4), 1);
  EXPECT_EQ(gpu_for_local_rank(3, 0), -1);
}

std::vector<RankPlacement> layout(const std::vector<std::tuple<int, std::string, std::string>>& l) {
  std::vector<RankPlacement> out;
  for (std::size_t r = 0; r < l.size(); ++r)
    out.push_back({static_cast<int>(r), std::get<0>(l[r]), std::get<1>(l[r]), std::get<2>(l[r])});
  return out;
}

TEST(GpuLayout, AcceptsDisjointGroupsAndCpuRanks) {
  EXPECT_NO_THROW(check_gpu_layout(layout({{0, "a", "cuda:0"}, {0, "a", "cuda:1"},
                                           {1, "a", "cuda:2"}, {1, "a", "cuda:3"},
                                           {2, "b", "cuda:0"}, {3, "c", "cpu"}, {4, "c", "cpu"}})));
}

TEST(GpuLayout, RejectsTwoGroupsOnOneGpu) {
  try {
    check_gpu_layout(layout({{0, "node1", "cuda:0"}, {1, "node1", "cuda:1"},
                             {2, "node1", "cuda:0"}}));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string text = e.what();
    EXPECT_NE(text.find("GPU cuda:0 on host node1"), std::string::npos) << text;
    EXPECT_NE(text.find("group 0"), std::string::npos) << text;
    EXPECT_NE(text.find("group 2"), std::string::npos) << text;
  }
}

TEST(GpuLayout, RejectsOneGroupTwiceOnOneGpu) {
  EXPECT_THROW(check_gpu_layout(layout({{7, "n", "0000:41:00.0"}, {7, "n", "0000:41:00.0"}})),
               Error);
  // Same index on different hosts is fine.
  EXPECT_NO_THROW(check_gpu_layout(layout({{7, "n1", "cuda:0"}, {7, "n2", "cuda:0"}})));
}

TEST(JobGroups, ConsecutiveGroupsCoverTheWorld) {
  const auto groups = consecutive_groups(5, 2);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[2], std::vector<int>{4});
  EXPECT_THROW(consecutive_groups(4, 0), Error);
}

TEST(JobGroups, RejectsBadMemberLists) {
  const Comm world = Comm::borrow(MPI_COMM_WORLD);
  EXPECT_THROW(JobGroup(world, {}, 0, {}), Error);
  EXPECT_THROW(JobGroup(world, {0, 0}, 0, {}), Error);
  EXPECT_THROW(JobGroup(world, {world.size()}, 0, {}), Error);
}

std::vector<torch::Tensor> parameters_of_sizes(const std::vector<int64_t>& sizes) {
  std::vector<torch::Tensor> out;
  for (int64_t n : sizes) out.push_back(torch::zeros({n}, torch::requires_grad()));
  return out;
}

TEST(BucketLayout, FillsInReverseOrderWithinTheCap) {
  // floats: 40, 4000, 28, 80000, 20 bytes; cap 4096 bytes.
  const auto params = parameters_of_sizes({10, 1000, 7, 20000, 5});
  const auto buckets = plan_buckets(params, 4096);
  ASSERT_EQ(buckets.size(), 3u);
  EXPECT_EQ(buckets[0].params, (std::vector<std::size_t>{4}));  // 20 B, then 80000 B overflows
  EXPECT_EQ(buckets[1].params, (std::vector<std::size_t>{3}));  // alone: larger than the cap
  EXPECT_EQ(buckets[2].params, (std::vector<std::size_t>{2, 1, 0}));
  EXPECT_EQ(buckets[2].offsets, (std::vector<int64_t>{0, 7, 1007}));
  EXPECT_EQ(buckets[2].numel, 1017);
  EXPECT_EQ(plan_buckets(params, 0).size(), params.size());
  EXPECT_EQ(plan_buckets(params, 1u << 30).size(), 1u);
}

TEST(BucketLayout, NeverMixesDtypes) {
  std::vector<torch::Tensor> params{torch::zeros({4}), torch::zeros({4}, torch::kDouble),
                                    torch::zeros({4})};
  EXPECT_EQ(plan_buckets(params, 1u << 20).size(), 3u);
}

TEST(GradientSyncSingleRank, KeepsGradientsAndFillsMissingOnes) {
  const Comm world = Comm::borrow(MPI_COMM_WORLD);
  JobGroup group(world, {world.rank()}, 0, {"unit", std::chrono::seconds(30)});
  auto params = parameters_of_sizes({3, 5});
  params[0].mutable_grad() = torch::arange(3, torch::kFloat);
  GradientSync sync(group.comm(), params, 8);
  sync.synchronize();
  EXPECT_TRUE(torch::equal(params[0].grad(), torch::arange(3, torch::kFloat)));
  ASSERT_TRUE(params[1].grad().defined());
  EXPECT_EQ(params[1].grad().abs().sum().item<float>(), 0.0f);
  EXPECT_EQ(sync.bytes_per_step(), 8 * 4);
  EXPECT_FALSE(sync.uses_nccl());
}

TEST(GradientSyncSingleRank, SecondBackwardAfterBucketStartedIsAnError) {
  const Comm world = Comm::borrow(MPI_COMM_WORLD);
  JobGroup group(world, {world.rank()}, 0, {"unit", std::chrono::seconds(30)});
  auto w = torch::ones({4}, torch::requires_grad());
  GradientSync sync(group.comm(), {w});
  (w * 2).sum().backward();
  EXPECT_THROW((w * 3).sum().backward(), std::exception);
  sync.synchronize();
  sync.set_overlap(false);
  (w * 2).sum().backward();
  (w * 2).sum().backward();  // accumulation is fine without overlap
  sync.synchronize();
  EXPECT_TRUE(torch::allclose(w.grad(), torch::full({4}, 6.0f)));  // 2 (synchronised) + 2 + 2
}

}  // namespace
}  // namespace nnfleet::dist
