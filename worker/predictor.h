#pragma once
// Sliding-window prediction of preprocessed cases (method reference, section 6, nnU-Net v2):
// zero padding to the patch size, tiles at nnU-Net's positions, each tile predicted with
// mirroring test-time augmentation (logits averaged over every combination of the allowed axes),
// weighted by the Gaussian importance map and accumulated; logits averaged over networks (folds).
//
// Axis order: data is [C, Z, Y, X] in preprocessed order (the HDF5 case file's `data`); logits
// come back as float32 [K, Z, Y, X] on the CPU. 3D configurations have a 3-entry patch (z, y, x);
// 2D configurations a 2-entry patch (y, x) and are run slice by slice along axis 0. Mirror axes
// are spatial axes of the patch (0..2 in 3D, 0..1 in 2D), as nnU-Net stores them.
//
// Device: tiles run on options.device, under fp16 autocast there when options.amp and the device
// is CUDA. Accumulation (float32, unlike v2's fp16) stays on the device when
// accumulate_on_device and it fits; on CUDA out-of-memory it restarts with CPU accumulation.
// Not thread-safe: one prediction at a time per network.

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dist/mpi_world.h"

namespace nnfleet::models {
class UNet;
}

namespace nnfleet::worker {

struct PredictorOptions {
  std::vector<int64_t> patch_size;  // (z, y, x) or (y, x) voxels
  double step_size = 0.5;           // fraction of the patch between tile starts, (0, 1]
  bool mirror = true;               // test-time mirroring over mirror_axes
  std::vector<int> mirror_axes;     // spatial axes allowed in training
  torch::Device device = torch::kCPU;
  bool amp = false;                 // fp16 autocast (CUDA only; ignored on CPU like nnU-Net)
  // Extensions beyond the agreed interface.
  bool accumulate_on_device = true; // v2's perform_everything_on_device
  bool use_gaussian = true;         // false: plain averaging of overlapping tiles
};

// A network as the predictor sees it: input [B, C, *patch] on options.device, output logits
// [B, K, *patch] (full resolution only).
using NetworkFn = std::function<torch::Tensor(const torch::Tensor&)>;

// The core: logits averaged over `networks` (at least one). Throws nnfleet::Error for bad shapes
// or options (naming the value).
torch::Tensor predict_logits_with(const std::vector<NetworkFn>& networks, const torch::Tensor& data,
                                  const PredictorOptions& options);

// Sliding-window logits for one network, on the accumulation device (float32, [K, *spatial]).
torch::Tensor sliding_window_logits(const NetworkFn& network, const torch::Tensor& data,
                                    const PredictorOptions& options);

// One tile with mirroring: mean over the original and every non-empty combination of the mirror
// axes of flip(network(flip(x))). x is [1, C, *patch]; returns float32 [1, K, *patch].
torch::Tensor mirrored_prediction(const NetworkFn& network, const torch::Tensor& x,
                                  const PredictorOptions& options);

// The Gaussian importance map as a tensor [*patch] (zeros replaced by the smallest value).
torch::Tensor importance_map(const std::vector<int64_t>& patch_size, torch::Device device);

// Sliding-window logits [K, *spatial] for one preprocessed case tensor [C, *spatial], averaged over
// the given networks (folds) and mirrors, Gaussian importance weighted. Puts each network in eval
// mode with deep supervision off and moves it to options.device.
torch::Tensor predict_logits(std::vector<models::UNet>& networks, const torch::Tensor& data,
                             const PredictorOptions& options);

// End-of-training validation of one fold: predicts `cases` from their HDF5 case files
// (<case_folder>/<case>.h5), exports segmentation + probabilities (docs/formats.md) into
// `validation_dir`, writes summary.json (evaluation/, against <gt_folder>/<case>.nii.gz). Cases are
// shared round-robin over `group` ranks; after a barrier, rank 0 writes the summary. For 3d_lowres
// (a configuration with a "next_stage" in the plans) it also writes the cascade input
// <preprocessed>/<dataset>/predicted_next_stage/<next>/<case>.h5 (dataset seg_prev, int8
// [1, Z, Y, X] at the next stage's preprocessed shape), <preprocessed>/<dataset> being
// case_folder's parent. Collective over `group`.
void validate_fold(models::UNet& network, const nlohmann::json& plans, const nlohmann::json& dataset_json,
                   const std::string& configuration, const std::filesystem::path& case_folder,
                   const std::vector<std::string>& cases, const std::filesystem::path& validation_dir,
                   const std::filesystem::path& gt_folder, const dist::Comm& group,
                   const PredictorOptions& options);

// Predictor options of a configuration from the plans: patch size from
// configurations.<c>.patch_size (through inherits_from), the given mirror axes and device.
PredictorOptions predictor_options_from_plans(const nlohmann::json& plans, const std::string& configuration);

// A float32 CPU tensor's values in C order (copy), for export.
std::vector<float> tensor_values(const torch::Tensor& t);

}  // namespace nnfleet::worker
