#include "evaluation/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace nnfleet::evaluation {
namespace {

LabelSet two_labels() {
  LabelSet s;
  s.foreground = {1, 2};
  s.names = {"a", "b"};
  return s;
}

TEST(Metrics, CountsEveryLabelInOnePass) {
  const std::vector<uint8_t> ref{0, 1, 1, 2, 2, 0};
  const std::vector<uint8_t> pred{1, 1, 0, 2, 1, 0};
  const auto c = count_labels(pred.data(), ref.data(), 6, two_labels());
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0], (LabelCounts{1, 2, 1, 2}));  // TP, FP, FN, TN of label 1
  EXPECT_EQ(c[1], (LabelCounts{1, 0, 1, 4}));
  EXPECT_DOUBLE_EQ(c[0].dice(), 2.0 / 5.0);
  EXPECT_DOUBLE_EQ(c[0].iou(), 1.0 / 4.0);
  EXPECT_EQ(c[0].n_pred(), 3);
  EXPECT_EQ(c[0].n_ref(), 2);
}

TEST(Metrics, BothEmptyIsNaNAndEmptyReferenceWithPredictionIsZero) {
  const std::vector<uint8_t> ref{0, 0, 1, 1};
  const std::vector<uint8_t> pred{0, 0, 1, 1};
  auto c = count_labels(pred.data(), ref.data(), 4, two_labels());
  EXPECT_TRUE(std::isnan(c[1].dice()));
  EXPECT_TRUE(std::isnan(c[1].iou()));
  const std::vector<uint8_t> pred2{2, 0, 1, 1};
  c = count_labels(pred2.data(), ref.data(), 4, two_labels());
  EXPECT_EQ(c[1].dice(), 0.0);
  EXPECT_EQ(c[1].iou(), 0.0);
}

TEST(Metrics, IgnoreLabelVoxelsAreExcludedFromEveryCount) {
  LabelSet s = two_labels();
  s.ignore_label = 3;
  const std::vector<uint8_t> ref{3, 3, 1, 0};
  const std::vector<uint8_t> pred{1, 2, 1, 0};
  const auto c = count_labels(pred.data(), ref.data(), 4, s);
  EXPECT_EQ(c[0], (LabelCounts{1, 0, 0, 1}));
  EXPECT_EQ(c[1], (LabelCounts{0, 0, 0, 2}));
}

}  // namespace
}  // namespace nnfleet::evaluation
