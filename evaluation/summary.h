#pragma once
// Aggregation of per-case counts into nnU-Net v2's summary.json, and its CSV twin.
//
// summary.json (keys sorted, as v2's save_summary_json writes it):
//   {"foreground_mean": {metric: value},
//    "mean": {"<label>": {metric: value}},
//    "metric_per_case": [{"metrics": {"<label>": {metric: value}}, "prediction_file": ...,
//                         "reference_file": ...}]}
// with metrics Dice, IoU, FP, TP, FN, TN, n_pred, n_ref. mean[label] = NaN-ignoring mean over
// cases; foreground_mean = plain mean over labels of mean[label] (NaN if any label is NaN there).
// NaN is written as JSON null (v2 writes the non-standard token NaN; both are read back).
// Sums follow numpy's pairwise summation so that means match v2 to the last bit.

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "evaluation/labels.h"
#include "evaluation/metrics.h"

namespace nnfleet::evaluation {

// The eight v2 metrics of one label, averaged or of one case.
struct MetricValues {
  double dice = 0, iou = 0, fp = 0, tp = 0, fn = 0, tn = 0, n_pred = 0, n_ref = 0;
};

struct Summary {
  LabelSet labels;
  std::vector<CaseCounts> cases;      // sorted by case_id
  std::vector<MetricValues> mean;     // mean[i] belongs to labels.foreground[i]
  MetricValues foreground_mean;

  // Mean Dice of foreground label `label` (its value, not its index); throws if not evaluated.
  double mean_dice_of(int label) const;
};

// Sorts `cases` by case id and computes the means. Throws nnfleet::Error when a case's count
// vector does not match the labels or when two cases share an id (naming the case).
Summary summarize(const LabelSet& labels, std::vector<CaseCounts> cases);

nlohmann::json summary_to_json(const Summary& summary);
// summary.json (atomic) and, beside it, the same name with ".csv": one row per case and label,
// then a "mean" row per label and one "foreground_mean" row.
void write_summary(const std::filesystem::path& json_file, const Summary& summary);
std::string summary_to_csv(const Summary& summary);

// Parses JSON that may contain v2's bare NaN / Infinity / -Infinity tokens (read as null, i.e.
// NaN for metrics). `where` names the source in errors.
nlohmann::json parse_json_allowing_nan(const std::string& text, const std::string& where);
nlohmann::json read_json_allowing_nan(const std::filesystem::path& file);
// A metric value from a summary.json: numbers as they are, null as NaN.
double metric_value(const nlohmann::json& value);

// numpy's pairwise float64 sum (blocks of 8 accumulators up to 128 values, halves above), and
// np.nanmean (NaN replaced by 0, summed, divided by the non-NaN count) / np.mean on top of it.
double numpy_sum(const std::vector<double>& values);
double numpy_nanmean(const std::vector<double>& values);
double numpy_mean(const std::vector<double>& values);

}  // namespace nnfleet::evaluation
