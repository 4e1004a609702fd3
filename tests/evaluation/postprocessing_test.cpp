#include "evaluation/postprocessing.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/atomic_file.h"
#include "common/error.h"
#include "tests/support/test_paths.h"

namespace nnfleet::evaluation {
namespace {
namespace fs = std::filesystem;

LabelSet two_labels() {
  LabelSet s;
  s.foreground = {1, 2};
  s.names = {"a", "b"};
  return s;
}

TEST(Postprocessing, StepsKeepTheLargestComponentOfTheirLabels) {
  // 1 x 1 x 9 row: [1 1 0 2 0 1 0 2 2]
  std::vector<uint8_t> v{1, 1, 0, 2, 0, 1, 0, 2, 2};
  PostprocessingRule all{{{{1, 2}, true}}};
  auto a = v;
  apply_postprocessing(a, {1, 1, 9}, all);
  // Components of {1, 2}: [0,1] size 2, [3] 1, [5] 1, [7,8] 2: both size-2 components stay.
  EXPECT_EQ(a, (std::vector<uint8_t>{1, 1, 0, 0, 0, 0, 0, 2, 2}));
  PostprocessingRule one{{{{1}, false}}};
  auto b = v;
  apply_postprocessing(b, {1, 1, 9}, one);
  EXPECT_EQ(b, (std::vector<uint8_t>{1, 1, 0, 2, 0, 0, 0, 2, 2}));
}

// A fake evaluation: mean Dice per label as a function of the rule's steps.
Summary fake_summary(double dice1, double dice2) {
  Summary s = summarize(two_labels(), {});
  s.mean[0].dice = dice1;
  s.mean[1].dice = dice2;
  s.foreground_mean.dice = (dice1 + dice2) / 2;
  return s;
}

TEST(Postprocessing, AllForegroundStepNeedsMeanGainAndNoLoss) {
  // Step A raises the mean but lowers label 2: rejected. Then only label 1's own step helps.
  std::vector<std::string> seen;
  const auto d = decide_postprocessing(two_labels(), [&](const PostprocessingRule& r) {
    std::string key;
    for (const auto& s : r.steps) key += std::to_string(s.labels.size()) + (s.as_list ? "L" : "I");
    seen.push_back(key);
    if (r.steps.empty()) return fake_summary(0.5, 0.8);
    if (r.steps[0].as_list) return fake_summary(0.9, 0.79);
    if (r.steps.back().labels[0] == 1) return fake_summary(0.6, 0.8);
    return fake_summary(0.6, 0.8);  // label 2 step: no change for label 2 -> rejected
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"", "2L", "1I", "1I1I"}));
  ASSERT_EQ(d.rule.steps.size(), 1u);
  EXPECT_EQ(d.rule.steps[0].labels, std::vector<int>{1});
  EXPECT_DOUBLE_EQ(d.after.mean[0].dice, 0.6);
  EXPECT_DOUBLE_EQ(d.before.mean[0].dice, 0.5);
}

TEST(Postprocessing, NaNNeverCountsAsAnImprovement) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const auto d = decide_postprocessing(two_labels(), [&](const PostprocessingRule& r) {
    return r.steps.empty() ? fake_summary(0.5, nan) : fake_summary(0.9, nan);
  });
  // Step A: foreground mean NaN > NaN is false; label steps: only label 1 improves.
  ASSERT_EQ(d.rule.steps.size(), 1u);
  EXPECT_FALSE(d.rule.steps[0].as_list);
}

TEST(Postprocessing, JsonRoundTripsInV2Layout) {
  PostprocessingDecision d;
  d.rule.steps = {{{1, 2}, true}, {{2}, false}};
  d.before = fake_summary(0.5, 0.6);
  d.after = fake_summary(0.7, 0.8);
  const fs::path file = test::scratch_dir("pp_json") / "postprocessing.json";
  write_postprocessing(file, d);
  const auto j = read_json(file);
  EXPECT_EQ(j["postprocessing_kwargs"][0]["labels_or_regions"], nlohmann::json({1, 2}));
  EXPECT_EQ(j["postprocessing_kwargs"][1]["labels_or_regions"], 2);
  EXPECT_EQ(j["postprocessing_fns"][0], "remove_all_but_largest_component_from_segmentation");
  EXPECT_DOUBLE_EQ(j["postprocessed"]["foreground_mean"]["Dice"].get<double>(), 0.75);
  const PostprocessingRule r = read_postprocessing(file);
  ASSERT_EQ(r.steps.size(), 2u);
  EXPECT_EQ(r.steps[0].labels, (std::vector<int>{1, 2}));
  EXPECT_EQ(r.steps[1].labels, std::vector<int>{2});
  EXPECT_FALSE(r.steps[1].as_list);
}

TEST(Postprocessing, MalformedFilesAreRejectedWithTheirName) {
  const fs::path dir = test::scratch_dir("pp_bad");
  EXPECT_THROW(read_postprocessing(dir / "missing.json"), Error);
  std::ofstream(dir / "a.json") << R"({"postprocessing_kwargs": [{"labels_or_regions": "x"}]})";
  EXPECT_THROW(read_postprocessing(dir / "a.json"), Error);
  std::ofstream(dir / "b.json") << R"({"postprocessing_fns": ["fill_holes"], "postprocessing_kwargs": [{}]})";
  try {
    read_postprocessing(dir / "b.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fill_holes"), std::string::npos);
  }
}

}  // namespace
}  // namespace nnfleet::evaluation
