#include "evaluation/selection.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/atomic_file.h"
#include "common/error.h"
#include "tests/evaluation/fixture_support.h"

namespace nnfleet::evaluation {
namespace {
namespace fs = std::filesystem;

dist::Comm self() { return dist::Comm::borrow(MPI_COMM_SELF); }

SelectionOptions fixture_options(const fs::path& results_dataset) {
  SelectionOptions o;
  o.results_dataset_folder = results_dataset;
  o.reference_folder = test::evaluation_data() / "selection" / "gt";
  o.labels = read_labels(test::evaluation_data() / "selection" / "dataset.json");
  o.dataset_name = "Dataset999_EvalFixture";
  return o;
}

class SelectionFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dataset_ = new fs::path(test::build_selection_results(test::scratch_dir("selection_fixture")));
    result_ = new SelectionResult(select_model(fixture_options(*dataset_), self()));
  }
  static void TearDownTestSuite() {
    delete result_;
    delete dataset_;
  }
  static fs::path expected(const std::string& name) {
    return test::evaluation_data() / "selection" / "expected" / name;
  }
  static fs::path* dataset_;
  static SelectionResult* result_;
};
fs::path* SelectionFixture::dataset_ = nullptr;
SelectionResult* SelectionFixture::result_ = nullptr;

TEST_F(SelectionFixture, EveryCandidateScoresAsNnunetv2) {
  const auto info = read_json_allowing_nan(expected("inference_information.json"));
  ASSERT_EQ(result_->candidates.size(), 6u);  // 3 configurations + 3 pairs
  for (const auto& c : result_->candidates) {
    const std::string v2 = test::v2_candidate_name(c.name);
    ASSERT_TRUE(info["all_results"].contains(v2)) << v2;
    EXPECT_DOUBLE_EQ(c.score, info["all_results"][v2].get<double>()) << c.name;
    test::expect_summary_matches(expected(v2 + ".summary.json"), c.summary);
  }
}

TEST_F(SelectionFixture, PicksTheSameWinnerAndPostprocessing) {
  const auto info = read_json_allowing_nan(expected("inference_information.json"));
  const auto& best = result_->candidates[result_->best];
  EXPECT_EQ(best.members.size(), info["best_model_or_ensemble"]["selected_model_or_models"].size());
  for (size_t m = 0; m < best.members.size(); ++m)
    EXPECT_EQ(best.members[m],
              info["best_model_or_ensemble"]["selected_model_or_models"][m]["configuration"]);
  EXPECT_DOUBLE_EQ(result_->postprocessing.after.foreground_mean.dice,
                   info["best_model_or_ensemble"]["result_on_crossval_post_pp"].get<double>());

  const auto pp = read_json_allowing_nan(expected("postprocessing.json"));
  const auto ours = postprocessing_to_json(result_->postprocessing);
  EXPECT_EQ(ours["postprocessing_kwargs"], pp["postprocessing_kwargs"]);
  EXPECT_EQ(ours["postprocessing_fns"], pp["postprocessing_fns"]);
  test::expect_summary_matches(expected("postprocessed.summary.json"), result_->postprocessing.after);
}

TEST_F(SelectionFixture, WritesRankingDecisionAndInstructions) {
  const fs::path out = *dataset_ / "selection";
  for (const char* f : {"ranking.csv", "decision.json", "postprocessing.json", "inference_instructions.txt",
                        "3d_fullres/summary.json", "2d+3d_lowres/summary.csv"})
    EXPECT_TRUE(fs::is_regular_file(out / f)) << f;
  const auto decision = read_json(out / "decision.json");
  EXPECT_EQ(decision["best_model_or_ensemble"]["name"], result_->candidates[result_->best].name);
  EXPECT_EQ(read_postprocessing(out / "postprocessing.json").steps.size(),
            result_->postprocessing.rule.steps.size());
  std::ifstream text(out / "inference_instructions.txt");
  const std::string s((std::istreambuf_iterator<char>(text)), std::istreambuf_iterator<char>());
  EXPECT_NE(s.find("nnfleet predict -d Dataset999_EvalFixture -i INPUT_FOLDER -o OUTPUT_FOLDER_MODEL_1 "
                   "-c 3d_fullres -f 0 1 2 3 4 --save-probabilities"),
            std::string::npos) << s;
  EXPECT_NE(s.find("nnfleet ensemble -i OUTPUT_FOLDER_MODEL_1 OUTPUT_FOLDER_MODEL_2 -o OUTPUT_FOLDER "
                   "--postprocessing "),
            std::string::npos) << s;
}

TEST(Selection, CascadeInstructionsRunTheLowResolutionStageFirst) {
  SelectionOptions o;
  o.dataset_name = "Dataset004_Hippocampus";
  SelectionResult r;
  r.output_folder = "/results/Dataset004_Hippocampus/selection";
  r.candidates.push_back({"3d_cascade_fullres", {"3d_cascade_fullres"}, {}, 0.9});
  const std::string s = inference_instructions(o, r);
  const auto lowres = s.find("-o OUTPUT_FOLDER_PREV_STAGE -c 3d_lowres -f 0 1 2 3 4");
  const auto cascade = s.find("-c 3d_cascade_fullres -f 0 1 2 3 4 --prev-stage-predictions OUTPUT_FOLDER_PREV_STAGE "
                              "--postprocessing /results/Dataset004_Hippocampus/selection/postprocessing.json");
  ASSERT_NE(lowres, std::string::npos) << s;
  ASSERT_NE(cascade, std::string::npos) << s;
  EXPECT_LT(lowres, cascade);
}

TEST(Selection, MissingFoldOrCaseInTwoFoldsIsAnError) {
  const fs::path dataset = test::build_selection_results(test::scratch_dir("selection_broken"));
  SelectionOptions o = fixture_options(dataset);
  o.configurations = {"2d", "3d_fullres"};
  fs::copy_file(dataset / "2d" / "fold_0" / "validation" / "hippocampus_001.h5",
                dataset / "2d" / "fold_1" / "validation" / "hippocampus_001.h5");
  try {
    select_model(o, self());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("hippocampus_001"), std::string::npos) << e.what();
  }
  fs::remove(dataset / "2d" / "fold_1" / "validation" / "hippocampus_001.h5");
  fs::remove_all(dataset / "2d" / "fold_3");
  try {
    select_model(o, self());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fold 3"), std::string::npos) << e.what();
  }
  o.configurations.clear();
  o.results_dataset_folder = test::scratch_dir("selection_empty");
  EXPECT_THROW(select_model(o, self()), Error);
}

}  // namespace
}  // namespace nnfleet::evaluation
