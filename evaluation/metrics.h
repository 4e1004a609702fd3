#pragma once
// Per-case, per-label counts and the metrics nnU-Net v2 derives from them
// (nnunetv2.evaluation.evaluate_predictions.compute_metrics):
//   TP, FP, FN, TN over voxels whose reference is not the ignore label;
//   n_pred = TP + FP, n_ref = TP + FN;
//   Dice = 2TP / (2TP + FP + FN), IoU = TP / (TP + FP + FN); both NaN when TP + FP + FN == 0
//   (reference and prediction empty). An empty reference with a non-empty prediction gives 0.
// Only foreground labels are evaluated (background never is, as in v2).

#include <cstdint>
#include <string>
#include <vector>

#include "evaluation/labels.h"

namespace nnfleet::evaluation {

struct LabelCounts {
  int64_t tp = 0, fp = 0, fn = 0, tn = 0;

  int64_t n_pred() const { return tp + fp; }
  int64_t n_ref() const { return tp + fn; }
  double dice() const;  // NaN when TP + FP + FN == 0
  double iou() const;   // NaN when TP + FP + FN == 0
  bool operator==(const LabelCounts& o) const {
    return tp == o.tp && fp == o.fp && fn == o.fn && tn == o.tn;
  }
};

// The evaluation of one case: counts[i] belongs to LabelSet::foreground[i].
struct CaseCounts {
  std::string case_id;
  std::string prediction_file;
  std::string reference_file;
  std::vector<LabelCounts> counts;
};

// Counts every foreground label of `labels` in one pass over `num_voxels` voxels.
// Precondition: `prediction` and `reference` each hold `num_voxels` values (same geometry).
std::vector<LabelCounts> count_labels(const uint8_t* prediction, const uint8_t* reference,
                                      int64_t num_voxels, const LabelSet& labels);

}  // namespace nnfleet::evaluation
