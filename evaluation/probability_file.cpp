#include "evaluation/probability_file.h"

#include <algorithm>

#include "common/atomic_file.h"
#include "common/error.h"
#include "preprocessing/h5_file.h"

namespace nnfleet::evaluation {
namespace fs = std::filesystem;
namespace {

nlohmann::json properties_of(const ProbabilityMap& map) {
  const auto& g = map.geometry;
  return {{"itk_spacing_xyz", g.spacing_xyz},
          {"itk_origin_xyz", g.origin_xyz},
          {"itk_direction", g.direction},
          {"case", map.case_id},
          {"labels", map.labels}};
}

void write_file(const fs::path& path, const ProbabilityMap& map) {
  const auto shape = map.geometry.shape_zyx();
  auto file = preprocessing::H5File::create(path);
  // Chunks of one channel x up to 64^3 voxels, lightly deflated: the probability outside the
  // crop box is exactly 0 or 1 and compresses to almost nothing.
  const std::vector<int64_t> chunk{1, std::min<int64_t>(shape[0], 64), std::min<int64_t>(shape[1], 64),
                                   std::min<int64_t>(shape[2], 64)};
  file.write("probabilities", {map.num_classes, shape[0], shape[1], shape[2]}, map.values.data(), chunk, 1);
  file.set_attribute("properties", properties_of(map).dump());
}

template <size_t N>
std::array<double, N> array_field(const nlohmann::json& props, const char* key,
                                  const fs::path& file) {
  if (!props.contains(key) || !props[key].is_array() || props[key].size() != N) {
    throw Error("[evaluation] " + file.string() + ": properties." + key + " must be " +
                std::to_string(N) + " numbers");
  }
  return props[key].get<std::array<double, N>>();
}

void apply_properties(const std::string& text, const fs::path& file, ProbabilityMap& map) {
  nlohmann::json props;
  try {
    props = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error("[evaluation] " + file.string() + ": attribute properties is not JSON: " + e.what());
  }
  map.geometry.spacing_xyz = array_field<3>(props, "itk_spacing_xyz", file);
  map.geometry.origin_xyz = array_field<3>(props, "itk_origin_xyz", file);
  map.geometry.direction = array_field<9>(props, "itk_direction", file);
  map.case_id = props.value("case", file.filename().string());
  map.labels = props.value("labels", nlohmann::json::object());
}

}  // namespace

void write_probability_file(const fs::path& file, const ProbabilityMap& map) {
  const size_t expected = size_t(map.num_classes) * size_t(map.num_voxels());
  if (map.num_classes < 1 || map.values.size() != expected) {
    throw Error("[evaluation] " + file.string() + ": case " + map.case_id + " has " +
                std::to_string(map.values.size()) + " probability values; expected " +
                std::to_string(expected) + " (K=" + std::to_string(map.num_classes) + ")");
  }
  write_atomically(file, [&](const fs::path& tmp) { write_file(tmp, map); });
}

ProbabilityMap read_probability_file(const fs::path& file) {
  if (!fs::is_regular_file(file)) {
    throw Error("[evaluation] probability file " + file.string() + " does not exist");
  }
  const auto h5 = preprocessing::H5File::open_read(file);
  if (!h5.exists("probabilities")) throw Error("[evaluation] " + file.string() + ": no dataset 'probabilities'");
  const auto shape = h5.shape("probabilities");
  if (shape.size() != 4) {
    throw Error("[evaluation] " + file.string() + ": probabilities have " + std::to_string(shape.size()) +
                " dimensions; expected 4 [K, Z, Y, X]");
  }
  ProbabilityMap map;
  map.num_classes = int(shape[0]);
  map.geometry.size_xyz = {shape[3], shape[2], shape[1]};
  apply_properties(h5.attribute("properties"), file, map);
  map.values = h5.read<float>("probabilities");
  return map;
}

}  // namespace nnfleet::evaluation
