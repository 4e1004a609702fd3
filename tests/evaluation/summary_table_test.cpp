#include "evaluation/summary_table.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/atomic_file.h"
#include "common/error.h"
#include "evaluation/summary.h"
#include "tests/support/test_paths.h"

namespace nnfleet::evaluation {
namespace {
namespace fs = std::filesystem;

void write_fake_summary(const fs::path& file) {
  LabelSet labels;
  labels.foreground = {1, 2};
  labels.names = {"Anterior", "Posterior"};
  write_summary(file, summarize(labels, {{"c", "p", "r", {{1, 1, 0, 5}, {2, 0, 0, 5}}}}));
}

TEST(SummaryTable, CollectsFoldsAndSelectionAcrossDatasets) {
  const fs::path results = test::scratch_dir("summary_table");
  const fs::path ds = results / "Dataset004_Hippocampus";
  write_json_atomically(ds / "3d_fullres" / "dataset.json",
                        nlohmann::json::parse(R"({"labels": {"background": 0, "Anterior": 1, "Posterior": 2}})"));
  write_fake_summary(ds / "3d_fullres" / "fold_0" / "validation" / "summary.json");
  write_fake_summary(ds / "3d_fullres" / "fold_1" / "validation" / "summary.json");
  write_fake_summary(ds / "selection" / "2d+3d_fullres" / "summary.json");
  write_fake_summary(ds / "selection" / "2d+3d_fullres" / "summary_postprocessed.json");
  fs::create_directories(results / "Dataset002_Heart" / "2d" / "fold_0");  // nothing validated yet

  const auto rows = collect_summary_rows(results, {});
  ASSERT_EQ(rows.size(), 4u * 3u);
  EXPECT_EQ(rows[0].model, "2d+3d_fullres");
  EXPECT_EQ(rows[0].fold, "all");
  EXPECT_EQ(rows[0].label, "1");
  EXPECT_EQ(rows[0].label_name, "Anterior");
  EXPECT_DOUBLE_EQ(rows[0].dice, 2.0 / 3.0);
  EXPECT_EQ(rows[2].label, "foreground_mean");
  EXPECT_EQ(rows[3].model, "2d+3d_fullres (postprocessed)");
  EXPECT_EQ(rows[6].model, "3d_fullres");
  EXPECT_EQ(rows[6].fold, "0");

  const std::string csv = summary_rows_to_csv(rows);
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "task,model,fold,class,class_name,Dice,IoU,TP,FP,FN,n_pred,n_ref");
  EXPECT_NE(csv.find("Dataset004_Hippocampus,3d_fullres,1,2,Posterior,1,1,2,0,0,2,2"), std::string::npos) << csv;
}

TEST(SummaryTable, UnknownDatasetOrMalformedSummaryIsAnError) {
  const fs::path results = test::scratch_dir("summary_table_bad");
  EXPECT_THROW(collect_summary_rows(results / "nope", {}), Error);
  EXPECT_THROW(collect_summary_rows(results, {"Dataset001_Missing"}), Error);
  fs::create_directories(results / "D" / "2d" / "fold_0" / "validation");
  std::ofstream(results / "D" / "2d" / "fold_0" / "validation" / "summary.json") << R"({"other": 1})";
  try {
    collect_summary_rows(results, {"D"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fold_0"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace nnfleet::evaluation
