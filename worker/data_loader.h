#pragma once
// The training data loader: patches from the HDF5 case store (worker/case_reader.h) with nnU-Net
// v2's sampling (worker/patch_sampler.h) and augmentation (worker/augment.h), produced by worker
// threads into a bounded queue and handed out as LibTorch tensors.
//
// Tensors: data float32 [b, C (+ one-hot previous-stage channels), *patch]; target, one per
// deep-supervision scale, float32 [b, 1, *round(patch * scale)] holding label values, with -1
// (outside the non-zero mask) already mapped to 0, like nnU-Net does before the loss. `patch` has
// the configuration's 2 or 3 axes in array order ((y, x) or (z, y, x)).
//
// Determinism: batch k is a pure function of (seed, k, the rank's share of the global batch);
// see Note [loader determinism] in worker/random.h. Batches come out in index order whatever the
// number of workers or their timing, and the union of the local batches of all group ranks equals
// the batch a one-rank group would get.
//
// Threads: next() is called from one thread. The destructor stops and joins the workers (no wait
// for batches nobody will take). An exception in a worker is stored with its batch and rethrown by
// next() as nnfleet::Error naming the case; later batches are unaffected.

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "worker/patch_sampler.h"

namespace nnfleet::worker {

struct LoaderOptions {
  std::filesystem::path case_folder;   // <preprocessed>/<dataset>/nnUNetPlans_<config>
  std::vector<std::string> cases;      // this job's training (or validation) cases
  std::vector<int64_t> patch_size;     // final patch (2 or 3 axes)
  int global_batch_size = 2;           // the plan's batch size
  int group_rank = 0, group_size = 1;  // this rank's share of the global batch (v2 split)
  double oversample_foreground = 0.33;
  bool augment = true;                          // false for the per-epoch pseudo-validation loader
  std::vector<std::vector<double>> ds_scales;   // deep-supervision scales, e.g. {{1,1,1},{0.5,...}}
  std::vector<int> mirror_axes;                 // spatial axes of the patch allowed for mirroring
  std::vector<int> labels;                      // declared label values incl. 0
  std::filesystem::path previous_stage_folder;  // cascade: one-hot of seg_prev appended as channels
  int num_workers = 0;                          // 0 = default_num_workers()
  uint64_t seed = 12345;
  bool pin_memory = false;  // page-locked batches (ignored without CUDA)
  // Extensions.
  int queue_depth = 0;  // batches produced ahead of next(); 0 = max(2, 2 * workers)
  // Per image channel: the plan's use_mask_for_norm. With augmentation, such channels are set to
  // 0 outside the non-zero mask (seg < 0) after mirroring, as nnU-Net's training transforms do.
  std::vector<bool> use_mask_for_norm;
};

struct Batch {
  torch::Tensor data;                 // float32 [b, C(+prev stage), *patch]
  std::vector<torch::Tensor> target;  // per ds scale: float32 [b, 1, *scaled patch], -1 -> 0 done
  std::vector<std::string> cases;
};

// Worker threads used when LoaderOptions::num_workers is 0: the cores this process may use minus
// one for the training thread, between 1 and 12 (nnU-Net's usual nnUNet_n_proc_DA).
int default_num_workers();

class DataLoader {
 public:
  // Checks the options (throws nnfleet::Error naming the bad value) and starts the workers.
  explicit DataLoader(LoaderOptions options);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // The next batch in index order; blocks until it is ready. Rethrows a worker's error.
  Batch next();
  int local_batch_size() const;
  int num_workers() const;
  // Patch sizes and augmentation geometry in use (initial = enlarged pre-augmentation patch).
  const SpatialSetup& spatial_setup() const;

  struct State;  // shared with the worker threads (data_loader.cpp)

 private:
  std::shared_ptr<State> state_;
};

}  // namespace nnfleet::worker
