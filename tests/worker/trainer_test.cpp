// The training loop on a tiny plan with a formula batch source (the data loader has its own
// tests): exact resume after a stop, the files a job writes, and its clear errors.

#include "worker/trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "common/atomic_file.h"
#include "common/error.h"
#include "models/unet.h"
#include "tests/support/test_paths.h"
#include "worker/checkpoint.h"
#include "worker/train_setup.h"

namespace nnfleet::worker {
namespace {
namespace fs = std::filesystem;

nlohmann::json tiny_plans() {
  nlohmann::json arch = {{"n_stages", 3},
                         {"features_per_stage", {4, 8, 8}},
                         {"kernel_sizes", {{3, 3, 3}, {3, 3, 3}, {3, 3, 3}}},
                         {"strides", {{1, 1, 1}, {2, 2, 2}, {2, 2, 2}}},
                         {"n_conv_per_stage", {1, 1, 1}},
                         {"n_conv_per_stage_decoder", {1, 1}},
                         {"conv_bias", true}};
  return {{"dataset_name", "Dataset999_Tiny"},
          {"configurations",
           {{"3d_fullres",
             {{"data_identifier", "nnUNetPlans_3d_fullres"},
              {"patch_size", {8, 8, 8}},
              {"batch_size", 2},
              {"batch_dice", true},
              {"architecture", {{"arch_kwargs", arch}}}}}}}};
}

// <root>/preprocessed/Dataset999_Tiny with plans, dataset.json and ten empty case files (the
// formula source never reads them).
fs::path make_dataset(const fs::path& root) {
  const auto ds = root / "preprocessed" / "Dataset999_Tiny";
  fs::create_directories(ds / "nnUNetPlans_3d_fullres");
  write_json_atomically(ds / "nnUNetPlans.json", tiny_plans());
  write_json_atomically(ds / "dataset.json",
                        {{"channel_names", {{"0", "MRI"}}},
                         {"labels", {{"background", 0}, {"a", 1}, {"b", 2}}},
                         {"numTraining", 10},
                         {"file_ending", ".nii.gz"}});
  for (int i = 0; i < 10; ++i)
    std::ofstream(ds / "nnUNetPlans_3d_fullres" / ("case_" + std::to_string(i) + ".h5"));
  return ds;
}

// Batch k of a loader seeded s: data from a generator seeded (s, k), labels thresholded from the
// data so there is something to learn; targets nearest-downsampled per deep-supervision scale.
class FormulaSource : public BatchSource {
 public:
  FormulaSource(const LoaderOptions& o, std::function<void()> on_next)
      : options_(o), on_next_(std::move(on_next)) {}
  Batch next() override {
    if (on_next_) on_next_();
    auto gen = at::detail::createCPUGenerator(options_.seed * 1000003 + index_++);
    const int64_t b = options_.global_batch_size / options_.group_size;
    std::vector<int64_t> shape{b, 1};
    shape.insert(shape.end(), options_.patch_size.begin(), options_.patch_size.end());
    Batch batch;
    batch.data = torch::randn(shape, gen);
    const auto label = (batch.data > 0.3).to(torch::kFloat) + (batch.data > 1.0).to(torch::kFloat);
    for (const auto& scale : options_.ds_scales) {
      const auto step = static_cast<int64_t>(1.0 / scale[0] + 0.5);
      using torch::indexing::None;
      using torch::indexing::Slice;
      batch.target.push_back(label.index({Slice(), Slice(), Slice(0, None, step),
                                          Slice(0, None, step), Slice(0, None, step)}).contiguous());
    }
    return batch;
  }

 private:
  LoaderOptions options_;
  std::function<void()> on_next_;
  uint64_t index_ = 0;
};

struct Job {
  fs::path root, preprocessed;
  TrainOptions options;
  std::vector<std::string> validated;
  TrainHooks hooks;
};

Job make_job(const std::string& name) {
  Job job;
  job.root = test::scratch_dir(name);
  job.preprocessed = make_dataset(job.root);
  auto& o = job.options;
  o.preprocessed_dataset = job.preprocessed;
  o.results_dataset = job.root / "results" / "Dataset999_Tiny";
  o.configuration = "3d_fullres";
  o.fold = 1;
  o.epochs = 3;
  o.iterations_per_epoch = 3;
  o.val_iterations = 2;
  o.device = "cpu";
  o.deterministic = true;
  o.checkpoint_every = 1;
  o.seed = 77;
  job.hooks.make_loader = [](const LoaderOptions& l) {
    return std::make_unique<FormulaSource>(l, nullptr);
  };
  // The empty case files cannot be predicted: the final validation is checked through this hook.
  job.hooks.validate = [](models::UNet&, const FinalValidation&, const dist::Comm&) {};
  return job;
}

std::vector<torch::Tensor> final_weights(const Job& job) {
  const auto setup_plans = tiny_plans();
  models::UNet net(models::unet_config_from_plans(setup_plans, "3d_fullres", 1, 3));
  load_network_weights(job.options.results_dataset / "3d_fullres" / "fold_1" /
                           "checkpoint_final.pt", *net);
  return net->parameters();
}

TEST(Trainer, ResumedJobEndsWithTheWeightsOfAnUninterruptedOne) {
  Job straight = make_job("trainer_straight");
  train_job(straight.options, dist::Comm::borrow(MPI_COMM_SELF), nullptr, straight.hooks);

  Job stopped = make_job("trainer_stopped");
  std::atomic<bool> stop{false};
  int training_batches = 0;
  stopped.hooks.make_loader = [&](const LoaderOptions& l) {
    std::function<void()> count;
    if (l.augment) count = [&] { if (++training_batches == 5) stop = true; };
    return std::make_unique<FormulaSource>(l, count);
  };
  EXPECT_THROW(train_job(stopped.options, dist::Comm::borrow(MPI_COMM_SELF), &stop, stopped.hooks),
               Interrupted);
  const auto meta = read_checkpoint_meta(stopped.options.results_dataset / "3d_fullres" /
                                         "fold_1" / "checkpoint_latest.pt");
  EXPECT_EQ(meta.training.at("epoch"), 1);      // stopped inside the second epoch
  EXPECT_EQ(meta.training.at("iteration"), 2);  // after its second iteration

  stop = false;
  stopped.options.resume = true;
  train_job(stopped.options, dist::Comm::borrow(MPI_COMM_SELF), &stop, stopped.hooks);

  const auto a = final_weights(straight), b = final_weights(stopped);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << "parameter " << i;
}

TEST(Trainer, WritesLogCsvCheckpointsTraceAndRunsTheFinalValidation) {
  Job job = make_job("trainer_files");
  std::vector<std::string> validated;
  job.hooks.validate = [&](models::UNet& net, const FinalValidation& v, const dist::Comm&) {
    validated = v.cases;
    EXPECT_EQ(net->forward(torch::zeros({1, 1, 8, 8, 8})).size(), 1u);  // deep supervision off
    EXPECT_EQ(v.validation_dir.filename(), "validation");
  };
  train_job(job.options, dist::Comm::borrow(MPI_COMM_SELF), nullptr, job.hooks);
  const auto fold = job.options.results_dataset / "3d_fullres" / "fold_1";
  for (const char* f : {"checkpoint_final.pt", "checkpoint_best.pt", "training_log.txt",
                        "progress.csv", "trace_rank0.json"})
    EXPECT_TRUE(fs::exists(fold / f)) << f;
  EXPECT_FALSE(fs::exists(fold / "checkpoint_latest.pt"));  // removed once final exists
  EXPECT_TRUE(fs::exists(fold.parent_path() / "plans.json"));
  EXPECT_TRUE(fs::exists(job.preprocessed / "splits_final.json"));
  EXPECT_EQ(validated, read_splits(job.preprocessed / "splits_final.json")[1].val);
  const auto trace = read_json(fold / "trace_rank0.json").at("traceEvents");
  EXPECT_GE(trace.size(), 3u * 9);  // data wait, forward, backward, optimiser step per iteration
  const auto meta = read_checkpoint_meta(fold / "checkpoint_final.pt");
  EXPECT_EQ(meta.training.at("history").size(), 3u);
}

TEST(Trainer, ClearErrorsForMissingDataFoldsAndCheckpoints) {
  Job job = make_job("trainer_errors");
  const auto self = dist::Comm::borrow(MPI_COMM_SELF);
  auto expect_error = [&](TrainOptions o, const std::string& needle) {
    try {
      train_job(o, self, nullptr, job.hooks);
      ADD_FAILURE() << "expected an error containing " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  TrainOptions o = job.options;
  o.fold = 5;
  expect_error(o, "fold 5 is outside");
  o = job.options;
  o.configuration = "2d";
  expect_error(o, "no configuration '2d'");
  o = job.options;
  o.preprocessed_dataset = job.root / "nowhere";
  expect_error(o, "nnUNetPlans.json is missing");

  // A checkpoint of another plan.
  o = job.options;
  o.epochs = 1;
  train_job(o, self, nullptr, job.hooks);
  auto plans = tiny_plans();
  plans["configurations"]["3d_fullres"]["batch_size"] = 4;
  write_json_atomically(job.preprocessed / "nnUNetPlans.json", plans);
  o.resume = true;
  expect_error(o, "another plan");
}

TEST(Trainer, CudaWithoutGpuIsAClearError) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "a GPU is visible";
  Job job = make_job("trainer_cuda");
  job.options.device = "cuda";
  EXPECT_THROW(train_job(job.options, dist::Comm::borrow(MPI_COMM_SELF), nullptr, job.hooks),
               Error);
}

TEST(TrainSetup, DerivesScalesLabelsAndChannels) {
  EXPECT_EQ(deep_supervision_scales({{1, 1, 1}, {1, 2, 2}, {2, 2, 2}}),
            (std::vector<std::vector<double>>{{1, 1, 1}, {1, 0.5, 0.5}}));
  EXPECT_EQ(label_values({{"labels", {{"background", 0}, {"x", 2}, {"y", 1}}}}),
            (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(label_values({{"labels", {{"0", "background"}, {"1", "a"}}}}), (std::vector<int>{0, 1}));
  EXPECT_THROW(label_values({{"labels", {{"background", 0}, {"x", 2}}}}), Error);
  EXPECT_THROW(label_values({{"labels", {{"background", 0}, {"r", {1, 2}}}}}), Error);
  EXPECT_EQ(channel_count({{"channel_names", {{"0", "T1"}, {"1", "T2"}}}}), 2);
  EXPECT_EQ(channel_count({{"modality", {{"0", "MRI"}}}}), 1);
}

}  // namespace
}  // namespace nnfleet::worker
