#pragma once
// Connected-component postprocessing (method reference section 7.1, nnU-Net v2's
// determine_postprocessing): a rule is an ordered list of steps; each step keeps only the
// largest connected component (26-connectivity) of the union of its labels and sets the other
// voxels of those labels to background (0).
//
// postprocessing.json follows v2's file: input_folder / postprocessed ({foreground_mean, mean}),
// postprocessing_fns (names) and postprocessing_kwargs ([{"labels_or_regions": [1, 2] or 1}]).

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "evaluation/labels.h"
#include "evaluation/summary.h"
#include "preprocessing/image_io.h"

namespace nnfleet::evaluation {

struct PostprocessingStep {
  std::vector<int> labels;  // label values treated as one mask
  bool as_list = true;      // written as a list (all foreground) or a single int (one label)
};

struct PostprocessingRule {
  std::vector<PostprocessingStep> steps;  // applied in order; empty = no postprocessing
};

// Applies `rule` in place. Precondition for the second form: voxels.size() == product of shape.
void apply_postprocessing(preprocessing::LabelImage& segmentation, const PostprocessingRule& rule);
void apply_postprocessing(std::vector<uint8_t>& voxels, const std::array<int64_t, 3>& shape_zyx,
                          const PostprocessingRule& rule);

// Evaluates every cross-validation case with `rule` applied to its raw prediction and returns
// the summary (on every rank, when distributed). Called with the empty rule for the baseline.
using RuleEvaluator = std::function<Summary(const PostprocessingRule&)>;

struct PostprocessingDecision {
  PostprocessingRule rule;
  Summary before;  // raw predictions
  Summary after;   // with `rule`
};

// v2's rule: step A keeps the largest component of all foreground labels together; accepted iff
// the foreground-mean Dice strictly improves and no label's mean Dice decreases (NaN compares
// false either way). Step B (only with more than one label), for each label in ascending order,
// from the current best: accepted iff that label's mean Dice strictly improves.
PostprocessingDecision decide_postprocessing(const LabelSet& labels, const RuleEvaluator& evaluate);

nlohmann::json postprocessing_to_json(const PostprocessingDecision& decision);
void write_postprocessing(const std::filesystem::path& file, const PostprocessingDecision& decision);
// Reads the steps of a postprocessing.json written by nnfleet (or v2's JSON twin of its pkl).
PostprocessingRule read_postprocessing(const std::filesystem::path& file);
PostprocessingRule postprocessing_from_json(const nlohmann::json& j, const std::string& where);

}  // namespace nnfleet::evaluation
