#include "preprocessing/image_io.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "tests/preprocessing/test_images.h"
#include "tests/support/test_paths.h"

namespace nnfleet::preprocessing {
namespace {
namespace fs = std::filesystem;

TEST(ImageIo, ReadsBundledHippocampusGeometry) {
  const fs::path file =
      test::bundled_data() / "Task04_Hippocampus" / "imagesTr" / "hippocampus_001.nii.gz";
  const Image image = read_image(file);
  EXPECT_EQ(image.channels, 1);
  EXPECT_EQ(image.geometry.size_xyz, (std::array<int64_t, 3>{35, 51, 35}));
  EXPECT_EQ(image.geometry.spacing_xyz, (std::array<double, 3>{1, 1, 1}));
  EXPECT_EQ(image.geometry.origin_xyz, (std::array<double, 3>{-1, -1, 1}));
  EXPECT_EQ(image.geometry.direction, (std::array<double, 9>{-1, 0, 0, 0, -1, 0, 0, 0, 1}));
  EXPECT_EQ(image.voxels.size(), 35u * 51u * 35u);
  const LabelImage label = read_label(test::bundled_data() / "Task04_Hippocampus" / "labelsTr" /
                                      "hippocampus_001.nii.gz");
  EXPECT_EQ(label.geometry.size_xyz, image.geometry.size_xyz);
  const Image header = read_image_header(file);
  EXPECT_EQ(header.geometry.origin_xyz, image.geometry.origin_xyz);
  EXPECT_TRUE(header.voxels.empty());
}

TEST(ImageIo, RoundTripsA4DImageAndKeepsGeometry) {
  const fs::path dir = test::scratch_dir("image_io_4d");
  Geometry g = test::make_geometry({5, 4, 3}, {0.5, 0.7, 2.0}, {10, -3, 4});
  g.direction = {0, 1, 0, -1, 0, 0, 0, 0, 1};
  test::write_test_image(dir / "a.nii.gz", g, 2,
                         [](int c, int64_t z, int64_t y, int64_t x) { return c * 100 + z * 10 + y + 0.1 * x; });
  EXPECT_FALSE(fs::exists(dir / ".tmp"));
  const Image image = read_image(dir / "a.nii.gz");
  EXPECT_EQ(image.channels, 2);
  EXPECT_EQ(image.geometry.size_xyz, g.size_xyz);
  for (int a = 0; a < 3; ++a) {
    EXPECT_NEAR(image.geometry.spacing_xyz[a], g.spacing_xyz[a], 1e-6);
    EXPECT_NEAR(image.geometry.origin_xyz[a], g.origin_xyz[a], 1e-6);
  }
  for (int i = 0; i < 9; ++i) EXPECT_NEAR(image.geometry.direction[i], g.direction[i], 1e-6);
  // (c=1, z=2, y=3, x=4) in C-order.
  EXPECT_FLOAT_EQ(image.voxels[((1 * 3 + 2) * 4 + 3) * 5 + 4], 100 + 20 + 3 + 0.4f);
}

TEST(ImageIo, ReadsChannelsFromSeparateFilesAndRejectsMismatchedSizes) {
  const fs::path dir = test::scratch_dir("image_io_channels");
  const Geometry g = test::make_geometry({4, 4, 2});
  test::write_test_image(dir / "c0.nrrd", g, 1, [](int, int64_t, int64_t, int64_t) { return 1.f; });
  test::write_test_image(dir / "c1.mha", g, 1, [](int, int64_t, int64_t, int64_t) { return 2.f; });
  test::write_test_image(dir / "c2.nii.gz", test::make_geometry({4, 4, 3}), 1,
                         [](int, int64_t, int64_t, int64_t) { return 3.f; });
  const Image image = read_channels({dir / "c0.nrrd", dir / "c1.mha"});
  EXPECT_EQ(image.channels, 2);
  EXPECT_EQ(image.voxels.front(), 1.f);
  EXPECT_EQ(image.voxels.back(), 2.f);
  try {
    read_channels({dir / "c0.nrrd", dir / "c2.nii.gz"});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("c2.nii.gz: size differs"), std::string::npos) << e.what();
  }
}

TEST(ImageIo, RoundsNearIntegerFloatLabels) {
  const fs::path dir = test::scratch_dir("image_io_near_int");
  test::write_raw_nifti(dir / "l.nii", {3, 1, 1}, 16, {0, 0.99999994, 2.0000002});
  const LabelImage label = read_label(dir / "l.nii");
  EXPECT_EQ(label.voxels, (std::vector<uint8_t>{0, 1, 2}));
}

TEST(ImageIo, AppliesNiftiSlopeToScaledIntegerLabels) {
  const fs::path dir = test::scratch_dir("image_io_slope");
  test::write_raw_nifti(dir / "l.nii", {3, 1, 1}, 4, {0, 100, 200}, 0.01f, 0.0f);
  const LabelImage label = read_label(dir / "l.nii");
  EXPECT_EQ(label.voxels, (std::vector<uint8_t>{0, 1, 2}));
}

TEST(ImageIo, RejectsFractionalLabelsNamingFileAndValue) {
  const fs::path dir = test::scratch_dir("image_io_fractional");
  test::write_raw_nifti(dir / "l.nii", {2, 1, 1}, 16, {0, 0.5});
  try {
    read_label(dir / "l.nii");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("l.nii"), std::string::npos) << m;
    EXPECT_NE(m.find("0.5 (1 voxels)"), std::string::npos) << m;
  }
}

TEST(ImageIo, MissingFileErrorNamesTheFile) {
  try {
    read_image("/nonexistent/x.nii.gz");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/x.nii.gz"), std::string::npos);
  }
}

TEST(ImageIo, WritesAndReads2DFiles) {
  const fs::path dir = test::scratch_dir("image_io_2d");
  Geometry g = test::make_geometry({6, 5, 1}, {0.5, 0.25, 1});
  g.file_dimension = 2;
  test::write_test_label(dir / "l.nii.gz", g, [](int64_t, int64_t y, int64_t) { return y % 2; });
  const LabelImage label = read_label(dir / "l.nii.gz");
  EXPECT_EQ(label.geometry.file_dimension, 2);
  EXPECT_EQ(label.geometry.size_xyz, g.size_xyz);
  EXPECT_DOUBLE_EQ(label.geometry.spacing_xyz[2], 999 * 0.5);
  EXPECT_EQ(label.voxels[5], 0);
  EXPECT_EQ(label.voxels[6], 1);
}

}  // namespace
}  // namespace nnfleet::preprocessing
