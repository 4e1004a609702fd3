#pragma once
// The experiment planner, nnU-Net v2 `ExperimentPlanner` rules (method section 3): target spacing
// with the anisotropy exception, transpose, network topology (get_pool_and_conv_props, v2), the
// feature-map memory model with the patch shrink loop, batch size with the 5 % cap, 2d,
// 3d_fullres, and 3d_lowres + 3d_cascade_fullres when the rule creates them, and normalisation per
// channel. Spacings and shapes are in array order; after transpose, axis 0 has the largest spacing.
//
// The output is nnUNetPlans.json with nnU-Net v2's field names (see plans_to_json).

#include <array>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "preprocessing/dataset.h"
#include "preprocessing/fingerprint.h"

namespace nnfleet::preprocessing {

struct PlannerOptions {
  double gpu_memory_gb = 8;  // memory target; nnU-Net's reference values correspond to 8 GB
  std::vector<std::string> configurations{"2d", "3d_fullres", "3d_lowres"};
  std::string plans_name = "nnUNetPlans";
};

// Pooling and convolution layout for one patch (2 or 3 axes).
struct Topology {
  std::vector<int> num_pool_per_axis;
  std::vector<std::vector<int>> strides;       // per stage, first is all 1
  std::vector<std::vector<int>> kernel_sizes;  // per stage, last (bottleneck) is all 3
  std::vector<int64_t> patch_size;             // padded up to a multiple of `divisor`
  std::vector<int64_t> divisor;                // 2^num_pool_per_axis
};

// nnU-Net v2 get_pool_and_conv_props with min feature-map edge `min_edge` and unlimited pools.
Topology pool_and_conv_props(const std::vector<double>& spacing, const std::vector<int64_t>& patch,
                             int min_edge = 4);

// nnU-Net v2's feature-map count of a PlainConvUNet (2 convs per stage, no deep-supervision
// heads): the VRAM proxy of the shrink loop.
int64_t feature_map_size(const Topology& t, const std::vector<int>& features, int num_classes);

// One configuration's plan, in nnU-Net v2's terms.
struct ConfigurationPlan {
  std::string name;
  std::string data_identifier;
  int batch_size = 2;
  std::vector<int64_t> patch_size;
  std::vector<double> median_image_size_in_voxels;
  std::vector<double> spacing;
  Topology topology;
  std::vector<int> features_per_stage;
  bool batch_dice = false;
  std::optional<std::string> next_stage;
};

struct Plans {
  std::string dataset_name;
  std::string plans_name = "nnUNetPlans";
  std::array<int, 3> transpose_forward{0, 1, 2};
  std::array<int, 3> transpose_backward{0, 1, 2};
  std::vector<double> original_median_spacing_after_transp;
  std::vector<int64_t> original_median_shape_after_transp;
  std::vector<std::string> normalization_schemes;  // per channel, v2 class names
  std::vector<bool> use_mask_for_norm;
  std::vector<ConfigurationPlan> configurations;   // 2d, 3d_lowres, 3d_fullres (those planned)
  bool has_cascade = false;
  nlohmann::json foreground_intensity_properties_per_channel;
  int num_input_channels = 1;
  int num_classes = 2;
};

// Plans a dataset from its fingerprint. `dataset_name` is the canonical output name.
Plans plan_experiment(const DatasetFingerprint& fingerprint, const DatasetDescription& dataset,
                      const std::string& dataset_name, const PlannerOptions& options);

nlohmann::json plans_to_json(const Plans& plans);

// Target spacing of 3d_fullres (before transpose), per method section 3.1.
std::array<double, 3> fullres_target_spacing(const DatasetFingerprint& fingerprint);

// round(old_spacing / new_spacing * old_shape) per axis (half to even, as Python's round),
// never below 1; an axis of size 1 stays 1.
std::vector<int64_t> compute_new_shape(const std::vector<int64_t>& old_shape,
                                       const std::vector<double>& old_spacing,
                                       const std::vector<double>& new_spacing);

// v2 normalisation class name for a channel name ("CT" -> "CTNormalization", ...).
std::string normalization_scheme_for(const std::string& channel_name);

// numpy.percentile(values, q) (linear) of plain values.
double percentile_of(std::vector<double> values, double q);

}  // namespace nnfleet::preprocessing
