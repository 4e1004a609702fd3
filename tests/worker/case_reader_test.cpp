// Patch reads from HDF5 case files (worker/case_reader.h).
#include "worker/case_reader.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "tests/support/test_paths.h"
#include "tests/worker/case_file_writer.h"

namespace nnfleet::worker {
namespace {

class CaseReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::scratch_dir("case_reader");
    written_ =
        test::make_indexed_case(2, {6, 7, 9}, {{1, {{1, 2, 3}}}, {2, {}}, {10, {{5, 6, 8}}}});
    written_.seg[0] = -1;
    file_ = dir_ / "case_0.h5";
    test::write_case_file(file_, written_);
  }
  std::filesystem::path dir_, file_;
  test::TestCase written_;
};

TEST_F(CaseReaderTest, ReadsShapeChannelsAndSortedClassLocations) {
  const CaseInfo info = CaseReader(file_).read_info();
  EXPECT_EQ(info.channels, 2);
  EXPECT_EQ(info.shape, (Index3{6, 7, 9}));
  ASSERT_EQ(info.class_locations.size(), 3u);
  EXPECT_EQ(info.class_locations[0].first, "1");
  EXPECT_EQ(info.class_locations[1].first, "2");
  EXPECT_TRUE(info.class_locations[1].second.empty());
  EXPECT_EQ(info.class_locations[2].first, "10");  // numeric order, not text order
  EXPECT_EQ(info.class_locations[2].second[0], (Index3{5, 6, 8}));
}

TEST_F(CaseReaderTest, ReadsABoxInsideTheImage) {
  const Box box{{1, 2, 3}, {3, 4, 5}};
  std::vector<float> data(2 * box.num_voxels());
  CaseReader(file_).read_data(box, data.data());
  const int64_t n = 6 * 7 * 9;
  EXPECT_EQ(data[0], float((1 * 7 + 2) * 9 + 3));
  EXPECT_EQ(data[box.num_voxels()], float(1000 + (1 * 7 + 2) * 9 + 3));
  EXPECT_EQ(data[box.num_voxels() - 1], float((3 * 7 + 5) * 9 + 7));
  EXPECT_LT(data[box.num_voxels() - 1], n);
}

TEST_F(CaseReaderTest, PadsBoxesHangingOverTheBorder) {
  const Box box{{-2, 5, 7}, {3, 4, 4}};
  std::vector<float> data(2 * box.num_voxels());
  std::vector<int8_t> seg(box.num_voxels());
  CaseReader reader(file_);
  reader.read_data(box, data.data());
  reader.read_labels("seg", box, seg.data());
  // (z, y, x) = (0, 0, 0) of the box is image voxel (-2, 5, 7): outside.
  EXPECT_EQ(data[0], 0.0f);
  EXPECT_EQ(seg[0], -1);
  // box (2, 0, 0) = image (0, 5, 7): inside.
  const int64_t inside = (2 * 4 + 0) * 4 + 0;
  EXPECT_EQ(data[inside], float((0 * 7 + 5) * 9 + 7));
  EXPECT_EQ(seg[inside], 0);
  // box (2, 2, 2) = image (0, 7, 9): outside along y and x.
  EXPECT_EQ(data[(2 * 4 + 2) * 4 + 2], 0.0f);
  EXPECT_EQ(seg[(2 * 4 + 2) * 4 + 2], -1);
}

TEST_F(CaseReaderTest, ReadsLabelsIncludingMinusOne) {
  const Box box{{0, 0, 0}, {2, 3, 4}};
  std::vector<int8_t> seg(box.num_voxels());
  CaseReader(file_).read_labels("seg", box, seg.data());
  EXPECT_EQ(seg[0], -1);
  EXPECT_EQ(seg[(1 * 3 + 2) * 4 + 3], 1);
}

TEST_F(CaseReaderTest, MissingFileOrDatasetNamesTheFile) {
  try {
    CaseReader reader(dir_ / "nope.h5");
    FAIL() << "no exception";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nope.h5"), std::string::npos);
  }
  std::vector<int8_t> seg(8);
  EXPECT_THROW(CaseReader(file_).read_labels("seg_prev", Box{{0, 0, 0}, {2, 2, 2}}, seg.data()),
               Error);
}

}  // namespace
}  // namespace nnfleet::worker
