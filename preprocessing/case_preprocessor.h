#pragma once
// Preprocessing of one case for one configuration (method section 4.1, v2 order): crop to the
// non-zero region, transpose, normalise, resample to the configuration's spacing, sample foreground
// locations; and the HDF5 case file that stores the result (docs/formats.md).
//
// Cropping happens before the transpose here (nnU-Net crops after it; the box is the same up to the
// axis order), so that `bbox_used_for_cropping` and the shapes in the properties are in the
// original array order, as the file contract says.

#include <array>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "preprocessing/crop.h"
#include "preprocessing/fingerprint.h"
#include "preprocessing/validate.h"

namespace nnfleet::preprocessing {

// What preprocessing needs from nnUNetPlans.json for one configuration.
struct ConfigurationSettings {
  std::string name;             // "3d_fullres"
  std::string data_identifier;  // "nnUNetPlans_3d_fullres" (the output folder)
  std::vector<double> spacing;  // after transpose; 2 values for 2d
  std::vector<int64_t> patch_size;
  std::array<int, 3> transpose_forward{0, 1, 2};
  std::vector<std::string> normalization_schemes;  // per channel
  std::vector<bool> use_mask_for_norm;
  std::vector<IntensityStats> intensity;           // per channel
  std::vector<int> foreground_labels;              // 1..N-1
  bool is_2d() const { return spacing.size() == 2; }

  // Reads a configuration (resolving inherits_from) from plans JSON and v2 dataset.json labels.
  static ConfigurationSettings from_plans(const nlohmann::json& plans, const std::string& name,
                                          const nlohmann::json& dataset_json);
};

struct PreprocessedCase {
  std::string id;
  int channels = 1;
  Shape3 shape{0, 0, 0};       // after transpose, crop and resampling
  std::vector<float> data;     // (C, shape)
  std::vector<int8_t> seg;     // (1, shape); empty when the case has no label
  // label -> sampled voxel coordinates (z, y, x in `shape`'s axes)
  std::map<int, std::vector<std::array<int64_t, 3>>> class_locations;
  nlohmann::json properties;   // see docs/formats.md
};

PreprocessedCase preprocess_case(const LoadedCase& loaded, const ConfigurationSettings& settings);

// nnU-Net's foreground sampling: per label, max(min(10000, N), ceil(0.01 N)) of the label's N voxels
// without replacement, numpy RandomState(1234) shared across labels in ascending order.
std::map<int, std::vector<std::array<int64_t, 3>>> sample_class_locations(
    const std::vector<int8_t>& seg, const Shape3& shape, const std::vector<int>& labels);

// Writes the case file atomically (<file>.tmp.<pid>, then rename). Chunks: 1 channel x up to 64^3
// for 3D configurations, 1 x 1 x up to 128 x 128 for 2d (a 2D patch reads one slice).
void write_case_file(const std::filesystem::path& file, const PreprocessedCase& c, bool is_2d);

// Reads a whole case file back (tests, small tools). The trainer reads patches through H5File.
PreprocessedCase read_case_file(const std::filesystem::path& file);

}  // namespace nnfleet::preprocessing
