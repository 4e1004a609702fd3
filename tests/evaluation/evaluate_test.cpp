#include "evaluation/evaluate.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "tests/evaluation/fixture_support.h"

namespace nnfleet::evaluation {
namespace {
namespace fs = std::filesystem;

EvaluateOptions fixture_options(const std::string& name) {
  const fs::path dir = test::evaluation_data() / name;
  EvaluateOptions o;
  o.reference_folder = dir / "ref";
  o.prediction_folder = dir / "pred";
  o.labels = read_labels(dir / "dataset.json");
  return o;
}

TEST(Evaluate, MatchesNnunetv2OnPairsWithEmptyClasses) {
  const Summary s = evaluate_folders(fixture_options("metrics"));
  EXPECT_EQ(s.cases.size(), 5u);
  test::expect_summary_matches(test::evaluation_data() / "metrics" / "expected_summary.json", s);
}

TEST(Evaluate, MatchesNnunetv2WithIgnoreLabel) {
  const Summary s = evaluate_folders(fixture_options("metrics_ignore"));
  ASSERT_TRUE(s.labels.ignore_label.has_value());
  test::expect_summary_matches(test::evaluation_data() / "metrics_ignore" / "expected_summary.json", s);
}

TEST(Evaluate, MissingPredictionIsAnErrorUnlessChill) {
  const fs::path pred = test::scratch_dir("evaluate_missing");
  fs::copy_file(test::evaluation_data() / "metrics" / "pred" / "case_exact.nii.gz", pred / "case_exact.nii.gz");
  EvaluateOptions o = fixture_options("metrics");
  o.prediction_folder = pred;
  try {
    evaluate_folders(o);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("case_both_empty_class"), std::string::npos) << e.what();
  }
  o.chill = true;
  EXPECT_EQ(evaluate_folders(o).cases.size(), 1u);
}

TEST(Evaluate, PredictionWithoutReferenceOrOfOtherSizeIsAnError) {
  const fs::path pred = test::scratch_dir("evaluate_sizes");
  EvaluateOptions o = fixture_options("metrics");
  o.prediction_folder = pred;
  o.chill = true;
  // A prediction of another case's size under this case's name.
  fs::copy_file(test::evaluation_data() / "metrics" / "pred" / "case_exact.nii.gz", pred / "case_perturbed.nii.gz");
  EXPECT_THROW(evaluate_folders(o), Error);
  fs::remove(pred / "case_perturbed.nii.gz");
  fs::copy_file(test::evaluation_data() / "metrics" / "pred" / "case_exact.nii.gz", pred / "unknown.nii.gz");
  EXPECT_THROW(evaluate_folders(o), Error);
  fs::remove(pred / "unknown.nii.gz");
  EXPECT_THROW(evaluate_folders(o), Error);  // no prediction at all
}

}  // namespace
}  // namespace nnfleet::evaluation
