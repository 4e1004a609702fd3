#include "worker/export.h"

#include <algorithm>
#include <cmath>

#include "common/atomic_file.h"
#include "common/error.h"
#include "evaluation/labels.h"
#include "preprocessing/h5_file.h"

namespace nnfleet::worker {
namespace {

int64_t volume(const Shape3& s) { return s[0] * s[1] * s[2]; }

template <typename T, size_t N>
std::array<T, N> fixed(const nlohmann::json& j, const char* field, const std::string& where) {
  if (!j.contains(field) || !j[field].is_array() || j[field].size() != N)
    throw Error("[export] " + where + ": properties field '" + field + "' must be a list of " +
                std::to_string(N) + " numbers");
  std::array<T, N> out{};
  for (size_t i = 0; i < N; ++i) out[i] = j[field][i].get<T>();
  return out;
}

template <typename T>
std::array<T, 3> permute(const std::array<T, 3>& v, const Axes3& axes) {
  return {v[static_cast<size_t>(axes[0])], v[static_cast<size_t>(axes[1])],
          v[static_cast<size_t>(axes[2])]};
}

// Copies a [channels, *inner] block into a [channels, *outer] volume at `lo`.
template <typename T>
void paste(const std::vector<T>& inner, int64_t channels, const Shape3& inner_shape,
           std::vector<T>& outer, const Shape3& outer_shape, const Shape3& lo) {
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t z = 0; z < inner_shape[0]; ++z)
      for (int64_t y = 0; y < inner_shape[1]; ++y) {
        const T* src = inner.data() + ((c * inner_shape[0] + z) * inner_shape[1] + y) * inner_shape[2];
        T* dst = outer.data() +
                 ((c * outer_shape[0] + z + lo[0]) * outer_shape[1] + y + lo[1]) * outer_shape[2] + lo[2];
        std::copy(src, src + inner_shape[2], dst);
      }
}

// Channel index of the largest value per voxel (first on ties, like numpy), as label values.
template <typename Label>
std::vector<Label> argmax_labels(const std::vector<float>& values, int64_t channels, int64_t n,
                                 const std::vector<int>& channel_labels) {
  std::vector<Label> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    int64_t best = 0;
    float top = values[static_cast<size_t>(i)];
    for (int64_t c = 1; c < channels; ++c) {
      const float v = values[static_cast<size_t>(c * n + i)];
      if (v > top) top = v, best = c;
    }
    out[static_cast<size_t>(i)] = static_cast<Label>(channel_labels[static_cast<size_t>(best)]);
  }
  return out;
}

std::vector<float> softmax_channels(const std::vector<float>& logits, int64_t channels, int64_t n) {
  std::vector<float> out(logits.size());
  for (int64_t i = 0; i < n; ++i) {
    float top = logits[static_cast<size_t>(i)];
    for (int64_t c = 1; c < channels; ++c) top = std::max(top, logits[static_cast<size_t>(c * n + i)]);
    double sum = 0;
    for (int64_t c = 0; c < channels; ++c) sum += std::exp(double(logits[static_cast<size_t>(c * n + i)] - top));
    for (int64_t c = 0; c < channels; ++c)
      out[static_cast<size_t>(c * n + i)] =
          static_cast<float>(std::exp(double(logits[static_cast<size_t>(c * n + i)] - top)) / sum);
  }
  return out;
}

// Resolves a configuration's field through v2's "inherits_from".
const nlohmann::json* configuration_field(const nlohmann::json& plans, const std::string& configuration,
                                          const std::string& field) {
  std::string name = configuration;
  for (int depth = 0; depth < 8; ++depth) {
    if (!plans.contains("configurations") || !plans["configurations"].contains(name))
      throw Error("[export] plans have no configuration '" + name + "'");
    const nlohmann::json& c = plans["configurations"][name];
    if (c.contains(field)) return &c[field];
    if (!c.contains("inherits_from")) return nullptr;
    name = c["inherits_from"].get<std::string>();
  }
  throw Error("[export] plans: inherits_from of '" + configuration + "' is circular");
}

Spacing3 current_spacing(const ExportSettings& settings, const Spacing3& original_preprocessed_order) {
  const auto& s = settings.configuration_spacing;
  if (s.size() == 3) return {s[0], s[1], s[2]};
  if (s.size() == 2) return {original_preprocessed_order[0], s[0], s[1]};
  throw Error("[export] configuration spacing must have 2 or 3 entries, got " + std::to_string(s.size()));
}

}  // namespace

Axes3 inverse_axes(const Axes3& axes) {
  Axes3 inv{-1, -1, -1};
  for (int i = 0; i < 3; ++i) {
    const int a = axes[static_cast<size_t>(i)];
    if (a < 0 || a > 2 || inv[static_cast<size_t>(a)] != -1)
      throw Error("[export] transpose axes (" + std::to_string(axes[0]) + ", " + std::to_string(axes[1]) +
                  ", " + std::to_string(axes[2]) + ") are not a permutation of (0, 1, 2)");
    inv[static_cast<size_t>(a)] = i;
  }
  return inv;
}

template <typename T>
std::vector<T> transpose_volume(const std::vector<T>& values, int64_t channels, const Shape3& shape,
                                const Axes3& axes) {
  inverse_axes(axes);  // validates
  const Shape3 out_shape = permute(shape, axes);
  const Shape3 in_stride{shape[1] * shape[2], shape[2], 1};
  const Shape3 stride = permute(in_stride, axes);  // input stride of each output axis
  std::vector<T> out(values.size());
  const int64_t n = volume(shape);
  T* dst = out.data();
  for (int64_t c = 0; c < channels; ++c) {
    const T* src = values.data() + c * n;
    for (int64_t i = 0; i < out_shape[0]; ++i)
      for (int64_t j = 0; j < out_shape[1]; ++j) {
        const T* row = src + i * stride[0] + j * stride[1];
        for (int64_t k = 0; k < out_shape[2]; ++k) *dst++ = row[k * stride[2]];
      }
  }
  return out;
}

template std::vector<float> transpose_volume(const std::vector<float>&, int64_t, const Shape3&, const Axes3&);
template std::vector<uint8_t> transpose_volume(const std::vector<uint8_t>&, int64_t, const Shape3&, const Axes3&);
template std::vector<int8_t> transpose_volume(const std::vector<int8_t>&, int64_t, const Shape3&, const Axes3&);

CaseProperties parse_case_properties(const nlohmann::json& j, const std::string& where) {
  CaseProperties p;
  p.case_id = j.value("case", std::string());
  p.spacing = fixed<double, 3>(j, "spacing", where);
  p.shape_before_cropping = fixed<int64_t, 3>(j, "shape_before_cropping", where);
  p.shape_after_cropping = fixed<int64_t, 3>(j, "shape_after_cropping_and_before_resampling", where);
  if (!j.contains("bbox_used_for_cropping") || j["bbox_used_for_cropping"].size() != 3)
    throw Error("[export] " + where + ": properties field 'bbox_used_for_cropping' must hold 3 [lo, hi] pairs");
  for (size_t a = 0; a < 3; ++a) {
    p.bbox[a] = j["bbox_used_for_cropping"][a].get<std::array<int64_t, 2>>();
    const bool fits = 0 <= p.bbox[a][0] && p.bbox[a][0] < p.bbox[a][1] &&
                      p.bbox[a][1] <= p.shape_before_cropping[a] &&
                      p.bbox[a][1] - p.bbox[a][0] == p.shape_after_cropping[a];
    if (!fits)
      throw Error("[export] " + where + ": crop box axis " + std::to_string(a) + " [" +
                  std::to_string(p.bbox[a][0]) + ", " + std::to_string(p.bbox[a][1]) +
                  ") does not fit shape_before_cropping " + std::to_string(p.shape_before_cropping[a]) +
                  " and shape_after_cropping " + std::to_string(p.shape_after_cropping[a]));
  }
  p.geometry.spacing_xyz = fixed<double, 3>(j, "itk_spacing_xyz", where);
  p.geometry.origin_xyz = fixed<double, 3>(j, "itk_origin_xyz", where);
  p.geometry.direction = fixed<double, 9>(j, "itk_direction", where);
  p.geometry.size_xyz = {p.shape_before_cropping[2], p.shape_before_cropping[1], p.shape_before_cropping[0]};
  return p;
}

ExportSettings export_settings_from_plans(const nlohmann::json& plans, const std::string& configuration,
                                          const nlohmann::json& dataset_json) {
  ExportSettings s;
  if (plans.contains("transpose_forward"))
    s.transpose_forward = plans["transpose_forward"].get<Axes3>();
  inverse_axes(s.transpose_forward);
  const nlohmann::json* spacing = configuration_field(plans, configuration, "spacing");
  if (spacing == nullptr)
    throw Error("[export] plans: configuration '" + configuration + "' has no 'spacing'");
  s.configuration_spacing = spacing->get<std::vector<double>>();
  const nlohmann::json* kwargs = configuration_field(plans, configuration, "resampling_fn_probabilities_kwargs");
  if (kwargs != nullptr && kwargs->contains("force_separate_z") && !(*kwargs)["force_separate_z"].is_null())
    s.force_separate_z = (*kwargs)["force_separate_z"].get<bool>();

  const evaluation::LabelSet labels = evaluation::parse_labels(dataset_json, "dataset.json");
  s.channel_labels = {0};
  for (int l : labels.foreground) s.channel_labels.push_back(l);
  s.labels_v2 = evaluation::labels_to_v2_json(labels);
  return s;
}

ExportedCase export_logits(const std::vector<float>& logits, const Shape3& shape,
                           const CaseProperties& properties, const ExportSettings& settings,
                           bool with_probabilities) {
  const int64_t k = static_cast<int64_t>(settings.channel_labels.size());
  if (static_cast<int64_t>(logits.size()) != k * volume(shape))
    throw Error("[export] case " + properties.case_id + ": logits hold " + std::to_string(logits.size()) +
                " values, expected " + std::to_string(k) + " channels x " + std::to_string(volume(shape)));
  const Axes3& forward = settings.transpose_forward;
  const Shape3 cropped_pre = permute(properties.shape_after_cropping, forward);
  const Spacing3 original_pre = permute(properties.spacing, forward);

  // 1-2: resample to the cropped original grid, then classify (and softmax).
  const std::vector<float> resampled =
      resample_logits(logits, k, shape, cropped_pre, current_spacing(settings, original_pre), original_pre,
                      settings.force_separate_z);
  const int64_t n = volume(cropped_pre);
  const Axes3 backward = inverse_axes(forward);
  const Shape3 lo{properties.bbox[0][0], properties.bbox[1][0], properties.bbox[2][0]};
  const Shape3& full = properties.shape_before_cropping;

  // 3-4: undo the transpose, paste into the uncropped volume.
  ExportedCase out;
  out.case_id = properties.case_id;
  out.segmentation.geometry = properties.geometry;
  out.segmentation.voxels.assign(static_cast<size_t>(volume(full)), 0);
  const auto labels = transpose_volume(argmax_labels<uint8_t>(resampled, k, n, settings.channel_labels), 1,
                                       cropped_pre, backward);
  paste(labels, 1, properties.shape_after_cropping, out.segmentation.voxels, full, lo);

  if (with_probabilities) {
    evaluation::ProbabilityMap map;
    map.geometry = properties.geometry;
    map.num_classes = static_cast<int>(k);
    map.case_id = properties.case_id;
    map.labels = settings.labels_v2;
    map.values.assign(static_cast<size_t>(k * volume(full)), 0.0f);
    std::fill(map.values.begin(), map.values.begin() + volume(full), 1.0f);  // background outside
    const auto probs = transpose_volume(softmax_channels(resampled, k, n), k, cropped_pre, backward);
    paste(probs, k, properties.shape_after_cropping, map.values, full, lo);
    out.probabilities = std::move(map);
  }
  return out;
}

void write_exported_case(const std::filesystem::path& folder, const ExportedCase& exported) {
  if (exported.case_id.empty()) throw Error("[export] cannot write a prediction without a case name");
  std::filesystem::create_directories(folder);
  preprocessing::write_label(folder / (exported.case_id + ".nii.gz"), exported.segmentation);
  if (exported.probabilities)
    evaluation::write_probability_file(folder / (exported.case_id + ".h5"), *exported.probabilities);
}

std::vector<int8_t> segmentation_for_next_stage(const std::vector<float>& logits, const Shape3& shape,
                                                const Spacing3& spacing, const Shape3& target_shape,
                                                const Spacing3& target_spacing,
                                                const ExportSettings& settings) {
  const int64_t k = static_cast<int64_t>(settings.channel_labels.size());
  NNFLEET_CHECK(static_cast<int64_t>(logits.size()) == k * volume(shape), "next stage: logits size");
  const auto resampled =
      resample_logits(logits, k, shape, target_shape, spacing, target_spacing, settings.force_separate_z);
  return argmax_labels<int8_t>(resampled, k, volume(target_shape), settings.channel_labels);
}

void write_next_stage_file(const std::filesystem::path& file, const std::string& case_id,
                           const std::vector<int8_t>& segmentation, const Shape3& shape) {
  NNFLEET_CHECK(static_cast<int64_t>(segmentation.size()) == volume(shape), "next stage: seg size");
  std::filesystem::create_directories(file.parent_path());
  write_atomically(file, [&](const std::filesystem::path& tmp) {
    auto h5 = preprocessing::H5File::create(tmp);
    const std::vector<int64_t> chunk{1, std::min<int64_t>(64, shape[0]), std::min<int64_t>(64, shape[1]),
                                     std::min<int64_t>(64, shape[2])};
    h5.write("seg_prev", {1, shape[0], shape[1], shape[2]}, segmentation.data(), chunk, 1);
    h5.set_attribute("properties", nlohmann::json{{"case", case_id}}.dump());
  });
}

}  // namespace nnfleet::worker
