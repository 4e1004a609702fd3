#include "preprocessing/case_preprocessor.h"

#include <cmath>

#include "common/atomic_file.h"
#include "common/error.h"
#include "preprocessing/h5_file.h"
#include "preprocessing/normalize.h"
#include "preprocessing/numpy_random.h"
#include "preprocessing/planner.h"
#include "preprocessing/resample.h"

namespace nnfleet::preprocessing {
using nlohmann::json;

namespace {

// out axis a = in axis order[a], for (C, shape) arrays.
template <typename T>
std::vector<T> transpose(const std::vector<T>& in, int channels, const Shape3& shape,
                         const std::array<int, 3>& order) {
  if (order == std::array<int, 3>{0, 1, 2}) return in;
  const Shape3 out_shape{shape[order[0]], shape[order[1]], shape[order[2]]};
  const Shape3 stride{shape[1] * shape[2], shape[2], 1};
  const Shape3 s{stride[order[0]], stride[order[1]], stride[order[2]]};
  std::vector<T> out(in.size());
  const int64_t n = volume_of(shape);
  size_t k = 0;
  for (int c = 0; c < channels; ++c)
    for (int64_t i = 0; i < out_shape[0]; ++i)
      for (int64_t j = 0; j < out_shape[1]; ++j)
        for (int64_t l = 0; l < out_shape[2]; ++l) out[k++] = in[c * n + i * s[0] + j * s[1] + l * s[2]];
  return out;
}

template <typename T>
std::array<T, 3> permute(const std::array<T, 3>& v, const std::array<int, 3>& order) {
  return {v[order[0]], v[order[1]], v[order[2]]};
}

json properties_of(const LoadedCase& loaded, const CroppedCase& cropped,
                   const std::array<int, 3>& transpose_forward) {
  const Geometry& g = loaded.image.geometry;
  json bbox = json::array();
  for (int a = 0; a < 3; ++a) bbox.push_back({cropped.box.lo[a], cropped.box.hi[a]});
  return {{"case", loaded.id},
          {"spacing", g.spacing_zyx()},
          {"shape_before_cropping", cropped.shape_before},
          {"bbox_used_for_cropping", bbox},
          {"shape_after_cropping_and_before_resampling", cropped.shape()},
          {"itk_spacing_xyz", g.spacing_xyz},
          {"itk_origin_xyz", g.origin_xyz},
          {"itk_direction", g.direction},
          {"file_dimension", g.file_dimension},
          {"transpose_forward", transpose_forward}};
}

}  // namespace

ConfigurationSettings ConfigurationSettings::from_plans(const json& plans, const std::string& name,
                                                        const json& dataset_json) {
  const json& configs = plans.at("configurations");
  if (!configs.contains(name)) {
    throw Error("plans have no configuration '" + name + "' (have: " + configs.dump() + ")");
  }
  json c = configs.at(name);
  for (int depth = 0; c.contains("inherits_from") && depth < 8; ++depth) {
    json parent = configs.at(c["inherits_from"].get<std::string>());
    c.erase("inherits_from");
    parent.update(c);
    c = parent;
  }
  ConfigurationSettings s;
  s.name = name;
  s.data_identifier = c.at("data_identifier");
  s.spacing = c.at("spacing").get<std::vector<double>>();
  s.patch_size = c.at("patch_size").get<std::vector<int64_t>>();
  s.transpose_forward = plans.at("transpose_forward").get<std::array<int, 3>>();
  s.normalization_schemes = c.at("normalization_schemes").get<std::vector<std::string>>();
  s.use_mask_for_norm = c.at("use_mask_for_norm").get<std::vector<bool>>();
  const json& props = plans.at("foreground_intensity_properties_per_channel");
  for (size_t ch = 0; ch < s.normalization_schemes.size(); ++ch) {
    s.intensity.push_back(IntensityStats::from_json(props.at(std::to_string(ch))));
  }
  for (const auto& [label, value] : dataset_json.at("labels").items()) {
    if (value.get<int>() > 0) s.foreground_labels.push_back(value.get<int>());
  }
  std::sort(s.foreground_labels.begin(), s.foreground_labels.end());
  return s;
}

std::map<int, std::vector<std::array<int64_t, 3>>> sample_class_locations(
    const std::vector<int8_t>& seg, const Shape3& shape, const std::vector<int>& labels) {
  std::map<int, std::vector<int64_t>> voxels;
  for (int label : labels) voxels[label];
  for (int64_t i = 0; i < static_cast<int64_t>(seg.size()); ++i) {
    auto it = voxels.find(seg[i]);
    if (it != voxels.end()) it->second.push_back(i);
  }
  NumpyLegacyRandom rng(1234);
  std::map<int, std::vector<std::array<int64_t, 3>>> out;
  for (int label : labels) {
    const auto& all = voxels[label];
    auto& picked = out[label];
    const auto total = static_cast<int64_t>(all.size());
    if (total == 0) continue;
    const int64_t k = std::max<int64_t>(std::min<int64_t>(10000, total),
                                        static_cast<int64_t>(std::ceil(total * 0.01)));
    for (int64_t offset : rng.choice_without_replacement(total, k)) {
      const int64_t i = all[offset];
      picked.push_back({i / (shape[1] * shape[2]), (i / shape[2]) % shape[1], i % shape[2]});
    }
  }
  return out;
}

PreprocessedCase preprocess_case(const LoadedCase& loaded, const ConfigurationSettings& s) {
  const Image& image = loaded.image;
  const Shape3 shape = image.geometry.shape_zyx();
  if (static_cast<int>(s.normalization_schemes.size()) != image.channels) {
    throw Error("case " + loaded.id + ": has " + std::to_string(image.channels) +
                " channels but the plans normalise " + std::to_string(s.normalization_schemes.size()));
  }
  CroppedCase cropped = crop_to_nonzero(image.voxels, image.channels, shape,
                                        loaded.label ? loaded.label->voxels.data() : nullptr);
  PreprocessedCase out;
  out.id = loaded.id;
  out.channels = image.channels;
  out.properties = properties_of(loaded, cropped, s.transpose_forward);

  const auto& tf = s.transpose_forward;
  const Shape3 shape_t = permute(cropped.shape(), tf);
  std::vector<float> data = transpose(cropped.data, image.channels, cropped.shape(), tf);
  std::vector<int8_t> seg = transpose(cropped.seg, 1, cropped.shape(), tf);
  const std::array<double, 3> spacing_t = permute(image.geometry.spacing_zyx(), tf);
  const std::array<double, 3> target =
      s.is_2d() ? std::array<double, 3>{spacing_t[0], s.spacing[0], s.spacing[1]}
                : std::array<double, 3>{s.spacing[0], s.spacing[1], s.spacing[2]};
  const auto new_shape_v = compute_new_shape({shape_t.begin(), shape_t.end()},
                                             {spacing_t.begin(), spacing_t.end()},
                                             {target.begin(), target.end()});
  const Shape3 new_shape{new_shape_v[0], new_shape_v[1], new_shape_v[2]};

  const int64_t n = volume_of(shape_t);
  for (int c = 0; c < image.channels; ++c) {
    normalize_channel(data.data() + c * n, n, seg.data(), s.normalization_schemes[c],
                      s.use_mask_for_norm[c], s.intensity[c]);
  }
  out.data = resample_data(data, image.channels, shape_t, new_shape, spacing_t, target);
  out.shape = new_shape;
  if (loaded.label) {
    out.seg = resample_seg(seg, shape_t, new_shape, spacing_t, target);
    out.class_locations = sample_class_locations(out.seg, new_shape, s.foreground_labels);
  }
  return out;
}

void write_case_file(const std::filesystem::path& file, const PreprocessedCase& c, bool is_2d) {
  const std::vector<int64_t> data_shape{c.channels, c.shape[0], c.shape[1], c.shape[2]};
  const std::vector<int64_t> chunk =
      is_2d ? std::vector<int64_t>{1, 1, 128, 128} : std::vector<int64_t>{1, 64, 64, 64};
  write_atomically(file, [&](const std::filesystem::path& tmp) {
    H5File h5 = H5File::create(tmp);
    h5.write("data", data_shape, c.data.data(), chunk);
    if (!c.seg.empty()) {
      h5.write("seg", {1, c.shape[0], c.shape[1], c.shape[2]}, c.seg.data(), chunk, 1);
    }
    h5.create_group("class_locations");
    for (const auto& [label, coords] : c.class_locations) {
      h5.write("class_locations/" + std::to_string(label),
               {static_cast<int64_t>(coords.size()), 3}, coords.empty() ? nullptr : coords[0].data());
    }
    h5.set_attribute("properties", c.properties.dump());
  });
}

PreprocessedCase read_case_file(const std::filesystem::path& file) {
  const H5File h5 = H5File::open_read(file);
  PreprocessedCase c;
  const auto shape = h5.shape("data");
  if (shape.size() != 4) throw Error(file.string() + ": dataset data must have 4 dimensions");
  c.channels = static_cast<int>(shape[0]);
  c.shape = {shape[1], shape[2], shape[3]};
  c.data = h5.read<float>("data");
  if (h5.exists("seg")) c.seg = h5.read<int8_t>("seg");
  c.properties = json::parse(h5.attribute("properties"));
  c.id = c.properties.value("case", file.stem().string());
  if (h5.exists("class_locations")) {
    for (const auto& name : h5.list("class_locations")) {
      const auto flat = h5.read<int64_t>("class_locations/" + name);
      auto& coords = c.class_locations[std::stoi(name)];
      for (size_t i = 0; i + 2 < flat.size(); i += 3) coords.push_back({flat[i], flat[i + 1], flat[i + 2]});
    }
  }
  return c;
}

}  // namespace nnfleet::preprocessing
