#pragma once
// Where evaluation finds a dataset's labels, reference segmentations and results, from a -d
// argument (id, Task/Dataset folder name or path; common/folders.h) and the resolved folders.

#include <filesystem>
#include <string>

#include "common/folders.h"

namespace nnfleet::evaluation {

struct DatasetFiles {
  std::string canonical;                         // "Dataset004_Hippocampus"
  std::filesystem::path dataset_json;            // the labels come from here
  std::filesystem::path reference_folder;        // empty when none was found
  std::filesystem::path results_dataset_folder;  // <results>/<canonical>; empty without results
};

// Resolution order:
//   dataset.json: <preprocessed>/<canonical>/dataset.json, the raw folder's dataset.json, then
//                 <results>/<canonical>/<config>/dataset.json; a path may also be a folder that
//                 holds a dataset.json directly.
//   references:   <preprocessed>/<canonical>/gt_segmentations, then the raw folder's labelsTr.
// A name found only under results (no raw or preprocessed copy) is accepted as well. Throws
// nnfleet::Error naming what was searched when no dataset.json is found.
DatasetFiles locate_dataset_files(const std::string& spec, const Folders& folders);

}  // namespace nnfleet::evaluation
