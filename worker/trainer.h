#pragma once
// One (configuration, fold) training job, the way nnU-Net v2's nnUNetTrainer trains it (method
// reference, section 5): epochs of iterations_per_epoch steps on batches from worker::DataLoader,
// deep-supervised Dice + CE, SGD Nesterov with poly LR, gradient clipping at 12, fp16 autocast and
// a grad scaler on CUDA when amp is on, per-epoch pseudo Dice on val_iterations non-augmented
// validation batches with its EMA, checkpoints, the training log, progress.csv/png and a per-rank
// Chrome trace, then the final validation of the fold (worker/predictor.h validate_fold).
//
// Groups: with group.size() > 1 the ranks train data-parallel: parameters are broadcast from the
// group's rank 0, gradients averaged after every backward (dist::GradientSync), the batch-Dice
// statistics summed over the group, and each rank's loader produces its share of the plan's global
// batch. Only group rank 0 writes logs, plots and checkpoints.
//
// Resume (Note [exact resume] in trainer.cpp): batches are a pure function of (seed, epoch,
// iteration), so a job stopped after any iteration and continued with resume = true ends with the
// same weights as an uninterrupted one in deterministic CPU mode.

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dist/mpi_world.h"
#include "worker/data_loader.h"

namespace nnfleet::models {
class UNet;
}

namespace nnfleet::worker {

struct PredictorOptions;

struct TrainOptions {
  std::filesystem::path preprocessed_dataset, results_dataset;  // .../DatasetNNN_Name
  std::string configuration;
  int fold = 0;
  int epochs = 1000, iterations_per_epoch = 250, val_iterations = 50;
  bool amp = false;            // fp16 autocast + grad scaler; CUDA only (ignored on CPU)
  std::string device = "auto"; // cpu, cuda, auto (dist::device_for_rank)
  uint64_t seed = 12345;
  bool deterministic = false;  // deterministic algorithms, no cuDNN benchmark
  bool resume = false;         // --continue: from checkpoint_final, _latest or _best
  int checkpoint_every = 5;    // epochs between checkpoint_latest writes (>= 1)
  int num_workers = 0;         // data-loader threads; 0 = default_num_workers()
  std::filesystem::path previous_stage_folder;  // cascade; empty = the predictor's default
  // Extensions.
  int local_rank = 0;          // rank on this node, for the GPU choice
  bool final_validation = true;
  std::string gnuplot = "gnuplot";
  bool trace = true;           // write trace_rank<r>.json
};

// Thrown by train_job after the stop flag was raised and the state was checkpointed.
class Interrupted : public std::runtime_error {
 public:
  explicit Interrupted(const std::string& what) : std::runtime_error(what) {}
};

// A stream of batches for one epoch (training or validation).
class BatchSource {
 public:
  virtual ~BatchSource() = default;
  virtual Batch next() = 0;
};

// What the final validation gets (the arguments of worker::validate_fold).
struct FinalValidation {
  const nlohmann::json* plans = nullptr;
  const nlohmann::json* dataset_json = nullptr;
  std::string configuration;
  std::filesystem::path case_folder, validation_dir, gt_folder;
  std::vector<std::string> cases;
};

// Seams for tests; empty members mean the real parts.
struct TrainHooks {
  // Default: a worker::DataLoader over the options.
  std::function<std::unique_ptr<BatchSource>(const LoaderOptions&)> make_loader;
  // Default: worker::validate_fold with the plan's predictor options.
  std::function<void(models::UNet&, const FinalValidation&, const dist::Comm&)> validate;
};

// Trains one job on `group` (1 rank = plain training) and runs its final validation.
// Returns normally on completion; throws nnfleet::Error on bad input (missing preprocessed data or
// plans, a fold outside the splits, a checkpoint of another plan or configuration, CUDA without a
// GPU). If *stop_requested becomes true (SIGTERM/SIGUSR1) on any rank of the group, the group
// checkpoints after the current iteration and throws worker::Interrupted. Collective over `group`.
void train_job(const TrainOptions& options, const dist::Comm& group,
               const std::atomic<bool>* stop_requested, const TrainHooks& hooks = {});

}  // namespace nnfleet::worker
