// Pseudo Dice (global TP/FP/FN over validation batches), nanmean and its moving average.

#include "worker/pseudo_dice.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

namespace nnfleet::worker {
namespace {

// Logits whose argmax is `labels` (K classes), shaped [1, K, 1, n].
torch::Tensor logits_for(const std::vector<int64_t>& labels, int64_t k) {
  const auto idx = torch::tensor(labels).reshape({1, 1, 1, -1});
  return torch::zeros({1, k, 1, static_cast<int64_t>(labels.size())}).scatter_(1, idx, 5.0);
}

torch::Tensor target_of(const std::vector<float>& labels) {
  return torch::tensor(labels).reshape({1, 1, 1, -1});
}

TEST(PseudoDice, CountsTruePositivesFalsePositivesAndNegativesPerForegroundClass) {
  DiceCounts counts;
  counts.add(logits_for({0, 1, 1, 2, 2, 0}, 3), target_of({0, 1, 2, 2, 0, 1}));
  EXPECT_EQ(counts.tp, (std::vector<double>{1, 1}));
  EXPECT_EQ(counts.fp, (std::vector<double>{1, 1}));
  EXPECT_EQ(counts.fn, (std::vector<double>{1, 1}));
  const auto dice = counts.dice_per_class();
  EXPECT_DOUBLE_EQ(dice[0], 2.0 / 4);
  EXPECT_DOUBLE_EQ(dice[1], 2.0 / 4);
}

TEST(PseudoDice, SumsOverBatchesBeforeTheRatio) {
  DiceCounts counts;
  counts.add(logits_for({1, 1}, 2), target_of({1, 1}));  // TP 2
  counts.add(logits_for({1, 0}, 2), target_of({0, 1}));  // FP 1, FN 1
  EXPECT_DOUBLE_EQ(counts.dice_per_class()[0], 4.0 / 6);  // not the mean of 1 and 0
  DiceCounts other;
  other.add(logits_for({0}, 2), target_of({1}));  // FN 1
  counts.merge(other);
  EXPECT_DOUBLE_EQ(counts.dice_per_class()[0], 4.0 / 7);
}

TEST(PseudoDice, AbsentClassIsNaNAndSkippedByNanmean) {
  DiceCounts counts;
  counts.add(logits_for({0, 1}, 3), target_of({0, 1}));
  const auto dice = counts.dice_per_class();
  EXPECT_DOUBLE_EQ(dice[0], 1.0);
  EXPECT_TRUE(std::isnan(dice[1]));
  EXPECT_DOUBLE_EQ(nanmean(dice), 1.0);
  EXPECT_TRUE(std::isnan(nanmean({NAN, NAN})));
}

TEST(PseudoDice, MovingAverageStartsAtTheFirstValue) {
  const double first = ema_update(NAN, 0.5);
  EXPECT_DOUBLE_EQ(first, 0.5);
  EXPECT_DOUBLE_EQ(ema_update(first, 1.0), 0.9 * 0.5 + 0.1 * 1.0);
}

}  // namespace
}  // namespace nnfleet::worker
