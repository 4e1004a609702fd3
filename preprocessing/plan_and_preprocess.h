#pragma once
// The preprocessing job, sharded over MPI ranks (issue 3):
//   1. every rank reads dataset.json; case i belongs to rank i mod world size;
//   2. each rank loads, validates and fingerprints its cases; problems and fingerprints are
//      all-gathered, so every rank sees every problem (validation fails everywhere at once);
//   3. the plan is computed on rank 0 from the reduced fingerprint and broadcast: one plan,
//      whatever the world size;
//   4. each rank preprocesses its cases for every requested configuration and writes the HDF5 case
//      files; rank 0 writes dataset.json, dataset_fingerprint.json, nnUNetPlans.json and
//      gt_segmentations/. Rank 0 shows progress (cases done, ETA).
// A failure on one rank is gathered and thrown on every rank (no rank waits forever).
//
// Re-running skips all work when the stamp file (inputs: file names, sizes, modification times;
// options) matches and every case file exists.

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/folders.h"
#include "dist/mpi_world.h"
#include "preprocessing/planner.h"

namespace nnfleet::preprocessing {

struct PlanPreprocessOptions {
  // Configurations to preprocess; 3d_lowres only when the planner creates it. The plan always
  // describes 2d, 3d_fullres (and 3d_lowres/cascade when created).
  std::vector<std::string> configurations{"2d", "3d_fullres", "3d_lowres"};
  double gpu_memory_gb = 8;   // planner memory target
  int threads_per_rank = 1;   // worker threads on each rank
  bool force = false;         // redo everything even when the stamp matches
  // Keep loaded cases in memory between fingerprint and preprocessing up to this many bytes per
  // rank (saves reading every file twice on small datasets).
  int64_t cache_bytes = int64_t{2} << 30;
};

struct PlanPreprocessResult {
  std::filesystem::path output_folder;  // $preprocessed/DatasetNNN_Name
  nlohmann::json plans;
  int num_cases = 0;
  bool skipped = false;
};

// Collective over `world`. Throws nnfleet::Error (on every rank) for invalid datasets or failures.
PlanPreprocessResult plan_and_preprocess(const Folders& folders, const DatasetRef& dataset,
                                         const PlanPreprocessOptions& options,
                                         const dist::Comm& world);

}  // namespace nnfleet::preprocessing
