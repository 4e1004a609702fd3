#pragma once
// Dataset validation (../shared/reference/bad-inputs.md): every problem of every case is collected
// and reported at once, before heavy work. A case is loaded and checked by load_case, which the
// fingerprint reuses so that each file is read once per run.

#include <optional>
#include <string>
#include <vector>

#include "dist/mpi_world.h"
#include "preprocessing/dataset.h"
#include "preprocessing/image_io.h"

namespace nnfleet::preprocessing {

struct LoadedCase {
  std::string id;
  Image image;                      // all channels, (C, Z, Y, X)
  std::optional<LabelImage> label;  // absent for cases without a label file
  bool is_2d() const { return image.geometry.file_dimension == 2 || image.geometry.size_xyz[2] == 1; }
};

// Reads the case's files and checks them: readable; channel count equals dataset.json's; channel
// files share size and spacing; spacing finite and > 0; no NaN/Inf voxels; label 3D with integer
// values declared in dataset.json (hints for intensity images and 0/255 masks); label on the
// image's grid (size, spacing, origin, direction). Appends one Problem per finding and returns
// nullopt when the case cannot be used.
std::optional<LoadedCase> load_case(const DatasetDescription& dataset, const CaseFiles& files,
                                    std::vector<Problem>& problems);

// Checks that do not need voxels of other cases: mixing 2D and 3D cases (`dims` holds each checked
// case's id and whether it is 2D).
void check_dimensionality(const std::vector<std::pair<std::string, bool>>& dims,
                          std::vector<Problem>& problems);

// Reads and checks the whole dataset, cases sharded over `world` (each rank loads its share; the
// problems are gathered so that every rank returns the full, sorted list).
std::vector<Problem> validate_dataset(const std::filesystem::path& folder, const dist::Comm& world);

// "<n> problem(s) in <folder>:\n  case ...: file: field: message\n..." for printing or errors.
std::string format_problems(const std::filesystem::path& folder,
                            const std::vector<Problem>& problems);

// Serialisation for gathering problems across ranks.
std::string problems_to_json(const std::vector<Problem>& problems);
std::vector<Problem> problems_from_json(const std::string& text);

}  // namespace nnfleet::preprocessing
