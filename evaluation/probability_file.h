#pragma once
// The probability file of docs/formats.md: validation/<case>.h5 and predict --save-probabilities.
//   dataset "probabilities": float32 [K, Z, Y, X], softmax at the original image geometry
//   attribute "properties" (on the root group): JSON string with itk_spacing_xyz, itk_origin_xyz, itk_direction,
//                            case, labels (name -> int)
// Files are written to "<file>.tmp.<pid>" and renamed, so a reader never sees a partial file.
// Every function throws nnfleet::Error naming the file and the offending field. I/O goes through
// preprocessing/h5_file.h (one H5File per call, so concurrent calls on different files are safe).

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "preprocessing/image_io.h"

namespace nnfleet::evaluation {

struct ProbabilityMap {
  preprocessing::Geometry geometry;  // of the original image; size_xyz gives Z, Y, X
  int num_classes = 0;               // K, background included
  std::vector<float> values;         // C-order (K, Z, Y, X)
  std::string case_id;
  nlohmann::json labels = nlohmann::json::object();  // v2 spelling, name -> value

  int64_t num_voxels() const { return geometry.num_voxels(); }
  const float* channel(int k) const { return values.data() + k * num_voxels(); }
};

void write_probability_file(const std::filesystem::path& file, const ProbabilityMap& map);

// Reads the whole file. Throws when the dataset is missing, not 4-D, or disagrees with the
// geometry in "properties".
ProbabilityMap read_probability_file(const std::filesystem::path& file);

}  // namespace nnfleet::evaluation
