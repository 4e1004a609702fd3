#include "evaluation/summary.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>

#include "common/error.h"
#include "tests/support/test_paths.h"

namespace nnfleet::evaluation {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

LabelSet two_labels() {
  LabelSet s;
  s.foreground = {1, 2};
  s.names = {"a", "b"};
  return s;
}

CaseCounts make_case(const std::string& id, LabelCounts a, LabelCounts b) {
  return {id, id + "_pred", id + "_ref", {a, b}};
}

TEST(Summary, MeansIgnoreNaNCasesAndForegroundMeanIsPlainMean) {
  // Label 2 is empty in both images of case "b": its NaN Dice is left out of the mean.
  const Summary s = summarize(two_labels(), {make_case("b", {1, 1, 0, 8}, {0, 0, 0, 10}),
                                             make_case("a", {2, 0, 0, 8}, {1, 1, 0, 8})});
  ASSERT_EQ(s.cases.size(), 2u);
  EXPECT_EQ(s.cases[0].case_id, "a");  // sorted by case id
  EXPECT_DOUBLE_EQ(s.mean[0].dice, (1.0 + 2.0 / 3.0) / 2.0);
  EXPECT_DOUBLE_EQ(s.mean[1].dice, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(s.mean[1].tp, 0.5);
  EXPECT_DOUBLE_EQ(s.foreground_mean.dice, (s.mean[0].dice + s.mean[1].dice) / 2.0);
  EXPECT_DOUBLE_EQ(s.mean_dice_of(2), 2.0 / 3.0);
  EXPECT_THROW(s.mean_dice_of(7), Error);
}

TEST(Summary, LabelEmptyEverywhereMakesForegroundMeanNaN) {
  const Summary s = summarize(two_labels(), {make_case("a", {1, 0, 0, 1}, {0, 0, 0, 2})});
  EXPECT_TRUE(std::isnan(s.mean[1].dice));
  EXPECT_TRUE(std::isnan(s.foreground_mean.dice));
  const auto j = summary_to_json(s);
  EXPECT_TRUE(j["mean"]["2"]["Dice"].is_null());
  EXPECT_EQ(j["metric_per_case"][0]["metrics"]["1"]["TP"], 1);
  EXPECT_EQ(j["metric_per_case"][0]["prediction_file"], "a_pred");
}

TEST(Summary, RejectsDuplicateCasesAndWrongLabelCount) {
  EXPECT_THROW(summarize(two_labels(), {make_case("a", {}, {}), make_case("a", {}, {})}), Error);
  EXPECT_THROW(summarize(two_labels(), {CaseCounts{"a", "", "", {LabelCounts{}}}}), Error);
}

TEST(Summary, NumpySumIsPairwiseLikeNumpy) {
  // 0.1 summed 10 times: numpy's 8-accumulator block gives 0.9999999999999999, a plain loop too,
  // but for 1e16, 1, -1e16 style inputs the association matters; check the block layout directly.
  std::vector<double> v(10, 0.1);
  double r[8];
  for (double& x : r) x = 0.1;
  const double expected = (((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))) + 0.1 + 0.1;
  EXPECT_EQ(numpy_sum(v), expected);
  EXPECT_TRUE(std::isnan(numpy_nanmean({kNaN, kNaN})));
  EXPECT_DOUBLE_EQ(numpy_nanmean({1.0, kNaN, 3.0}), 2.0);
  EXPECT_TRUE(std::isnan(numpy_mean({1.0, kNaN})));
}

TEST(Summary, ParsesV2NaNTokensButNotInsideStrings) {
  const auto j = parse_json_allowing_nan(R"({"a": NaN, "b": "NaN in text", "c": [-Infinity, 1.5]})", "t");
  EXPECT_TRUE(j["a"].is_null());
  EXPECT_EQ(j["b"], "NaN in text");
  EXPECT_TRUE(j["c"][0].is_null());
  EXPECT_TRUE(std::isnan(metric_value(j["a"])));
  EXPECT_EQ(metric_value(j["c"][1]), 1.5);
  EXPECT_THROW(parse_json_allowing_nan("{broken", "t"), Error);
}

TEST(Summary, WritesJsonAndCsvSideBySide) {
  const auto dir = test::scratch_dir("summary_write");
  write_summary(dir / "summary.json", summarize(two_labels(), {make_case("a", {1, 0, 0, 1}, {1, 0, 0, 1})}));
  ASSERT_TRUE(std::filesystem::exists(dir / "summary.json"));
  std::ifstream csv(dir / "summary.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header, "case,label,name,Dice,IoU,TP,FP,FN,TN,n_pred,n_ref");
  std::string first;
  std::getline(csv, first);
  EXPECT_EQ(first, "a,1,a,1,1,1,0,0,1,1,1");
}

}  // namespace
}  // namespace nnfleet::evaluation
