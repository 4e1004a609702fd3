#pragma once
// Where datasets, preprocessed data and results live, and how a -d argument names a dataset.
// Precedence for each folder: command-line flag, then NNFLEET_RAW / NNFLEET_PREPROCESSED /
// NNFLEET_RESULTS, then nnU-Net's nnUNet_raw / nnUNet_preprocessed / nnUNet_results.
// The environment is read only in Folders::resolve.

#include <filesystem>
#include <optional>
#include <string>

namespace nnfleet {

struct Folders {
  std::filesystem::path raw;           // may be empty when not needed
  std::filesystem::path preprocessed;
  std::filesystem::path results;
  std::string raw_source, preprocessed_source, results_source;  // "flag", "NNFLEET_RAW", ...

  // Empty override strings mean "not given on the command line".
  static Folders resolve(const std::string& raw_flag, const std::string& preprocessed_flag,
                         const std::string& results_flag);
  // Throws nnfleet::Error naming the variables to set when a needed folder is unknown.
  void require_raw() const;
  void require_preprocessed() const;
  void require_results() const;
};

// A dataset as nnfleet names its outputs: "Dataset004_Hippocampus" for id 4 and name "Hippocampus".
struct DatasetRef {
  std::filesystem::path raw_folder;  // empty if the raw data is not available
  int id = -1;                       // -1 when the folder name carries no id
  std::string name;                  // "Hippocampus"
  std::string canonical;             // "Dataset004_Hippocampus" (or the folder name without an id)
};

// Parses "Dataset004_Hippocampus", "Task04_Hippocampus", "Task004_Hippocampus" into id and name.
std::optional<std::pair<int, std::string>> parse_dataset_folder_name(const std::string& folder);
std::string canonical_dataset_name(int id, const std::string& name);

// Resolves -d: an existing path; a folder name under raw (or preprocessed, when raw lacks it);
// or a number matching DatasetNNN_* / TaskNN_* / TaskNNN_*. Throws nnfleet::Error listing what
// was searched when nothing or more than one folder matches.
DatasetRef resolve_dataset(const std::string& spec, const Folders& folders);

}  // namespace nnfleet
