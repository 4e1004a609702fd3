// A job trained data-parallel on all ranks of the world ends with the weights of the same job
// trained on one rank with the whole global batch (batch Dice on, so the statistics are summed
// over the group), within floating-point tolerance. Runs with 2 and 4 ranks.

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "common/atomic_file.h"
#include "models/unet.h"
#include "tests/support/test_paths.h"
#include "worker/checkpoint.h"
#include "worker/trainer.h"

namespace nnfleet::worker {
namespace {
namespace fs = std::filesystem;

constexpr int kGlobalBatch = 4;

nlohmann::json plans() {
  nlohmann::json arch = {{"features_per_stage", {4, 8}},
                         {"kernel_sizes", {{3, 3}, {3, 3}}},
                         {"strides", {{1, 1}, {2, 2}}},
                         {"n_conv_per_stage", {1, 1}},
                         {"n_conv_per_stage_decoder", {1}}};
  return {{"configurations",
           {{"2d",
             {{"patch_size", {8, 8}},
              {"batch_size", kGlobalBatch},
              {"batch_dice", true},
              {"architecture", {{"arch_kwargs", arch}}}}}}}};
}

fs::path make_dataset(const fs::path& root) {
  const auto ds = root / "Dataset998_Group";
  fs::create_directories(ds / "nnUNetPlans_2d");
  write_json_atomically(ds / "nnUNetPlans.json", plans());
  write_json_atomically(ds / "dataset.json", {{"channel_names", {{"0", "CT"}}},
                                              {"labels", {{"background", 0}, {"fg", 1}}}});
  for (int i = 0; i < 10; ++i) std::ofstream(ds / "nnUNetPlans_2d" / ("c" + std::to_string(i) + ".h5"));
  return ds;
}

// Sample g of batch k is a function of (seed, k, g) only, so any split of the global batch over
// ranks sees the same samples.
class SampleSource : public BatchSource {
 public:
  explicit SampleSource(const LoaderOptions& o) : o_(o) {}
  Batch next() override {
    const int local = kGlobalBatch / o_.group_size;
    std::vector<torch::Tensor> samples;
    for (int j = 0; j < local; ++j) {
      const uint64_t g = static_cast<uint64_t>(o_.group_rank * local + j);
      auto gen = at::detail::createCPUGenerator(o_.seed * 7919 + index_ * 101 + g);
      samples.push_back(torch::randn({1, 1, 8, 8}, gen));
    }
    ++index_;
    Batch b;
    b.data = torch::cat(samples);
    const auto label = (b.data > 0.2).to(torch::kFloat);
    b.target = {label, label.index({torch::indexing::Slice(), torch::indexing::Slice(),
                                    torch::indexing::Slice(0, torch::indexing::None, 2),
                                    torch::indexing::Slice(0, torch::indexing::None, 2)})
                            .contiguous()};
    return b;
  }

 private:
  LoaderOptions o_;
  uint64_t index_ = 0;
};

TrainOptions options_for(const fs::path& root) {
  TrainOptions o;
  o.preprocessed_dataset = make_dataset(root / "preprocessed");
  o.results_dataset = root / "results" / "Dataset998_Group";
  o.configuration = "2d";
  o.epochs = 2;
  o.iterations_per_epoch = 3;
  o.val_iterations = 1;
  o.device = "cpu";
  o.deterministic = true;
  o.final_validation = false;
  return o;
}

std::vector<torch::Tensor> weights(const TrainOptions& o) {
  models::UNet net(models::unet_config_from_plans(plans(), "2d", 1, 2));
  load_network_weights(o.results_dataset / "2d" / "fold_0" / "checkpoint_final.pt", *net);
  return net->parameters();
}

TEST(TrainerGroup, DataParallelJobMatchesTheSingleRankJob) {
  const auto world = dist::Comm::borrow(MPI_COMM_WORLD);
  if (kGlobalBatch % world.size() != 0) GTEST_SKIP() << "needs a world size dividing 4";
  TrainHooks hooks;
  hooks.make_loader = [](const LoaderOptions& l) { return std::make_unique<SampleSource>(l); };

  // Each rank trains the single-rank reference in its own folder, the group job is shared.
  const auto single = options_for(test::scratch_dir("group_single_r" + std::to_string(world.rank())));
  train_job(single, dist::Comm::borrow(MPI_COMM_SELF), nullptr, hooks);
  const auto group = options_for(test::scratch_dir("group_job", /*shared_across_ranks=*/true));
  train_job(group, world, nullptr, hooks);
  world.barrier();

  const auto a = weights(single), b = weights(group);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_TRUE(torch::allclose(a[i], b[i], 1e-4, 1e-5))
        << "parameter " << i << " max diff " << (a[i] - b[i]).abs().max().item<double>();
}

}  // namespace
}  // namespace nnfleet::worker
