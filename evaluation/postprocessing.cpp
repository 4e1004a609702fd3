#include "evaluation/postprocessing.h"

#include <spdlog/spdlog.h>

#include "common/atomic_file.h"
#include "common/error.h"
#include "evaluation/connected_components.h"

namespace nnfleet::evaluation {
namespace fs = std::filesystem;
namespace {

constexpr const char* kStepName = "remove_all_but_largest_component_from_segmentation";

void apply_step(std::vector<uint8_t>& voxels, const std::array<int64_t, 3>& shape,
                const PostprocessingStep& step) {
  std::array<bool, 256> in_step{};
  for (int l : step.labels) in_step[l & 255] = true;
  std::vector<uint8_t> mask(voxels.size());
  for (size_t i = 0; i < voxels.size(); ++i) mask[i] = in_step[voxels[i]];
  const std::vector<uint8_t> keep = largest_components(mask, shape);
  for (size_t i = 0; i < voxels.size(); ++i)
    if (mask[i] && !keep[i]) voxels[i] = 0;
}

nlohmann::json means_json(const Summary& s) {
  nlohmann::json full = summary_to_json(s);
  return {{"foreground_mean", full["foreground_mean"]}, {"mean", full["mean"]}};
}

// Step A: all foreground labels as one mask.
bool accept_all_foreground(const Summary& base, const Summary& candidate) {
  if (!(candidate.foreground_mean.dice > base.foreground_mean.dice)) return false;
  for (size_t l = 0; l < base.mean.size(); ++l)
    if (candidate.mean[l].dice < base.mean[l].dice) return false;
  return true;
}

}  // namespace

void apply_postprocessing(std::vector<uint8_t>& voxels, const std::array<int64_t, 3>& shape_zyx,
                          const PostprocessingRule& rule) {
  for (const auto& step : rule.steps) apply_step(voxels, shape_zyx, step);
}

void apply_postprocessing(preprocessing::LabelImage& segmentation, const PostprocessingRule& rule) {
  apply_postprocessing(segmentation.voxels, segmentation.geometry.shape_zyx(), rule);
}

PostprocessingDecision decide_postprocessing(const LabelSet& labels, const RuleEvaluator& evaluate) {
  PostprocessingDecision d;
  d.before = evaluate(d.rule);
  Summary current = d.before;

  PostprocessingRule candidate;
  candidate.steps.push_back({labels.foreground, true});
  Summary result = evaluate(candidate);
  if (accept_all_foreground(current, result)) {
    spdlog::info("[evaluation] postprocessing: keeping the largest foreground component improves "
                 "mean Dice {:.5f} -> {:.5f}", current.foreground_mean.dice, result.foreground_mean.dice);
    d.rule = candidate;
    current = result;
  } else {
    spdlog::info("[evaluation] postprocessing: keeping the largest foreground component does not help");
  }

  for (size_t l = 0; labels.foreground.size() > 1 && l < labels.foreground.size(); ++l) {
    candidate = d.rule;
    candidate.steps.push_back({{labels.foreground[l]}, false});
    result = evaluate(candidate);
    const bool better = result.mean[l].dice > current.mean[l].dice;
    spdlog::info("[evaluation] postprocessing: largest component of label {}: Dice {:.5f} -> {:.5f}{}",
                 labels.foreground[l], current.mean[l].dice, result.mean[l].dice,
                 better ? " (kept)" : " (rejected)");
    if (better) {
      d.rule = candidate;
      current = result;
    }
  }
  d.after = current;
  return d;
}

nlohmann::json postprocessing_to_json(const PostprocessingDecision& decision) {
  nlohmann::json fns = nlohmann::json::array(), kwargs = nlohmann::json::array();
  for (const auto& step : decision.rule.steps) {
    fns.push_back(kStepName);
    nlohmann::json which = step.as_list ? nlohmann::json(step.labels) : nlohmann::json(step.labels.at(0));
    kwargs.push_back({{"labels_or_regions", which}});
  }
  return {{"input_folder", means_json(decision.before)},
          {"postprocessed", means_json(decision.after)},
          {"postprocessing_fns", fns},
          {"postprocessing_kwargs", kwargs}};
}

void write_postprocessing(const fs::path& file, const PostprocessingDecision& decision) {
  write_json_atomically(file, postprocessing_to_json(decision));
}

PostprocessingRule postprocessing_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.contains("postprocessing_kwargs") || !j["postprocessing_kwargs"].is_array()) {
    throw Error("[evaluation] " + where + ": no postprocessing_kwargs list");
  }
  const auto& fns = j.value("postprocessing_fns", nlohmann::json::array());
  PostprocessingRule rule;
  for (size_t i = 0; i < j["postprocessing_kwargs"].size(); ++i) {
    if (i < fns.size() && fns[i] != kStepName) {
      throw Error("[evaluation] " + where + ": unknown postprocessing function " + fns[i].dump());
    }
    const auto& which = j["postprocessing_kwargs"][i].value("labels_or_regions", nlohmann::json());
    PostprocessingStep step;
    step.as_list = which.is_array();
    try {
      if (which.is_array()) step.labels = which.get<std::vector<int>>();
      else step.labels = {which.get<int>()};
    } catch (const nlohmann::json::exception&) {
      throw Error("[evaluation] " + where + ": step " + std::to_string(i) +
                  " has labels_or_regions " + which.dump() + "; expected an int or a list of ints");
    }
    rule.steps.push_back(step);
  }
  return rule;
}

PostprocessingRule read_postprocessing(const fs::path& file) {
  if (!fs::is_regular_file(file)) throw Error("[evaluation] postprocessing file " + file.string() + " does not exist");
  return postprocessing_from_json(read_json_allowing_nan(file), file.string());
}

}  // namespace nnfleet::evaluation
