#pragma once
// A preprocessed case as the predictor takes it: the whole `data` array of an HDF5 case file
// (docs/formats.md) or of in-memory preprocessing, with its properties. No LibTorch.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "worker/export.h"

namespace nnfleet::worker {

struct PreprocessedCase {
  std::string case_id;
  int64_t channels = 0;
  Shape3 shape{0, 0, 0};        // spatial, preprocessed order (z, y, x after transpose)
  std::vector<float> data;      // C-order [C, Z, Y, X], normalised
  CaseProperties properties;    // parsed "properties" attribute
};

// Reads dataset "data" (float32 [C, Z, Y, X]) and attribute "properties" of `file`. The case id is
// the properties' "case", else the file name without ".h5". Throws nnfleet::Error naming the file.
PreprocessedCase read_preprocessed_case(const std::filesystem::path& file);

// The spatial shape of dataset `name` ([1 or C, Z, Y, X]) of an HDF5 case file.
Shape3 case_file_spatial_shape(const std::filesystem::path& file, const std::string& name = "data");

}  // namespace nnfleet::worker
