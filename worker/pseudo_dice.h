#pragma once
// nnU-Net's per-epoch "pseudo Dice" on validation patches (method reference 5.6): argmax of the
// full-resolution logits, one-hot, TP/FP/FN per foreground class summed over every voxel of every
// validation batch (and every rank of the group): a global Dice, not a mean over cases. Its
// moving average (EMA 0.9) of the mean foreground Dice picks checkpoint_best.

#include <torch/types.h>

#include <vector>

namespace nnfleet::worker {

// Per foreground class (labels 1..K-1) counts, accumulated over batches.
struct DiceCounts {
  std::vector<double> tp, fp, fn;

  // Adds one batch: logits [b, K, *spatial], target [b, 1, *spatial] label values.
  void add(const torch::Tensor& logits, const torch::Tensor& target);
  // Element-wise sum of another accumulator (same class count).
  void merge(const DiceCounts& other);
  // 2TP / (2TP + FP + FN) per class; NaN where the denominator is 0 (class absent everywhere).
  std::vector<double> dice_per_class() const;
};

// Mean over the classes whose Dice is not NaN; NaN when all are (numpy's nanmean).
double nanmean(const std::vector<double>& values);

// One EMA step: 0.9 * previous + 0.1 * value; a NaN `previous` (no history yet) gives `value`.
double ema_update(double previous, double value);

}  // namespace nnfleet::worker
