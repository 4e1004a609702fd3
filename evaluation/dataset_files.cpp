#include "evaluation/dataset_files.h"

#include "common/error.h"

namespace nnfleet::evaluation {
namespace fs = std::filesystem;
namespace {

// The dataset as results name it, when -d names a folder only the results folder has.
DatasetRef from_results(const std::string& spec, const Folders& folders) {
  if (folders.results.empty() || !fs::is_directory(folders.results / spec)) {
    throw Error("[evaluation] dataset '" + spec + "' not found in the raw, preprocessed or results folders");
  }
  DatasetRef ref;
  ref.canonical = spec;
  return ref;
}

DatasetRef resolve(const std::string& spec, const Folders& folders) {
  try {
    return resolve_dataset(spec, folders);
  } catch (const Error&) {
    return from_results(spec, folders);
  }
}

fs::path first_config_dataset_json(const fs::path& results_dataset) {
  if (!fs::is_directory(results_dataset)) return {};
  for (const auto& entry : fs::directory_iterator(results_dataset))
    if (fs::is_regular_file(entry.path() / "dataset.json")) return entry.path() / "dataset.json";
  return {};
}

}  // namespace

DatasetFiles locate_dataset_files(const std::string& spec, const Folders& folders) {
  const DatasetRef ref = resolve(spec, folders);
  DatasetFiles f;
  f.canonical = ref.canonical;
  if (!folders.results.empty()) f.results_dataset_folder = folders.results / ref.canonical;
  const fs::path pre = folders.preprocessed.empty() ? fs::path() : folders.preprocessed / ref.canonical;

  for (const fs::path& candidate :
       {pre.empty() ? fs::path() : pre / "dataset.json",
        ref.raw_folder.empty() ? fs::path() : ref.raw_folder / "dataset.json",
        fs::is_directory(spec) ? fs::path(spec) / "dataset.json" : fs::path(),
        first_config_dataset_json(f.results_dataset_folder)}) {
    if (!candidate.empty() && fs::is_regular_file(candidate)) {
      f.dataset_json = candidate;
      break;
    }
  }
  if (f.dataset_json.empty()) {
    throw Error("[evaluation] dataset " + ref.canonical + ": no dataset.json in " +
                (pre.empty() ? std::string("(no preprocessed folder)") : pre.string()) + ", " +
                (ref.raw_folder.empty() ? std::string("(no raw folder)") : ref.raw_folder.string()) +
                " or the results' configuration folders");
  }
  if (!pre.empty() && fs::is_directory(pre / "gt_segmentations")) f.reference_folder = pre / "gt_segmentations";
  else if (!ref.raw_folder.empty() && fs::is_directory(ref.raw_folder / "labelsTr"))
    f.reference_folder = ref.raw_folder / "labelsTr";
  return f;
}

}  // namespace nnfleet::evaluation
