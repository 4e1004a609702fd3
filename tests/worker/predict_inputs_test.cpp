// Discovery of prediction inputs: per-channel files, MSD 4D files, and the channel-count errors.
#include "worker/predict_inputs.h"

#include <gtest/gtest.h>

#include <fstream>

#include "common/error.h"
#include "preprocessing/image_io.h"
#include "tests/support/test_paths.h"

namespace nnfleet::worker {
namespace {

void write_tiny(const std::filesystem::path& file, int channels) {
  preprocessing::Image image;
  image.geometry.size_xyz = {4, 3, 2};
  image.channels = channels;
  image.voxels.assign(static_cast<size_t>(channels * 24), 1.0f);
  preprocessing::write_image(file, image);
}

TEST(PredictInputs, GroupsPerChannelFilesByCase) {
  const auto dir = test::scratch_dir("inputs_per_channel");
  for (const char* f : {"b_0000.nii.gz", "b_0001.nii.gz", "a_0001.nii.gz", "a_0000.nii.gz"}) write_tiny(dir / f, 1);
  std::ofstream(dir / "notes.txt") << "ignored";
  const auto cases = find_input_cases(dir, 2);
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_EQ(cases[0].id, "a");
  ASSERT_EQ(cases[0].files.size(), 2u);
  EXPECT_EQ(cases[0].files[1].filename(), "a_0001.nii.gz");
}

TEST(PredictInputs, ReadsMsdFilesWithAllChannels) {
  const auto dir = test::scratch_dir("inputs_msd");
  write_tiny(dir / "hippocampus_002.nii.gz", 2);
  write_tiny(dir / "hippocampus_010.nii.gz", 2);
  const auto cases = find_input_cases(dir, 2);
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_EQ(cases[1].id, "hippocampus_010");
  EXPECT_EQ(cases[1].files.size(), 1u);
}

TEST(PredictInputs, ChannelMismatchNamesTheFileOrCase) {
  const auto msd = test::scratch_dir("inputs_msd_mismatch");
  write_tiny(msd / "case_1.nii.gz", 1);
  try {
    find_input_cases(msd, 2);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("case_1.nii.gz holds 1 channel(s)"), std::string::npos) << e.what();
  }
  const auto split = test::scratch_dir("inputs_split_mismatch");
  write_tiny(split / "x_0000.nii.gz", 1);
  write_tiny(split / "x_0002.nii.gz", 1);
  try {
    find_input_cases(split, 2);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("case x: found channel files 0, 2"), std::string::npos) << e.what();
  }
}

TEST(PredictInputs, MissingOrEmptyFolderIsAnError) {
  EXPECT_THROW(find_input_cases(test::scratch_dir("inputs_empty"), 1), Error);
  EXPECT_THROW(find_input_cases(test::scratch_dir("inputs_gone") / "missing", 1), Error);
}

TEST(PredictInputs, SharesCasesRoundRobin) {
  std::vector<InputCase> cases;
  for (int i = 0; i < 5; ++i) cases.push_back({std::to_string(i), {}});
  const auto r1 = cases_of_rank(cases, 1, 2);
  ASSERT_EQ(r1.size(), 2u);
  EXPECT_EQ(r1[0].id, "1");
  EXPECT_EQ(r1[1].id, "3");
  EXPECT_EQ(cases_of_rank(cases, 0, 1).size(), 5u);
}

}  // namespace
}  // namespace nnfleet::worker
