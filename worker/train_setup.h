#pragma once
// Everything a training job reads before it builds a network: the plans, dataset.json, the case
// list, the fold's split and the loader/network settings derived from them. Every missing piece
// is an nnfleet::Error that says what to run or fix.

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dist/mpi_world.h"
#include "models/unet_config.h"
#include "worker/job_paths.h"
#include "worker/splits.h"

namespace nnfleet::worker {

struct TrainOptions;

struct JobSetup {
  nlohmann::json plans, dataset_json;
  nlohmann::json configuration_json;  // configurations.<c> with inherited fields resolved
  std::string configuration, plan_hash;
  std::filesystem::path case_folder;  // <preprocessed>/<dataset>/<data_identifier>
  std::filesystem::path gt_folder;    // <preprocessed>/<dataset>/gt_segmentations
  std::filesystem::path splits_file;
  std::vector<std::string> cases;     // every case of the case folder, sorted
  Fold fold;
  models::UNetConfig network;
  std::vector<int64_t> patch_size;
  int batch_size = 2;
  bool batch_dice = false;
  std::vector<int> labels;                      // sorted, incl. 0
  std::vector<std::vector<double>> ds_scales;   // n_stages - 1 deep-supervision scales
  std::vector<int> mirror_axes;                 // (0, 1, 2) in 3D, (0, 1) in 2D
  std::filesystem::path previous_stage_folder;  // cascade only
  JobPaths paths;
};

// Reads and checks; creates splits_final.json on group rank 0 when absent (the others wait).
// Collective over `group`.
JobSetup prepare_job(const TrainOptions& options, const dist::Comm& group);

// Label values of dataset.json "labels" (v2 name -> int, or MSD "int" -> name), sorted.
// Throws nnfleet::Error for region-based labels or values that are not 0..K-1.
std::vector<int> label_values(const nlohmann::json& dataset_json);
// Number of input channels ("channel_names" in v2, "modality" in MSD).
int channel_count(const nlohmann::json& dataset_json);
// 1 / cumprod(strides) per decoder output, highest resolution first (n_stages - 1 entries).
std::vector<std::vector<double>> deep_supervision_scales(
    const std::vector<std::vector<int64_t>>& strides);

}  // namespace nnfleet::worker
