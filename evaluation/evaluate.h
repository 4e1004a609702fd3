#pragma once
// Evaluation of a folder of predicted segmentations against a folder of reference segmentations
// (v2's compute_metrics_on_folder): every prediction with the dataset's file ending is matched
// with the reference of the same file name.

#include <filesystem>
#include <string>
#include <vector>

#include "evaluation/labels.h"
#include "evaluation/metrics.h"
#include "evaluation/summary.h"
#include "preprocessing/image_io.h"

namespace nnfleet::evaluation {

struct EvaluateOptions {
  std::filesystem::path reference_folder;
  std::filesystem::path prediction_folder;
  LabelSet labels;
  std::string file_ending = ".nii.gz";
  // false: a reference without a prediction is an error (v2 without --chill).
  bool chill = false;
};

// Case ids (file names without `file_ending`) of the files in `folder`, sorted.
std::vector<std::string> list_cases(const std::filesystem::path& folder, const std::string& file_ending);

// Counts of one case. Throws nnfleet::Error naming the case when the two images differ in size.
CaseCounts evaluate_case(const std::vector<uint8_t>& prediction,
                         const preprocessing::Geometry& prediction_geometry,
                         const preprocessing::LabelImage& reference, const LabelSet& labels,
                         const std::string& case_id);

// Reads and evaluates every predicted case. Throws when the prediction folder holds no case,
// when a prediction has no reference, or (unless chill) a reference has no prediction.
Summary evaluate_folders(const EvaluateOptions& options);

// The file_ending of a dataset.json (".nii.gz" when absent).
std::string file_ending_of(const std::filesystem::path& dataset_json);

}  // namespace nnfleet::evaluation
