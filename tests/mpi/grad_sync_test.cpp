// Gradient synchronisation over groups, run with 2 and 4 ranks (CPU, MPI path).
#include "dist/grad_sync.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "dist/batch_split.h"
#include "dist/job_group.h"

namespace nnfleet::dist {
namespace {

const Comm& world() {
  static Comm w = Comm::borrow(MPI_COMM_WORLD);
  return w;
}

// The whole world as one job group.
JobGroup whole_world(const std::string& job) {
  std::vector<int> members(static_cast<std::size_t>(world().size()));
  for (int r = 0; r < world().size(); ++r) members[static_cast<std::size_t>(r)] = r;
  return JobGroup(world(), members, 100, {job, std::chrono::seconds(120)});
}

// Parameter i of rank r gets the gradient (r + 1) * (i + 1) * (0, 1, 2, ...).
torch::Tensor rank_gradient(int rank, std::size_t i, const torch::Tensor& p) {
  return torch::arange(p.numel(), p.options().requires_grad(false)).view(p.sizes()) *
         static_cast<double>((rank + 1) * (i + 1));
}

void expect_averaged(const std::vector<torch::Tensor>& params, int group_size) {
  // mean over ranks of (r + 1) = (n + 1) / 2
  const double mean_factor = (group_size + 1) / 2.0;
  for (std::size_t i = 0; i < params.size(); ++i) {
    torch::Tensor expected = rank_gradient(0, i, params[i]) * mean_factor;
    EXPECT_TRUE(torch::allclose(params[i].grad(), expected, 1e-6, 1e-6))
        << "parameter " << i << ": max difference "
        << (params[i].grad() - expected).abs().max().item<double>();
  }
}

TEST(GradientSync, AveragesUnevenBucketsLikeTheSum) {
  JobGroup group = whole_world("uneven-buckets");
  const std::vector<std::vector<int64_t>> shapes{{3}, {10, 100}, {7}, {20000}, {2, 2, 5}, {1}};
  for (std::size_t cap : {std::size_t{0}, std::size_t{4096}, std::size_t{1} << 30}) {
    std::vector<torch::Tensor> params;
    for (const auto& s : shapes) params.push_back(torch::zeros(s, torch::requires_grad()));
    for (std::size_t i = 0; i < params.size(); ++i)
      params[i].mutable_grad() = rank_gradient(group.rank(), i, params[i]);
    GradientSync sync(group.comm(), params, cap);
    if (cap == 4096) EXPECT_EQ(sync.buckets().size(), 3u);
    if (cap == 0) EXPECT_EQ(sync.buckets().size(), shapes.size());
    sync.synchronize();
    expect_averaged(params, group.size());
  }
}

TEST(GradientSync, StartsBucketsDuringBackward) {
  JobGroup group = whole_world("overlap");
  torch::manual_seed(3);
  torch::nn::Sequential net(torch::nn::Linear(8, 16), torch::nn::ReLU(), torch::nn::Linear(16, 4));
  GradientSync sync(group.comm(), net->parameters(), /*bucket_bytes=*/64);
  sync.broadcast_parameters();
  // Every rank uses the same input scaled by (rank + 1): the averaged gradient is that of the
  // mean of the per-rank losses, computed here directly for comparison.
  torch::Tensor x = torch::randn({5, 8});
  auto loss_of = [&](int r) { return net->forward(x * (r + 1)).pow(2).mean(); };
  torch::Tensor reference_loss = torch::zeros({});
  for (int r = 0; r < group.size(); ++r) reference_loss = reference_loss + loss_of(r);
  reference_loss = reference_loss / group.size();
  auto reference = torch::autograd::grad({reference_loss}, net->parameters());
  loss_of(group.rank()).backward();
  sync.synchronize();
  EXPECT_EQ(sync.buckets_started_in_backward(), static_cast<int>(sync.buckets().size()));
  const auto params = net->parameters();
  for (std::size_t i = 0; i < params.size(); ++i)
    EXPECT_TRUE(torch::allclose(params[i].grad(), reference[i], 1e-5, 1e-6)) << "parameter " << i;
}

TEST(GradientSync, BroadcastCopiesTheFirstRanksWeights) {
  JobGroup group = whole_world("broadcast");
  torch::manual_seed(100 + group.rank());  // different weights on every rank
  torch::nn::Conv3d conv(torch::nn::Conv3dOptions(2, 3, 3));
  GradientSync sync(group.comm(), conv->parameters(), 256);
  sync.broadcast_parameters();
  torch::manual_seed(100);
  torch::nn::Conv3d first(torch::nn::Conv3dOptions(2, 3, 3));
  EXPECT_TRUE(torch::equal(conv->weight, first->weight));
  EXPECT_TRUE(torch::equal(conv->bias, first->bias));
}

TEST(AllreduceSum, SumsTensorsOfSeveralTypes) {
  JobGroup group = whole_world("allreduce-sum");
  const int n = group.size(), r = group.rank();
  torch::Tensor f = torch::full({3, 2}, static_cast<float>(r + 1));
  allreduce_sum(group.comm(), f);
  EXPECT_TRUE(torch::allclose(f, torch::full({3, 2}, n * (n + 1) / 2.0f)));
  torch::Tensor l = torch::tensor({static_cast<int64_t>(r), int64_t{1}});
  allreduce_sum(group.comm(), l);
  EXPECT_EQ(l[0].item<int64_t>(), n * (n - 1) / 2);
  EXPECT_EQ(l[1].item<int64_t>(), n);
  torch::Tensor strided = torch::ones({4, 4}, torch::kDouble).t().narrow(0, 1, 2);  // not contiguous
  allreduce_sum(group.comm(), strided);
  EXPECT_TRUE(torch::allclose(strided, torch::full({2, 4}, static_cast<double>(n), torch::kDouble)));
}

// ---- N SGD iterations on a group against the same job on one process --------------------------

struct JobSpec {
  uint64_t seed;
  int global_batch;
  int iterations;
  double lr;
};

torch::nn::Sequential make_net(uint64_t seed) {
  torch::manual_seed(seed);
  return torch::nn::Sequential(
      torch::nn::Conv3d(torch::nn::Conv3dOptions(1, 4, 3).padding(1)),
      torch::nn::InstanceNorm3d(torch::nn::InstanceNormOptions(4).affine(true)),
      torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.01)),
      torch::nn::Conv3d(torch::nn::Conv3dOptions(4, 2, 1)));
}

// The global batch of iteration `it`: images and binary targets.
std::pair<torch::Tensor, torch::Tensor> global_batch(const JobSpec& job, int it) {
  torch::manual_seed(job.seed * 1000 + static_cast<uint64_t>(it));
  torch::Tensor x = torch::randn({job.global_batch, 1, 6, 6, 6});
  torch::Tensor y = (torch::randn({job.global_batch, 2, 6, 6, 6}) > 0).to(torch::kFloat);
  return {x, y};
}

// Cross-entropy-like term (mean over this rank's samples, times `scale`) plus a batch Dice over
// the statistics of the whole global batch (summed over `group` when given).
torch::Tensor job_loss(torch::nn::Sequential& net, const torch::Tensor& x, const torch::Tensor& y,
                       double scale, const Comm* group) {
  torch::Tensor logits = net->forward(x);
  torch::Tensor bce = torch::binary_cross_entropy_with_logits(logits, y);
  torch::Tensor p = torch::sigmoid(logits);
  const std::vector<int64_t> axes{0, 2, 3, 4};
  torch::Tensor stats = torch::stack({(p * y).sum(axes), (p * (1 - y)).sum(axes),
                                      ((1 - p) * y).sum(axes)});
  if (group) stats = allreduce_sum_differentiable(*group, stats);
  torch::Tensor dice = (2 * stats[0] + 1e-5) / (2 * stats[0] + stats[1] + stats[2] + 1e-5);
  return bce * scale + (1 - dice.mean());
}

std::vector<torch::Tensor> train_alone(const JobSpec& job) {
  auto net = make_net(job.seed);
  torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(job.lr).momentum(0.9));
  for (int it = 0; it < job.iterations; ++it) {
    auto [x, y] = global_batch(job, it);
    sgd.zero_grad();
    job_loss(net, x, y, 1.0, nullptr).backward();
    sgd.step();
  }
  return net->parameters();
}

std::vector<torch::Tensor> train_on_group(const JobSpec& job, const JobGroup& group) {
  // Every rank but the first starts from other weights: broadcast_parameters must fix that.
  auto net = make_net(job.seed + static_cast<uint64_t>(group.rank()) * 7919);
  GradientSync sync(group.comm(), net->parameters(), /*bucket_bytes=*/512);
  sync.broadcast_parameters();
  torch::optim::SGD sgd(net->parameters(), torch::optim::SGDOptions(job.lr).momentum(0.9));
  const BatchShare share = batch_share(job.global_batch, group.rank(), group.size());
  const double scale = loss_scale(job.global_batch, group.rank(), group.size());
  for (int it = 0; it < job.iterations; ++it) {
    auto [x, y] = global_batch(job, it);
    sgd.zero_grad();
    job_loss(net, x.narrow(0, share.begin, share.size()), y.narrow(0, share.begin, share.size()),
             scale, &group.comm())
        .backward();
    sync.synchronize();
    sgd.step();
  }
  return net->parameters();
}

void expect_same_weights(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b,
                         const std::string& what) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double diff = (a[i] - b[i]).abs().max().item<double>();
    EXPECT_LT(diff, 2e-5) << what << ": parameter " << i << " differs by " << diff;
  }
}

TEST(DataParallel, GroupMatchesOneProcessForTheSameSeedAndBatch) {
  torch::set_num_threads(1);
  JobGroup group = whole_world("sgd-equivalence");
  // Global batch 5: split 3+2 on 2 ranks and 2+1+1+1 on 4 ranks (uneven on purpose).
  const JobSpec job{11, 5, 6, 0.05};
  const auto alone = train_alone(job);
  const auto together = train_on_group(job, group);
  expect_same_weights(alone, together, "group of " + std::to_string(group.size()));
  // The training moved the weights (the comparison is not trivially true).
  EXPECT_GT((alone[0] - make_net(job.seed)->parameters()[0]).abs().max().item<double>(), 1e-3);
}

TEST(DataParallel, TwoGroupsTrainTwoJobsAtOnce) {
  torch::set_num_threads(1);
  const int half = world().size() / 2;
  const int index = world().rank() / half;  // group 0: first half of the world, group 1: second
  std::vector<int> members;
  for (int r = index * half; r < (index + 1) * half; ++r) members.push_back(r);
  JobGroup group(world(), members, /*tag=*/index,
                 {"job-" + std::to_string(index), std::chrono::seconds(120)});
  EXPECT_EQ(group.size(), half);
  const JobSpec job = index == 0 ? JobSpec{21, 4, 5, 0.05} : JobSpec{37, 6, 4, 0.02};
  const auto together = train_on_group(job, group);
  const auto alone = train_alone(job);
  expect_same_weights(alone, together, group.job());
  group.dissolve();
  EXPECT_FALSE(group.active());
}

}  // namespace
}  // namespace nnfleet::dist
