#pragma once
// A raw dataset as nnfleet reads it, in either layout:
//  - MSD / nnU-Net v1 (TaskNN_Name): dataset.json with `modality` (index -> name), `labels`
//    (index -> name), `training` [{image, label}], `numTraining`. The listed image is either one
//    file holding every channel (3D for one channel, 4D with channels on the 4th axis) or, in the
//    v1 split layout, the per-channel files <case>_0000.nii.gz, <case>_0001.nii.gz, ...
//  - nnU-Net v2 (DatasetNNN_Name): dataset.json with `channel_names`, `labels` (name -> int),
//    `numTraining`, `file_ending`; cases found by listing imagesTr/<case>_XXXX<file_ending>, or an
//    explicit `dataset` dict {case: {images: [...], label: ...}}.
// Reading collects every problem of dataset.json (missing keys, wrong counts, missing files, paths
// outside the folder, stray files) instead of stopping at the first; see validate.h.

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nnfleet::preprocessing {

// One problem found in a dataset; validation reports all of them at once.
struct Problem {
  std::string case_id;  // empty for dataset-level problems
  std::string file;     // file the problem is in (dataset.json for its own fields)
  std::string field;    // "spacing", "labels", "channels", "numTraining", ...
  std::string message;  // what is wrong, with the offending values
  std::string to_string() const;
};

struct CaseFiles {
  std::string id;
  // One file per channel, or (MSD 4D) a single file whose 4th axis holds all channels.
  std::vector<std::filesystem::path> images;
  std::filesystem::path label;  // empty for cases without a reference label
  bool channels_in_one_file() const { return images.size() == 1; }
};

enum class Layout { kMsd, kV2 };

struct DatasetDescription {
  std::filesystem::path folder;
  Layout layout = Layout::kV2;
  std::string name;                         // dataset.json "name" or the folder's name
  std::vector<std::string> channel_names;   // index = channel
  std::map<std::string, int> labels;        // name -> value, includes "background": 0
  std::string file_ending = ".nii.gz";
  int num_training = 0;                     // as declared
  std::vector<CaseFiles> training;          // sorted by id
  nlohmann::json json;                      // the raw dataset.json

  int num_channels() const { return static_cast<int>(channel_names.size()); }
  // Label values sorted ascending (0, 1, ..., N-1 for a valid dataset).
  std::vector<int> label_values() const;
  // The v2-style dataset.json that the preprocessed folder carries.
  nlohmann::json to_v2_json() const;
};

// Reads dataset.json and discovers the cases. Problems that make the dataset unusable as a whole
// (no dataset.json, unparsable JSON) throw nnfleet::Error; every other problem is appended to
// `problems` and the description holds what could be read.
DatasetDescription read_dataset(const std::filesystem::path& folder,
                                std::vector<Problem>& problems);

// Like read_dataset, but throws nnfleet::Error listing all problems when there are any.
DatasetDescription read_dataset_strict(const std::filesystem::path& folder);

}  // namespace nnfleet::preprocessing
