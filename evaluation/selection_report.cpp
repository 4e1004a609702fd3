// The files model selection leaves behind: ranking, decision, postprocessing, per-candidate
// summaries and the commands to predict new cases with the winner.

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include <spdlog/spdlog.h>

#include "common/atomic_file.h"
#include "common/error.h"
#include "evaluation/selection.h"
#include "evaluation/summary_table.h"

namespace nnfleet::evaluation {
namespace fs = std::filesystem;
namespace {

std::string number_text(double v) {
  if (std::isnan(v)) return "NaN";
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

// Candidate indices by descending score; ties (and NaN, last) keep evaluation order.
std::vector<size_t> ranking_order(const std::vector<Candidate>& candidates) {
  std::vector<size_t> order(candidates.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const double sa = candidates[a].score, sb = candidates[b].score;
    if (std::isnan(sb)) return !std::isnan(sa);
    return !std::isnan(sa) && sa > sb;
  });
  return order;
}

std::string ranking_csv(const SelectionOptions& o, const SelectionResult& r) {
  std::string csv = "rank,candidate,members,foreground_mean_Dice";
  for (const auto& name : o.labels.names) csv += ",Dice_" + name;
  csv += "\n";
  const auto order = ranking_order(r.candidates);
  for (size_t pos = 0; pos < order.size(); ++pos) {
    const Candidate& c = r.candidates[order[pos]];
    std::string members;
    for (const auto& m : c.members) members += (members.empty() ? "" : " ") + m;
    csv += std::to_string(pos + 1) + "," + c.name + "," + members + "," + number_text(c.score);
    for (const auto& m : c.summary.mean) csv += "," + number_text(m.dice);
    csv += "\n";
  }
  return csv;
}

nlohmann::json score_json(double v) { return std::isnan(v) ? nlohmann::json() : nlohmann::json(v); }

nlohmann::json decision_json(const SelectionOptions& o, const SelectionResult& r) {
  const Candidate& best = r.candidates[r.best];
  nlohmann::json all = nlohmann::json::object();
  for (const auto& c : r.candidates) all[c.name] = score_json(c.score);
  nlohmann::json selected = nlohmann::json::array();
  for (const auto& m : best.members) selected.push_back({{"configuration", m}});
  return {{"dataset", o.dataset_name},
          {"folds", o.folds},
          {"considered_configurations", o.configurations},
          {"ensembling_allowed", o.allow_ensembling},
          {"num_cases", best.summary.cases.size()},
          {"all_results", all},
          {"best_model_or_ensemble",
           {{"name", best.name},
            {"result_on_crossval_pre_pp", score_json(best.score)},
            {"result_on_crossval_post_pp", score_json(r.postprocessing.after.foreground_mean.dice)},
            {"postprocessing_file", fs::absolute(r.output_folder / "postprocessing.json").string()},
            {"selected_model_or_models", selected}}}};
}

std::string folds_text(const std::vector<int>& folds) {
  std::string out;
  for (int f : folds) out += " " + std::to_string(f);
  return out;
}

// `nnfleet predict` for one configuration, preceded by 3d_lowres when it is the cascade.
std::string predict_commands(const SelectionOptions& o, const std::string& config,
                             const std::string& output, bool save_probabilities,
                             const std::string& postprocessing) {
  std::string text, prev;
  if (config == "3d_cascade_fullres") {
    prev = output + "_PREV_STAGE";
    text += "nnfleet predict -d " + o.dataset_name + " -i INPUT_FOLDER -o " + prev +
            " -c 3d_lowres -f" + folds_text(o.folds) + "\n";
  }
  text += "nnfleet predict -d " + o.dataset_name + " -i INPUT_FOLDER -o " + output + " -c " + config +
          " -f" + folds_text(o.folds);
  if (!prev.empty()) text += " --prev-stage-predictions " + prev;
  if (save_probabilities) text += " --save-probabilities";
  if (!postprocessing.empty()) text += " --postprocessing " + postprocessing;
  return text + "\n";
}

// The `nnfleet summarize` table of this dataset (folds and selection). A malformed fold summary
// must not lose the selection just made, so it only warns.
void write_dataset_table(const SelectionOptions& o, const fs::path& csv) {
  fs::path dataset = fs::absolute(o.results_dataset_folder).lexically_normal();
  if (dataset.filename().empty()) dataset = dataset.parent_path();  // trailing slash
  try {
    const auto rows = collect_summary_rows(dataset.parent_path(), {dataset.filename().string()});
    write_text_atomically(csv, summary_rows_to_csv(rows));
  } catch (const Error& e) {
    spdlog::warn("[selection] no {}: {}", csv.string(), e.what());
  }
}

}  // namespace

std::string inference_instructions(const SelectionOptions& o, const SelectionResult& r) {
  const Candidate& best = r.candidates[r.best];
  const std::string pp = fs::absolute(r.output_folder / "postprocessing.json").string();
  std::string text = "Best model: " + best.name + " (cross-validation mean foreground Dice " +
                     number_text(best.score) + " before postprocessing, " +
                     number_text(r.postprocessing.after.foreground_mean.dice) + " after)\n\n";
  if (best.members.size() == 1) {
    text += "Predict new cases with:\n\n";
    return text + predict_commands(o, best.members[0], "OUTPUT_FOLDER", false, pp);
  }
  text += "An ensemble won. Predict with each member, keeping the probabilities:\n\n";
  std::string folders;
  for (size_t m = 0; m < best.members.size(); ++m) {
    const std::string out = "OUTPUT_FOLDER_MODEL_" + std::to_string(m + 1);
    text += predict_commands(o, best.members[m], out, true, "");
    folders += " " + out;
  }
  text += "\nthen ensemble them and apply the postprocessing:\n\n";
  return text + "nnfleet ensemble -i" + folders + " -o OUTPUT_FOLDER --postprocessing " + pp + "\n";
}

void write_selection_outputs(const SelectionOptions& o, const SelectionResult& r) {
  const fs::path& out = r.output_folder;
  for (const auto& c : r.candidates) write_summary(out / c.name / "summary.json", c.summary);
  const Candidate& best = r.candidates[r.best];
  write_summary(out / best.name / "summary_postprocessed.json", r.postprocessing.after);
  write_text_atomically(out / "ranking.csv", ranking_csv(o, r));
  write_json_atomically(out / "decision.json", decision_json(o, r));
  write_postprocessing(out / "postprocessing.json", r.postprocessing);
  write_text_atomically(out / "inference_instructions.txt", inference_instructions(o, r));
  write_dataset_table(o, out / "summary.csv");
}

}  // namespace nnfleet::evaluation
