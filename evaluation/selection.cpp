#include "evaluation/selection.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <spdlog/spdlog.h>

#include "common/error.h"
#include "evaluation/ensemble.h"
#include "evaluation/evaluate.h"
#include "evaluation/metric_table.h"
#include "evaluation/probability_file.h"

namespace nnfleet::evaluation {
namespace fs = std::filesystem;
namespace {

// The cross-validation of every configuration: cases (sorted) and, per configuration, the
// probability file of each case (aligned with `cases`).
struct CrossValidation {
  std::vector<std::string> cases;
  std::map<std::string, std::vector<fs::path>> files;
};

struct CandidateSpec {
  std::string name;
  std::vector<std::string> members;
};

std::map<std::string, fs::path> case_files_of(const fs::path& dataset, const std::string& config,
                                              const std::vector<int>& folds) {
  std::map<std::string, fs::path> files;
  for (int fold : folds) {
    const fs::path dir = dataset / config / ("fold_" + std::to_string(fold)) / "validation";
    if (!fs::is_directory(dir)) {
      throw Error("[selection] configuration " + config + " fold " + std::to_string(fold) +
                  " has no validation folder " + dir.string() + "; train and validate every fold first");
    }
    const auto cases = list_cases(dir, ".h5");
    if (cases.empty()) {
      throw Error("[selection] configuration " + config + " fold " + std::to_string(fold) +
                  ": no <case>.h5 probability files in " + dir.string());
    }
    for (const auto& c : cases) {
      if (!files.emplace(c, dir / (c + ".h5")).second) {
        throw Error("[selection] configuration " + config + ": case " + c +
                    " is predicted by more than one fold (" + files[c].string() + " and fold " +
                    std::to_string(fold) + ")");
      }
    }
  }
  return files;
}

std::vector<std::string> keys_of(const std::map<std::string, fs::path>& m) {
  std::vector<std::string> keys;
  for (const auto& kv : m) keys.push_back(kv.first);
  return keys;
}

CrossValidation discover(const SelectionOptions& o, const std::vector<std::string>& configs) {
  CrossValidation cv;
  for (const auto& config : configs) {
    const auto files = case_files_of(o.results_dataset_folder, config, o.folds);
    const auto cases = keys_of(files);
    if (cv.cases.empty()) cv.cases = cases;
    if (cases != cv.cases) {
      std::vector<std::string> diff;
      std::set_symmetric_difference(cases.begin(), cases.end(), cv.cases.begin(), cv.cases.end(),
                                    std::back_inserter(diff));
      throw Error("[selection] configurations " + configs.front() + " and " + config +
                  " validated different cases (e.g. " + diff.front() + ", " +
                  std::to_string(diff.size()) + " differ); every configuration must use the same splits");
    }
    for (const auto& c : cases) cv.files[config].push_back(files.at(c));
  }
  return cv;
}

std::vector<CandidateSpec> candidate_specs(const std::vector<std::string>& configs, bool pairs) {
  std::vector<CandidateSpec> specs;
  for (const auto& c : configs) specs.push_back({c, {c}});
  for (size_t i = 0; pairs && i < configs.size(); ++i)
    for (size_t j = i + 1; j < configs.size(); ++j)
      specs.push_back({configs[i] + "+" + configs[j], {configs[i], configs[j]}});
  return specs;
}

std::string joined_files(const CrossValidation& cv, const CandidateSpec& spec, size_t c) {
  std::string out;
  for (const auto& m : spec.members) out += (out.empty() ? "" : " + ") + cv.files.at(m)[c].string();
  return out;
}

// The raw prediction of `spec` for one case from the configurations' probability maps.
std::vector<uint8_t> predict_case(const std::map<std::string, ProbabilityMap>& maps,
                                  const CandidateSpec& spec) {
  std::vector<const ProbabilityMap*> members;
  for (const auto& m : spec.members) members.push_back(&maps.at(m));
  return argmax_of_average(members);
}

std::map<std::string, ProbabilityMap> read_maps(const CrossValidation& cv,
                                                const std::vector<std::string>& configs, size_t c) {
  std::map<std::string, ProbabilityMap> maps;
  for (const auto& config : configs) maps[config] = read_probability_file(cv.files.at(config)[c]);
  return maps;
}

fs::path reference_of(const SelectionOptions& o, const std::string& case_id) {
  const fs::path file = o.reference_folder / (case_id + o.file_ending);
  if (!fs::is_regular_file(file)) {
    throw Error("[selection] case " + case_id + ": no reference segmentation " + file.string());
  }
  return file;
}

// This rank's share of the cases (Note [selection sharding]: round robin over sorted cases).
std::vector<size_t> my_cases(size_t count, const dist::Comm& world) {
  std::vector<size_t> mine;
  for (size_t c = world.rank(); c < count; c += world.size()) mine.push_back(c);
  return mine;
}

MetricTables evaluate_my_cases(const SelectionOptions& o, const CrossValidation& cv,
                               const std::vector<std::string>& configs,
                               const std::vector<CandidateSpec>& specs, const dist::Comm& world) {
  MetricTables tables;
  for (size_t c : my_cases(cv.cases.size(), world)) {
    const std::string& id = cv.cases[c];
    const fs::path ref_file = reference_of(o, id);
    const auto reference = preprocessing::read_label(ref_file);
    const auto maps = read_maps(cv, configs, c);
    for (const auto& spec : specs) {
      CaseCounts counts = evaluate_case(predict_case(maps, spec), maps.at(spec.members[0]).geometry,
                                        reference, o.labels, id);
      counts.prediction_file = joined_files(cv, spec, c);
      counts.reference_file = ref_file.string();
      tables[spec.name].push_back(std::move(counts));
    }
    spdlog::debug("[selection] case {} evaluated for {} candidates", id, specs.size());
  }
  return tables;
}

// One of this rank's winner predictions, kept for the postprocessing rounds.
struct HeldCase {
  CaseCounts identity;  // case id and file names
  std::vector<uint8_t> prediction;
  std::array<int64_t, 3> shape_zyx;
  preprocessing::LabelImage reference;
};

std::vector<HeldCase> hold_winner(const SelectionOptions& o, const CrossValidation& cv,
                                  const CandidateSpec& winner, const dist::Comm& world) {
  std::vector<HeldCase> held;
  for (size_t c : my_cases(cv.cases.size(), world)) {
    HeldCase h;
    h.identity.case_id = cv.cases[c];
    h.identity.prediction_file = joined_files(cv, winner, c);
    h.identity.reference_file = reference_of(o, cv.cases[c]).string();
    h.reference = preprocessing::read_label(h.identity.reference_file);
    const auto maps = read_maps(cv, winner.members, c);
    h.prediction = predict_case(maps, winner);
    h.shape_zyx = maps.begin()->second.geometry.shape_zyx();
    held.push_back(std::move(h));
  }
  return held;
}

// Collective: the summary of the winner with `rule` applied, on every rank.
Summary evaluate_rule(const std::vector<HeldCase>& held, const std::string& name,
                      const PostprocessingRule& rule, const LabelSet& labels, const dist::Comm& world) {
  MetricTables mine;
  auto& list = mine[name];
  for (const auto& h : held) {
    std::vector<uint8_t> prediction = h.prediction;
    apply_postprocessing(prediction, h.shape_zyx, rule);
    CaseCounts counts = h.identity;
    counts.counts = count_labels(prediction.data(), h.reference.voxels.data(),
                                 int64_t(prediction.size()), labels);
    list.push_back(std::move(counts));
  }
  MetricTables all = allgather_tables(mine, world);
  return summarize(labels, all[name]);
}

// Rank 0 computes the scores; every rank receives them (as JSON text).
std::vector<double> share_scores(std::vector<Candidate>& candidates, const dist::Comm& world) {
  std::string text;
  if (world.rank() == 0) {
    nlohmann::json scores = nlohmann::json::array();
    for (const auto& c : candidates) scores.push_back(std::isnan(c.score) ? nlohmann::json() : nlohmann::json(c.score));
    text = scores.dump();
  }
  world.broadcast(text, 0);
  std::vector<double> scores;
  for (const auto& v : nlohmann::json::parse(text)) scores.push_back(metric_value(v));
  return scores;
}

size_t best_index(const std::vector<Candidate>& candidates) {
  size_t best = 0;
  for (size_t i = 1; i < candidates.size(); ++i) {
    const double s = candidates[i].score, b = candidates[best].score;
    if (!std::isnan(s) && (std::isnan(b) || s > b)) best = i;
  }
  return best;
}

}  // namespace

std::vector<std::string> default_configurations(const fs::path& results_dataset_folder) {
  std::vector<std::string> configs;
  for (const char* c : {"2d", "3d_fullres", "3d_lowres", "3d_cascade_fullres"})
    if (fs::is_directory(results_dataset_folder / c)) configs.push_back(c);
  return configs;
}

SelectionResult select_model(const SelectionOptions& options, const dist::Comm& world) {
  SelectionOptions o = options;
  if (o.configurations.empty()) o.configurations = default_configurations(o.results_dataset_folder);
  if (o.configurations.empty()) {
    throw Error("[selection] no trained configuration (2d, 3d_fullres, 3d_lowres, "
                "3d_cascade_fullres) under " + o.results_dataset_folder.string());
  }
  if (o.output_folder.empty()) o.output_folder = o.results_dataset_folder / "selection";
  const CrossValidation cv = discover(o, o.configurations);
  const auto specs = candidate_specs(o.configurations, o.allow_ensembling);
  spdlog::info("[selection] {} cases, {} candidates, {} ranks", cv.cases.size(), specs.size(), world.size());

  MetricTables tables = gather_tables(evaluate_my_cases(o, cv, o.configurations, specs, world), world);
  SelectionResult result;
  result.output_folder = o.output_folder;
  for (const auto& spec : specs) {
    Candidate c{spec.name, spec.members, {}, 0};
    if (world.rank() == 0) {
      c.summary = summarize(o.labels, tables[spec.name]);
      c.score = c.summary.foreground_mean.dice;
    }
    result.candidates.push_back(std::move(c));
  }
  const auto scores = share_scores(result.candidates, world);
  for (size_t i = 0; i < scores.size(); ++i) result.candidates[i].score = scores[i];
  result.best = best_index(result.candidates);
  const CandidateSpec& winner = specs[result.best];
  spdlog::info("[selection] best: {} (mean foreground Dice {:.5f}); deciding postprocessing",
               winner.name, result.candidates[result.best].score);

  const auto held = hold_winner(o, cv, winner, world);
  result.postprocessing = decide_postprocessing(o.labels, [&](const PostprocessingRule& rule) {
    return evaluate_rule(held, winner.name, rule, o.labels, world);
  });
  if (world.rank() == 0) write_selection_outputs(o, result);
  world.barrier();
  return result;
}

}  // namespace nnfleet::evaluation
