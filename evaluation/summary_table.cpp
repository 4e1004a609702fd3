#include "evaluation/summary_table.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <regex>
#include <sstream>

#include "common/atomic_file.h"
#include "common/error.h"
#include "evaluation/labels.h"
#include "evaluation/summary.h"

namespace nnfleet::evaluation {
namespace fs = std::filesystem;
namespace {

struct Source {
  fs::path file;
  std::string model, fold;
};

// Label value -> name from any configuration's dataset.json of the dataset (empty if none).
std::map<std::string, std::string> label_names(const fs::path& dataset) {
  std::map<std::string, std::string> names;
  for (const auto& entry : fs::directory_iterator(dataset)) {
    const fs::path json = entry.path() / "dataset.json";
    if (!fs::is_regular_file(json)) continue;
    const LabelSet labels = read_labels(json);
    for (size_t i = 0; i < labels.foreground.size(); ++i)
      names[std::to_string(labels.foreground[i])] = labels.names[i];
    break;
  }
  return names;
}

void add_fold_sources(const fs::path& config_dir, std::vector<Source>& sources) {
  static const std::regex fold_name("fold_(\\w+)");
  for (const auto& entry : fs::directory_iterator(config_dir)) {
    std::smatch m;
    const std::string name = entry.path().filename().string();
    const fs::path summary = entry.path() / "validation" / "summary.json";
    if (std::regex_match(name, m, fold_name) && fs::is_regular_file(summary))
      sources.push_back({summary, config_dir.filename().string(), m[1]});
  }
}

void add_selection_sources(const fs::path& selection_dir, std::vector<Source>& sources) {
  for (const auto& entry : fs::directory_iterator(selection_dir)) {
    if (!entry.is_directory()) continue;
    const std::string model = entry.path().filename().string();
    if (fs::is_regular_file(entry.path() / "summary.json"))
      sources.push_back({entry.path() / "summary.json", model, "all"});
    if (fs::is_regular_file(entry.path() / "summary_postprocessed.json"))
      sources.push_back({entry.path() / "summary_postprocessed.json", model + " (postprocessed)", "all"});
  }
}

std::vector<Source> sources_of(const fs::path& dataset) {
  std::vector<Source> sources;
  for (const auto& entry : fs::directory_iterator(dataset)) {
    if (!entry.is_directory()) continue;
    if (entry.path().filename() == "selection") add_selection_sources(entry.path(), sources);
    else add_fold_sources(entry.path(), sources);
  }
  std::sort(sources.begin(), sources.end(), [](const Source& a, const Source& b) {
    return std::tie(a.model, a.fold) < std::tie(b.model, b.fold);
  });
  return sources;
}

SummaryRow row_of(const std::string& task, const Source& s, const std::string& label,
                  const std::string& name, const nlohmann::json& m) {
  auto get = [&](const char* key) {
    if (!m.is_object() || !m.contains(key)) {
      throw Error("[summarize] " + s.file.string() + ": class " + label + " lacks metric " + key);
    }
    return metric_value(m[key]);
  };
  return {task, s.model, s.fold, label, name, get("Dice"), get("IoU"), get("TP"), get("FP"),
          get("FN"), get("n_pred"), get("n_ref")};
}

void add_rows(const std::string& task, const Source& s, const std::map<std::string, std::string>& names,
              std::vector<SummaryRow>& rows) {
  const nlohmann::json j = read_json_allowing_nan(s.file);
  if (!j.contains("mean") || !j.contains("foreground_mean")) {
    throw Error("[summarize] " + s.file.string() + " has no \"mean\" / \"foreground_mean\"; not a summary.json");
  }
  std::vector<std::string> labels;
  for (const auto& item : j["mean"].items()) labels.push_back(item.key());
  std::sort(labels.begin(), labels.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;  // numeric order of label values
  });
  for (const auto& l : labels) {
    const auto it = names.find(l);
    rows.push_back(row_of(task, s, l, it == names.end() ? "" : it->second, j["mean"][l]));
  }
  rows.push_back(row_of(task, s, "foreground_mean", "", j["foreground_mean"]));
}

std::string csv_number(double v) {
  if (std::isnan(v)) return "NaN";
  std::ostringstream s;
  s.precision(10);
  s << v;
  return s.str();
}

}  // namespace

std::vector<SummaryRow> collect_summary_rows(const fs::path& results_folder,
                                             const std::vector<std::string>& datasets) {
  if (!fs::is_directory(results_folder)) {
    throw Error("[summarize] results folder " + results_folder.string() + " does not exist");
  }
  std::vector<std::string> names = datasets;
  if (names.empty()) {
    for (const auto& entry : fs::directory_iterator(results_folder))
      if (entry.is_directory()) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  std::vector<SummaryRow> rows;
  for (const auto& task : names) {
    const fs::path dataset = results_folder / task;
    if (!fs::is_directory(dataset)) throw Error("[summarize] no results for " + task + " in " + results_folder.string());
    const auto labels = label_names(dataset);
    for (const auto& source : sources_of(dataset)) add_rows(task, source, labels, rows);
  }
  return rows;
}

std::string summary_rows_to_csv(const std::vector<SummaryRow>& rows) {
  std::string csv = "task,model,fold,class,class_name,Dice,IoU,TP,FP,FN,n_pred,n_ref\n";
  for (const auto& r : rows) {
    csv += r.task + "," + r.model + "," + r.fold + "," + r.label + "," + r.label_name;
    for (double v : {r.dice, r.iou, r.tp, r.fp, r.fn, r.n_pred, r.n_ref}) csv += "," + csv_number(v);
    csv += "\n";
  }
  return csv;
}

}  // namespace nnfleet::evaluation
