#include "preprocessing/planner.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "common/error.h"
#include "common/log.h"

namespace nnfleet::preprocessing {
using nlohmann::json;

namespace {

// Constants of nnU-Net v2's default ExperimentPlanner.
constexpr double kRefVal3d = 560000000, kRefVal2d = 85000000, kRefGb = 8;
constexpr int kRefBs3d = 2, kRefBs2d = 12, kMinBatch = 2;
constexpr int kBaseFeatures = 32, kMaxFeatures3d = 320, kMaxFeatures2d = 512;
constexpr double kMaxDatasetCovered = 0.05, kLowresThreshold = 0.25, kAnisoThreshold = 3;

double round_half_even(double v) { return std::nearbyint(v); }

double product(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 1.0, std::multiplies<double>());
}
double product(const std::vector<int64_t>& v) {
  double p = 1;
  for (int64_t x : v) p *= static_cast<double>(x);
  return p;
}

std::vector<int> features_for(size_t stages, int max_features) {
  std::vector<int> f;
  for (size_t s = 0; s < stages; ++s) f.push_back(std::min(max_features, kBaseFeatures << s));
  return f;
}

// Sizes of the encoder stages' outputs for a patch.
std::vector<std::vector<int64_t>> stage_sizes(const Topology& t) {
  std::vector<std::vector<int64_t>> sizes;
  std::vector<int64_t> size = t.patch_size;
  for (const auto& stride : t.strides) {
    for (size_t a = 0; a < size.size(); ++a) size[a] /= stride[a];
    sizes.push_back(size);
  }
  return sizes;
}

}  // namespace

double percentile_of(std::vector<double> values, double q) {
  NNFLEET_CHECK(!values.empty(), "percentile of nothing");
  std::sort(values.begin(), values.end());
  std::vector<std::pair<double, int64_t>> weighted;
  for (double v : values) weighted.emplace_back(v, 1);
  return weighted_percentile(weighted, q);
}

std::vector<int64_t> compute_new_shape(const std::vector<int64_t>& old_shape,
                                       const std::vector<double>& old_spacing,
                                       const std::vector<double>& new_spacing) {
  std::vector<int64_t> out(old_shape.size());
  for (size_t a = 0; a < old_shape.size(); ++a) {
    if (old_shape[a] == 1) {  // a flat axis is never resampled (bad-inputs.md)
      out[a] = 1;
      continue;
    }
    const double v = old_spacing[a] / new_spacing[a] * static_cast<double>(old_shape[a]);
    out[a] = std::max<int64_t>(1, static_cast<int64_t>(round_half_even(v)));
  }
  return out;
}

Topology pool_and_conv_props(const std::vector<double>& spacing, const std::vector<int64_t>& patch,
                             int min_edge) {
  const size_t dim = spacing.size();
  Topology t;
  std::vector<double> cur_spacing = spacing;
  std::vector<double> cur_size(patch.begin(), patch.end());
  std::vector<int> kernel(dim, 1);
  t.num_pool_per_axis.assign(dim, 0);
  t.strides.push_back(std::vector<int>(dim, 1));
  while (true) {
    std::vector<size_t> valid;
    for (size_t a = 0; a < dim; ++a) if (cur_size[a] >= 2 * min_edge) valid.push_back(a);
    if (valid.empty()) break;
    double min_valid = cur_spacing[valid[0]];
    for (size_t a : valid) min_valid = std::min(min_valid, cur_spacing[a]);
    std::vector<size_t> pool;
    for (size_t a : valid) if (cur_spacing[a] / min_valid < 2) pool.push_back(a);
    if (pool.size() == 1 && cur_size[pool[0]] < 3 * min_edge) break;
    if (pool.empty()) break;
    const double min_all = *std::min_element(cur_spacing.begin(), cur_spacing.end());
    for (size_t a = 0; a < dim; ++a) {
      if (kernel[a] != 3 && cur_spacing[a] / min_all < 2) kernel[a] = 3;
    }
    std::vector<int> stride(dim, 1);
    for (size_t a : pool) {
      stride[a] = 2;
      t.num_pool_per_axis[a] += 1;
      cur_spacing[a] *= 2;
      cur_size[a] = std::ceil(cur_size[a] / 2);
    }
    t.strides.push_back(stride);
    t.kernel_sizes.push_back(kernel);
  }
  t.kernel_sizes.push_back(std::vector<int>(dim, 3));
  for (size_t a = 0; a < dim; ++a) {
    const int64_t div = int64_t{1} << t.num_pool_per_axis[a];
    t.divisor.push_back(div);
    t.patch_size.push_back(patch[a] % div == 0 ? patch[a] : patch[a] + div - patch[a] % div);
  }
  return t;
}

int64_t feature_map_size(const Topology& t, const std::vector<int>& features, int num_classes) {
  const auto sizes = stage_sizes(t);
  const size_t n = sizes.size();
  auto voxels = [](const std::vector<int64_t>& s) {
    return std::accumulate(s.begin(), s.end(), int64_t{1}, std::multiplies<int64_t>());
  };
  int64_t total = 0;
  for (size_t s = 0; s < n; ++s) total += 2 * features[s] * voxels(sizes[s]);  // encoder convs
  for (size_t s = 0; s + 1 < n; ++s) {  // decoder stage at the resolution of encoder stage s
    total += 2 * features[s] * voxels(sizes[s]);  // convs
    total += features[s] * voxels(sizes[s]);      // transposed conv output
  }
  total += static_cast<int64_t>(num_classes) * voxels(sizes[0]);  // segmentation head
  return total;
}

namespace {

struct PlanInputs {
  int input_channels = 1;
  int num_classes = 2;
  double gpu_memory_gb = 8;
};

ConfigurationPlan plan_configuration(const std::string& name, const std::vector<double>& spacing,
                                     const std::vector<double>& median_shape,
                                     double approx_dataset_voxels, const PlanInputs& in,
                                     std::map<std::string, int64_t>& cache) {
  const size_t dim = spacing.size();
  const bool is_2d = dim == 2;
  const int max_features = is_2d ? kMaxFeatures2d : kMaxFeatures3d;

  // Initial patch: isotropic in mm, 256^3 (or 2048^2) voxels, clipped to the median shape.
  std::vector<double> inv(dim);
  for (size_t a = 0; a < dim; ++a) inv[a] = 1.0 / spacing[a];
  const double target_voxels = is_2d ? 2048.0 * 2048.0 : 256.0 * 256.0 * 256.0;
  const double scale = std::pow(target_voxels / product(inv), 1.0 / static_cast<double>(dim));
  std::vector<int64_t> patch(dim);
  for (size_t a = 0; a < dim; ++a) {
    const double p = round_half_even(inv[a] * scale);
    patch[a] = static_cast<int64_t>(std::min(p, median_shape[a]));
  }

  Topology t = pool_and_conv_props(spacing, patch);
  auto estimate = [&](const Topology& topo) {
    std::string key;
    for (auto v : topo.patch_size) key += std::to_string(v) + ",";
    for (const auto& s : topo.strides) for (int v : s) key += std::to_string(v);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
    const int64_t e = feature_map_size(topo, features_for(topo.strides.size(), max_features),
                                       in.num_classes);
    cache[key] = e;
    return e;
  };
  const double reference = (is_2d ? kRefVal2d : kRefVal3d) * (in.gpu_memory_gb / kRefGb);
  const int ref_bs = is_2d ? kRefBs2d : kRefBs3d;
  int64_t est = estimate(t);
  while (static_cast<double>(est) / ref_bs * 2 > reference) {
    // Shrink the axis that is largest relative to the median shape (ties: the last such axis).
    size_t axis = 0;
    double best = -1;
    for (size_t a = 0; a < dim; ++a) {
      const double r = static_cast<double>(t.patch_size[a]) / median_shape[a];
      if (r >= best) { best = r; axis = a; }
    }
    std::vector<int64_t> candidate = t.patch_size;
    candidate[axis] -= t.divisor[axis];
    const Topology probe = pool_and_conv_props(spacing, candidate);
    std::vector<int64_t> shrunk = t.patch_size;
    shrunk[axis] -= probe.divisor[axis];
    t = pool_and_conv_props(spacing, shrunk);
    est = estimate(t);
  }

  ConfigurationPlan plan;
  plan.name = name;
  plan.spacing = spacing;
  plan.median_image_size_in_voxels = median_shape;
  plan.topology = t;
  plan.patch_size = t.patch_size;
  plan.features_per_stage = features_for(t.strides.size(), max_features);
  const double batch = round_half_even(reference / static_cast<double>(est) * ref_bs);
  const double cap = round_half_even(approx_dataset_voxels * kMaxDatasetCovered / product(t.patch_size));
  plan.batch_size = static_cast<int>(std::max<double>(std::min(batch, cap), kMinBatch));
  return plan;
}

std::array<int, 3> transpose_for(const std::array<double, 3>& target) {
  const int worst = static_cast<int>(std::max_element(target.begin(), target.end()) - target.begin());
  std::array<int, 3> forward{worst, 0, 0};
  int k = 1;
  for (int a = 0; a < 3; ++a) if (a != worst) forward[k++] = a;
  return forward;
}

template <typename T>
std::vector<T> permute(const std::array<T, 3>& v, const std::array<int, 3>& order) {
  return {v[order[0]], v[order[1]], v[order[2]]};
}

// Lowres search (method 3.7). Returns nullopt when no lowres configuration is created or kept.
std::optional<ConfigurationPlan> plan_lowres(const ConfigurationPlan& fullres,
                                             const std::vector<double>& median_shape,
                                             int num_training, const PlanInputs& in,
                                             std::map<std::string, int64_t>& cache) {
  const double fullres_voxels = product(median_shape);
  double median_voxels = fullres_voxels;
  double patch_voxels = product(fullres.patch_size);
  std::vector<double> spacing = fullres.spacing;
  std::optional<ConfigurationPlan> lowres;
  while (patch_voxels / median_voxels < kLowresThreshold) {
    const double max_spacing = *std::max_element(spacing.begin(), spacing.end());
    bool any_fine = false;
    for (double s : spacing) any_fine = any_fine || max_spacing / s > 2;
    std::vector<double> next = spacing;
    for (size_t a = 0; a < 3; ++a) {
      if (!any_fine || max_spacing / spacing[a] > 2) next[a] *= 1.03;
    }
    spacing = next;
    std::vector<double> shape(3), rounded(3);
    for (size_t a = 0; a < 3; ++a) {
      shape[a] = fullres.spacing[a] / spacing[a] * median_shape[a];
      rounded[a] = round_half_even(shape[a]);
    }
    median_voxels = product(shape);
    lowres = plan_configuration("3d_lowres", spacing, rounded, median_voxels * num_training, in,
                                cache);
    patch_voxels = product(lowres->patch_size);
  }
  if (lowres && fullres_voxels / median_voxels < 2) {
    spdlog::info("dropping 3d_lowres: its median image is less than half of 3d_fullres");
    lowres.reset();
  }
  return lowres;
}

}  // namespace

std::array<double, 3> fullres_target_spacing(const DatasetFingerprint& f) {
  NNFLEET_CHECK(!f.spacings.empty(), "fingerprint without cases");
  std::array<double, 3> target{}, target_size{};
  for (int a = 0; a < 3; ++a) {
    std::vector<double> s, n;
    for (const auto& sp : f.spacings) s.push_back(sp[a]);
    for (const auto& sh : f.shapes_after_crop) n.push_back(static_cast<double>(sh[a]));
    target[a] = percentile_of(s, 50);
    target_size[a] = percentile_of(n, 50);
  }
  const int worst = static_cast<int>(std::max_element(target.begin(), target.end()) - target.begin());
  double max_other_spacing = 0, min_other_size = INFINITY;
  for (int a = 0; a < 3; ++a) {
    if (a == worst) continue;
    max_other_spacing = std::max(max_other_spacing, target[a]);
    min_other_size = std::min(min_other_size, target_size[a]);
  }
  const bool aniso_spacing = target[worst] > kAnisoThreshold * max_other_spacing;
  const bool aniso_voxels = target_size[worst] * kAnisoThreshold < min_other_size;
  if (aniso_spacing && aniso_voxels) {
    std::vector<double> s;
    for (const auto& sp : f.spacings) s.push_back(sp[worst]);
    double t = percentile_of(s, 10);
    if (t < max_other_spacing) t = std::max(max_other_spacing, t) + 1e-5;
    target[worst] = t;
  }
  return target;
}

std::string normalization_scheme_for(const std::string& channel_name) {
  std::string n = channel_name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
  if (n == "ct") return "CTNormalization";
  if (n == "nonorm") return "NoNormalization";
  if (n == "rescale_to_0_1") return "RescaleTo01Normalization";
  if (n == "rgb_to_0_1") return "RGBTo01Normalization";
  return "ZScoreNormalization";
}

Plans plan_experiment(const DatasetFingerprint& f, const DatasetDescription& dataset,
                      const std::string& dataset_name, const PlannerOptions& options) {
  Plans plans;
  plans.dataset_name = dataset_name;
  plans.plans_name = options.plans_name;
  plans.num_input_channels = dataset.num_channels();
  plans.num_classes = static_cast<int>(dataset.labels.size());
  plans.foreground_intensity_properties_per_channel =
      f.to_json()["foreground_intensity_properties_per_channel"];
  for (const auto& c : dataset.channel_names) {
    plans.normalization_schemes.push_back(normalization_scheme_for(c));
    plans.use_mask_for_norm.push_back(f.median_relative_size_after_cropping < 0.75 &&
                                      plans.normalization_schemes.back() == "ZScoreNormalization");
  }

  const std::array<double, 3> target = fullres_target_spacing(f);
  plans.transpose_forward = transpose_for(target);
  for (int a = 0; a < 3; ++a) plans.transpose_backward[plans.transpose_forward[a]] = a;
  const auto& tf = plans.transpose_forward;

  // Median shape at the target spacing, and the dataset's approximate voxel count.
  std::array<std::vector<double>, 3> new_shapes;
  for (size_t i = 0; i < f.spacings.size(); ++i) {
    const auto s = compute_new_shape({f.shapes_after_crop[i].begin(), f.shapes_after_crop[i].end()},
                                     {f.spacings[i].begin(), f.spacings[i].end()},
                                     {target.begin(), target.end()});
    for (int a = 0; a < 3; ++a) new_shapes[a].push_back(static_cast<double>(s[a]));
  }
  std::array<double, 3> median{};
  for (int a = 0; a < 3; ++a) median[a] = median_of(new_shapes[a]);
  const std::vector<double> median_t = permute(median, tf);
  const std::vector<double> spacing_t = permute(target, tf);
  const double approx_voxels = product(median_t) * dataset.num_training;

  PlanInputs in{plans.num_input_channels, plans.num_classes, options.gpu_memory_gb};
  std::map<std::string, int64_t> cache;
  auto wanted = [&](const std::string& c) {
    return std::find(options.configurations.begin(), options.configurations.end(), c) !=
           options.configurations.end();
  };
  std::optional<ConfigurationPlan> fullres, lowres;
  if (median_t[0] != 1) {
    fullres = plan_configuration("3d_fullres", spacing_t, median_t, approx_voxels, in, cache);
    lowres = plan_lowres(*fullres, median_t, dataset.num_training, in, cache);
    fullres->batch_dice = lowres.has_value();
    if (lowres) lowres->next_stage = "3d_cascade_fullres";
  }
  ConfigurationPlan plan_2d = plan_configuration(
      "2d", {spacing_t[1], spacing_t[2]}, {median_t[1], median_t[2]}, approx_voxels, in, cache);
  plan_2d.batch_dice = true;

  const std::string prefix = options.plans_name + "_";
  if (wanted("2d")) plans.configurations.push_back(plan_2d);
  if (lowres && wanted("3d_lowres")) plans.configurations.push_back(*lowres);
  if (fullres && wanted("3d_fullres")) plans.configurations.push_back(*fullres);
  plans.has_cascade = lowres.has_value() && fullres.has_value();
  for (auto& c : plans.configurations) c.data_identifier = prefix + c.name;

  std::array<double, 3> orig_spacing{}, orig_shape{};
  for (int a = 0; a < 3; ++a) {
    std::vector<double> s, n;
    for (const auto& sp : f.spacings) s.push_back(sp[a]);
    for (const auto& sh : f.shapes_after_crop) n.push_back(static_cast<double>(sh[a]));
    orig_spacing[a] = median_of(s);
    orig_shape[a] = median_of(n);
  }
  plans.original_median_spacing_after_transp = permute(orig_spacing, tf);
  for (double v : permute(orig_shape, tf)) {
    plans.original_median_shape_after_transp.push_back(static_cast<int64_t>(round_half_even(v)));
  }
  return plans;
}

namespace {

json configuration_json(const ConfigurationPlan& c, const Plans& plans) {
  const bool is_2d = c.spacing.size() == 2;
  const std::string conv = is_2d ? "torch.nn.modules.conv.Conv2d" : "torch.nn.modules.conv.Conv3d";
  const std::string norm = is_2d ? "torch.nn.modules.instancenorm.InstanceNorm2d"
                                 : "torch.nn.modules.instancenorm.InstanceNorm3d";
  const size_t stages = c.topology.strides.size();
  json arch = {
      {"n_stages", stages},
      {"features_per_stage", c.features_per_stage},
      {"conv_op", conv},
      {"kernel_sizes", c.topology.kernel_sizes},
      {"strides", c.topology.strides},
      {"n_conv_per_stage", std::vector<int>(stages, 2)},
      {"n_conv_per_stage_decoder", std::vector<int>(stages - 1, 2)},
      {"conv_bias", true},
      {"norm_op", norm},
      {"norm_op_kwargs", {{"eps", 1e-05}, {"affine", true}}},
      {"dropout_op", nullptr},
      {"dropout_op_kwargs", nullptr},
      {"nonlin", "torch.nn.LeakyReLU"},
      {"nonlin_kwargs", {{"inplace", true}}},
  };
  auto resampling_kwargs = [](bool is_seg, int order) {
    return json{{"is_seg", is_seg}, {"order", order}, {"order_z", 0}, {"force_separate_z", nullptr}};
  };
  json j = {
      {"data_identifier", c.data_identifier},
      {"preprocessor_name", "DefaultPreprocessor"},
      {"batch_size", c.batch_size},
      {"patch_size", c.patch_size},
      {"median_image_size_in_voxels", c.median_image_size_in_voxels},
      {"spacing", c.spacing},
      {"normalization_schemes", plans.normalization_schemes},
      {"use_mask_for_norm", plans.use_mask_for_norm},
      {"resampling_fn_data", "resample_data_or_seg_to_shape"},
      {"resampling_fn_seg", "resample_data_or_seg_to_shape"},
      {"resampling_fn_data_kwargs", resampling_kwargs(false, 3)},
      {"resampling_fn_seg_kwargs", resampling_kwargs(true, 1)},
      {"resampling_fn_probabilities", "resample_data_or_seg_to_shape"},
      {"resampling_fn_probabilities_kwargs", resampling_kwargs(false, 1)},
      {"architecture",
       {{"network_class_name", "dynamic_network_architectures.architectures.unet.PlainConvUNet"},
        {"arch_kwargs", arch},
        {"_kw_requires_import", {"conv_op", "norm_op", "dropout_op", "nonlin"}}}},
      {"batch_dice", c.batch_dice},
  };
  if (c.next_stage) j["next_stage"] = *c.next_stage;
  return j;
}

}  // namespace

json plans_to_json(const Plans& plans) {
  json configs = json::object();
  for (const auto& c : plans.configurations) configs[c.name] = configuration_json(c, plans);
  if (plans.has_cascade && configs.contains("3d_fullres")) {
    configs["3d_cascade_fullres"] = {{"inherits_from", "3d_fullres"},
                                     {"previous_stage", "3d_lowres"}};
  }
  return {
      {"dataset_name", plans.dataset_name},
      {"plans_name", plans.plans_name},
      {"original_median_spacing_after_transp", plans.original_median_spacing_after_transp},
      {"original_median_shape_after_transp", plans.original_median_shape_after_transp},
      {"image_reader_writer", "SimpleITKIO"},
      {"transpose_forward", plans.transpose_forward},
      {"transpose_backward", plans.transpose_backward},
      {"configurations", configs},
      {"experiment_planner_used", "ExperimentPlanner"},
      {"label_manager", "LabelManager"},
      {"foreground_intensity_properties_per_channel",
       plans.foreground_intensity_properties_per_channel},
  };
}

}  // namespace nnfleet::preprocessing
