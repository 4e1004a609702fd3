#include "evaluation/evaluate.h"

#include <algorithm>

#include "common/atomic_file.h"
#include "common/error.h"

namespace nnfleet::evaluation {
namespace fs = std::filesystem;
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string shape_text(const preprocessing::Geometry& g) {
  return "(" + std::to_string(g.size_xyz[0]) + ", " + std::to_string(g.size_xyz[1]) + ", " +
         std::to_string(g.size_xyz[2]) + ")";
}

}  // namespace

std::vector<std::string> list_cases(const fs::path& folder, const std::string& file_ending) {
  if (!fs::is_directory(folder)) throw Error("[evaluation] folder " + folder.string() + " does not exist");
  std::vector<std::string> cases;
  for (const auto& entry : fs::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && ends_with(name, file_ending) && name.find(".tmp.") == std::string::npos)
      cases.push_back(name.substr(0, name.size() - file_ending.size()));
  }
  std::sort(cases.begin(), cases.end());
  return cases;
}

CaseCounts evaluate_case(const std::vector<uint8_t>& prediction,
                         const preprocessing::Geometry& prediction_geometry,
                         const preprocessing::LabelImage& reference, const LabelSet& labels,
                         const std::string& case_id) {
  if (prediction_geometry.size_xyz != reference.geometry.size_xyz ||
      int64_t(prediction.size()) != reference.geometry.num_voxels()) {
    throw Error("[evaluation] case " + case_id + ": prediction size (x, y, z) " +
                shape_text(prediction_geometry) + " differs from reference size " +
                shape_text(reference.geometry));
  }
  CaseCounts c;
  c.case_id = case_id;
  c.counts = count_labels(prediction.data(), reference.voxels.data(), int64_t(prediction.size()), labels);
  return c;
}

Summary evaluate_folders(const EvaluateOptions& o) {
  const auto predicted = list_cases(o.prediction_folder, o.file_ending);
  if (predicted.empty()) {
    throw Error("[evaluation] no " + o.file_ending + " predictions in " + o.prediction_folder.string());
  }
  const auto references = list_cases(o.reference_folder, o.file_ending);
  for (const auto& r : references) {
    if (!o.chill && !std::binary_search(predicted.begin(), predicted.end(), r)) {
      throw Error("[evaluation] case " + r + " has a reference in " + o.reference_folder.string() +
                  " but no prediction in " + o.prediction_folder.string() + " (use --chill to allow)");
    }
  }
  std::vector<CaseCounts> cases;
  for (const auto& id : predicted) {
    const fs::path pred_file = o.prediction_folder / (id + o.file_ending);
    const fs::path ref_file = o.reference_folder / (id + o.file_ending);
    if (!fs::is_regular_file(ref_file))
      throw Error("[evaluation] case " + id + ": no reference " + ref_file.string());
    const auto pred = preprocessing::read_label(pred_file);
    CaseCounts c = evaluate_case(pred.voxels, pred.geometry, preprocessing::read_label(ref_file), o.labels, id);
    c.prediction_file = pred_file.string();
    c.reference_file = ref_file.string();
    cases.push_back(std::move(c));
  }
  return summarize(o.labels, std::move(cases));
}

std::string file_ending_of(const fs::path& dataset_json) {
  const nlohmann::json j = read_json(dataset_json);
  return j.value("file_ending", std::string(".nii.gz"));
}

}  // namespace nnfleet::evaluation
