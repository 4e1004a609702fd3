#pragma once
// Export of a prediction back to the original image geometry (method reference, section 6.4, v2):
//   1. resample the logits from the configuration's grid to the cropped original grid
//      (order 1, nearest along a separate anisotropic axis; worker/logit_resampling.h),
//   2. softmax (when probabilities are wanted) and argmax,
//   3. paste into the shape before cropping at the crop box (outside: label 0, probability 1 for
//      background and 0 for the other classes),
//   4. undo the transpose,
//   5. write the segmentation NIfTI (uint8) with the original spacing, origin and direction, and
//      optionally the probability file (docs/formats.md).
// No LibTorch: logits arrive as a float32 C-order buffer.
//
// Axis words: "preprocessed order" is the array order after transpose_forward (the order of the
// HDF5 case file's data and of the network's logits); "original order" is the array order (z, y, x)
// of the original image file. Case properties are stored in original order (docs/formats.md).

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "evaluation/probability_file.h"
#include "preprocessing/image_io.h"
#include "worker/logit_resampling.h"

namespace nnfleet::worker {

using Axes3 = std::array<int, 3>;
using Bbox3 = std::array<std::array<int64_t, 2>, 3>;  // [lo, hi) per axis

// The "properties" attribute of an HDF5 case file (docs/formats.md), all in original order.
struct CaseProperties {
  std::string case_id;
  Spacing3 spacing{1, 1, 1};                 // mm, original array order (z, y, x)
  Shape3 shape_before_cropping{0, 0, 0};     // voxels, original order
  Bbox3 bbox{};                              // crop box in shape_before_cropping, original order
  Shape3 shape_after_cropping{0, 0, 0};      // voxels, original order, = bbox extents
  preprocessing::Geometry geometry;          // ITK spacing/origin/direction; size = original shape
};

// Parses the properties JSON; `where` names the file in errors (missing field, bad length,
// a bbox that does not fit the shapes).
CaseProperties parse_case_properties(const nlohmann::json& properties, const std::string& where);

// What export needs from the plans and the dataset.
struct ExportSettings {
  Axes3 transpose_forward{0, 1, 2};          // plans' transpose_forward
  // The configuration's spacing (mm) in preprocessed order; 2 entries for 2D configurations, whose
  // first axis keeps the case's own spacing.
  std::vector<double> configuration_spacing;
  std::optional<bool> force_separate_z;      // resampling_fn_probabilities_kwargs, null = auto
  std::vector<int> channel_labels{0, 1};     // label value of each logit channel, background first
  nlohmann::json labels_v2 = nlohmann::json::object();  // name -> value, for the probability file
};

// Reads transpose_forward, configurations.<configuration>.spacing and the probability resampling
// kwargs from `plans`, and the labels from `dataset_json` (v2 or MSD spelling). Throws
// nnfleet::Error naming the missing field.
ExportSettings export_settings_from_plans(const nlohmann::json& plans,
                                          const std::string& configuration,
                                          const nlohmann::json& dataset_json);

struct ExportedCase {
  std::string case_id;
  preprocessing::LabelImage segmentation;                      // original geometry, uint8
  std::optional<evaluation::ProbabilityMap> probabilities;     // [K, Z, Y, X] original order
};

// Steps 1-4 above. `logits` is [K, *shape] in preprocessed order with K == channel_labels.size().
ExportedCase export_logits(const std::vector<float>& logits, const Shape3& shape,
                           const CaseProperties& properties, const ExportSettings& settings,
                           bool with_probabilities);

// Step 5: writes <folder>/<case>.nii.gz and, when present, <folder>/<case>.h5 (both atomically).
void write_exported_case(const std::filesystem::path& folder, const ExportedCase& exported);

// The cascade's input from a low-resolution prediction (method reference 6.6): the logits
// [K, *shape] resampled to `target_shape` (the 3d_fullres preprocessed shape of the case, same
// crop and transpose) with the probability rule, then argmax mapped to label values. Returns
// int8 [Z, Y, X] in preprocessed order.
std::vector<int8_t> segmentation_for_next_stage(const std::vector<float>& logits,
                                                const Shape3& shape, const Spacing3& spacing,
                                                const Shape3& target_shape,
                                                const Spacing3& target_spacing,
                                                const ExportSettings& settings);

// Writes `segmentation` as dataset "seg_prev", int8 [1, Z, Y, X], with a "properties" attribute
// naming the case, to `file` (atomically).
void write_next_stage_file(const std::filesystem::path& file, const std::string& case_id,
                           const std::vector<int8_t>& segmentation, const Shape3& shape);

// numpy's transpose for a [channels, *shape] C-order volume: output axis i is input axis axes[i].
template <typename T>
std::vector<T> transpose_volume(const std::vector<T>& values, int64_t channels, const Shape3& shape,
                                const Axes3& axes);

// The inverse permutation (transpose_backward from transpose_forward). Throws on a non-permutation.
Axes3 inverse_axes(const Axes3& axes);

}  // namespace nnfleet::worker
