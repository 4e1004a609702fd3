#include "evaluation/metrics.h"

#include <array>
#include <limits>

namespace nnfleet::evaluation {

double LabelCounts::dice() const {
  const int64_t denominator = 2 * tp + fp + fn;
  if (tp + fp + fn == 0) return std::numeric_limits<double>::quiet_NaN();
  return double(2 * tp) / double(denominator);
}

double LabelCounts::iou() const {
  if (tp + fp + fn == 0) return std::numeric_limits<double>::quiet_NaN();
  return double(tp) / double(tp + fp + fn);
}

std::vector<LabelCounts> count_labels(const uint8_t* prediction, const uint8_t* reference,
                                      int64_t num_voxels, const LabelSet& labels) {
  // A 256 x 256 confusion table (reference value x predicted value) in one pass; every label's
  // counts follow from its row and column.
  std::vector<int64_t> table(256 * 256, 0);
  for (int64_t i = 0; i < num_voxels; ++i) ++table[reference[i] * 256 + prediction[i]];
  if (labels.ignore_label) {
    for (int p = 0; p < 256; ++p) table[*labels.ignore_label * 256 + p] = 0;
  }
  int64_t valid = 0;
  for (int64_t n : table) valid += n;

  std::vector<LabelCounts> out;
  out.reserve(labels.foreground.size());
  for (int label : labels.foreground) {
    LabelCounts c;
    c.tp = table[label * 256 + label];
    for (int v = 0; v < 256; ++v) {
      if (v == label) continue;
      c.fp += table[v * 256 + label];
      c.fn += table[label * 256 + v];
    }
    c.tn = valid - c.tp - c.fp - c.fn;
    out.push_back(c);
  }
  return out;
}

}  // namespace nnfleet::evaluation
