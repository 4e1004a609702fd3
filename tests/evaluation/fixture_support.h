#pragma once
// Helpers shared by the evaluation tests and the MPI selection test: the committed fixtures of
// tests/data/evaluation (see make_fixtures.py there) turned into nnfleet's layouts, and
// comparisons with nnunetv2's expected outputs.

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "evaluation/probability_file.h"
#include "evaluation/summary.h"
#include "preprocessing/image_io.h"
#include "tests/support/test_paths.h"

namespace nnfleet::test {

inline std::filesystem::path evaluation_data() { return test_data() / "evaluation"; }

// Builds results/<dataset>/<config>/fold_<k>/validation/<case>.h5 from the fixture's 4-D NIfTI
// probabilities (4th axis = class) and returns results/<dataset>.
inline std::filesystem::path build_selection_results(const std::filesystem::path& root) {
  namespace fs = std::filesystem;
  const fs::path src = evaluation_data() / "selection" / "probabilities";
  const fs::path dataset = root / "Dataset999_EvalFixture";
  for (const auto& file : fs::recursive_directory_iterator(src)) {
    if (!file.is_regular_file()) continue;
    const fs::path rel = fs::relative(file.path(), src);  // <config>/fold_<k>/<case>.nii.gz
    const auto image = preprocessing::read_image(file.path());
    evaluation::ProbabilityMap map;
    map.geometry = image.geometry;
    map.num_classes = image.channels;
    map.values = image.voxels;
    map.case_id = rel.filename().string().substr(0, rel.filename().string().size() - 7);
    const fs::path out = dataset / rel.parent_path().parent_path() / rel.parent_path().filename() /
                         "validation" / (map.case_id + ".h5");
    evaluation::write_probability_file(out, map);
  }
  return dataset;
}

// nnunetv2's names for a candidate: "nnUNetTrainer__nnUNetPlans__2d" or
// "ensemble___nnUNetTrainer__nnUNetPlans__2d___nnUNetTrainer__nnUNetPlans__3d_lowres___0_1_2_3_4".
inline std::string v2_candidate_name(const std::string& nnfleet_name) {
  const auto plus = nnfleet_name.find('+');
  const std::string prefix = "nnUNetTrainer__nnUNetPlans__";
  if (plus == std::string::npos) return prefix + nnfleet_name;
  return "ensemble___" + prefix + nnfleet_name.substr(0, plus) + "___" + prefix +
         nnfleet_name.substr(plus + 1) + "___0_1_2_3_4";
}

inline void expect_same_number(double expected, double actual, const std::string& what) {
  if (std::isnan(expected)) {
    EXPECT_TRUE(std::isnan(actual)) << what << ": expected NaN, got " << actual;
  } else {
    EXPECT_DOUBLE_EQ(expected, actual) << what;
  }
}

inline std::string case_of(const std::string& file) {
  std::string name = std::filesystem::path(file).filename().string();
  return name.substr(0, name.find('.'));
}

// Compares our summary with a summary.json written by nnunetv2: every per-case count and metric
// (cases matched by file name) and every mean.
inline void expect_summary_matches(const std::filesystem::path& expected_file,
                                   const evaluation::Summary& actual) {
  const auto expected = evaluation::read_json_allowing_nan(expected_file);
  const auto ours = evaluation::summary_to_json(actual);
  ASSERT_EQ(expected["metric_per_case"].size(), ours["metric_per_case"].size()) << expected_file;
  std::map<std::string, nlohmann::json> by_case;
  for (const auto& c : ours["metric_per_case"]) by_case[case_of(c["reference_file"])] = c["metrics"];
  for (const auto& c : expected["metric_per_case"]) {
    const std::string id = case_of(c["reference_file"]);
    ASSERT_TRUE(by_case.count(id)) << "case " << id << " missing";
    for (const auto& [label, metrics] : c["metrics"].items())
      for (const auto& [metric, value] : metrics.items())
        expect_same_number(evaluation::metric_value(value),
                           evaluation::metric_value(by_case[id][label][metric]),
                           expected_file.string() + " case " + id + " label " + label + " " + metric);
  }
  for (const auto& [label, metrics] : expected["mean"].items())
    for (const auto& [metric, value] : metrics.items())
      expect_same_number(evaluation::metric_value(value), evaluation::metric_value(ours["mean"][label][metric]),
                         expected_file.string() + " mean " + label + " " + metric);
  for (const auto& [metric, value] : expected["foreground_mean"].items())
    expect_same_number(evaluation::metric_value(value),
                       evaluation::metric_value(ours["foreground_mean"][metric]),
                       expected_file.string() + " foreground_mean " + metric);
}

}  // namespace nnfleet::test
