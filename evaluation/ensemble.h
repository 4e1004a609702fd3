#pragma once
// Ensembling of probability files (v2's nnUNetv2_ensemble / ensemble_crossvalidations): the
// probabilities of the same case from several folders are averaged in float32 (summed in the
// order given, then divided by the count, as v2 does) and the segmentation is the argmax over
// channels (first maximum wins, as np.argmax), channel k being label value k.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "dist/mpi_world.h"
#include "evaluation/postprocessing.h"
#include "evaluation/probability_file.h"
#include "preprocessing/image_io.h"

namespace nnfleet::evaluation {

// Averages maps of one case in place into the first; throws naming the case and both shapes
// when they differ in channels or size. Precondition: !maps.empty().
ProbabilityMap average_probabilities(std::vector<ProbabilityMap> maps);
// Reads and averages `files` (the same case from several folders).
ProbabilityMap average_probability_files(const std::vector<std::filesystem::path>& files);

// Argmax over channels, (Z, Y, X) voxels.
std::vector<uint8_t> argmax_labels(const ProbabilityMap& map);
// Argmax of the average of `maps` (same case) without materialising the average; equal to
// argmax_labels(average_probabilities(maps)). Throws like average_probabilities.
std::vector<uint8_t> argmax_of_average(const std::vector<const ProbabilityMap*>& maps);
// The segmentation with the probability map's geometry.
preprocessing::LabelImage segmentation_from_probabilities(const ProbabilityMap& map);

struct EnsembleOptions {
  std::vector<std::filesystem::path> input_folders;  // each with <case>.h5 probability files
  std::filesystem::path output_folder;
  bool save_probabilities = false;                   // also write <case>.h5 averaged
  std::optional<PostprocessingRule> postprocessing;  // applied to each segmentation
  std::string file_ending = ".nii.gz";
};

// The case ids common to every input folder. Throws listing the cases missing from a folder
// when the folders do not hold the same cases, or when they hold none.
std::vector<std::string> ensemble_cases(const std::vector<std::filesystem::path>& folders);

// Writes <case><file_ending> (and <case>.h5) for every case into output_folder, cases shared out
// over the ranks of `world` (round robin in sorted order). Collective over `world`. Copies
// dataset.json from the first input folder when present. Returns the cases this rank wrote.
std::vector<std::string> ensemble_folders(const EnsembleOptions& options, const dist::Comm& world);

}  // namespace nnfleet::evaluation
