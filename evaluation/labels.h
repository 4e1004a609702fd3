#pragma once
// The labels a dataset evaluates, read from its dataset.json. Both spellings are accepted:
// nnU-Net v2 / nnfleet ("labels": {"background": 0, "Anterior": 1, ...}, optional "ignore": N) and
// MSD / v1 ("labels": {"0": "background", "1": "Anterior", ...}). Region-based label definitions
// (a name mapped to a list of values) are rejected.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nnfleet::evaluation {

struct LabelSet {
  // Foreground label values in ascending order (as v2's LabelManager sorts them), never 0 and
  // never the ignore label; names[i] belongs to foreground[i].
  std::vector<int> foreground;
  std::vector<std::string> names;
  // Voxels whose reference value equals this label are excluded from every count (v2 "ignore").
  std::optional<int> ignore_label;
  // Highest label value, background included (the number of probability channels minus one).
  int max_label() const;
};

// Parses the "labels" entry of a dataset.json; `where` names the file in errors.
LabelSet parse_labels(const nlohmann::json& dataset_json, const std::string& where);
// Reads `file` (a dataset.json) and parses its labels.
LabelSet read_labels(const std::filesystem::path& file);
// The "labels" entry in v2 spelling (name -> value, background and ignore included), as the
// probability file's "labels" property carries it.
nlohmann::json labels_to_v2_json(const LabelSet& labels);

}  // namespace nnfleet::evaluation
