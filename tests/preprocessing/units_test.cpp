// Small units of preprocessing: numpy-compatible sampling, percentiles, topology, new shapes, the
// separate-z decision, resampling invariants, crop with hole filling, HDF5 patches.

#include <gtest/gtest.h>

#include "common/error.h"
#include "preprocessing/crop.h"
#include "preprocessing/fingerprint.h"
#include "preprocessing/h5_file.h"
#include "preprocessing/numpy_random.h"
#include "preprocessing/planner.h"
#include "preprocessing/resample.h"
#include "tests/support/test_paths.h"

namespace nnfleet::preprocessing {
namespace {

TEST(NumpyRandom, ReproducesRandomStateChoice) {
  NumpyLegacyRandom with_replacement(1234);
  std::vector<uint64_t> drawn;
  for (int i = 0; i < 5; ++i) drawn.push_back(with_replacement.below(1000));
  // numpy.random.RandomState(1234).choice(1000, 5, replace=True)
  EXPECT_EQ(drawn, (std::vector<uint64_t>{815, 723, 294, 53, 204}));
  NumpyLegacyRandom without(1234);
  // numpy.random.RandomState(1234).choice(37, 6, replace=False)
  EXPECT_EQ(without.choice_without_replacement(37, 6), (std::vector<int64_t>{8, 36, 14, 1, 4, 29}));
}

TEST(Percentile, MatchesNumpyLinear) {
  const std::vector<double> v{1, 2, 3, 4, 10};
  EXPECT_NEAR(percentile_of(v, 0.5), 1.02, 1e-12);
  EXPECT_NEAR(percentile_of(v, 50), 3.0, 1e-12);
  EXPECT_NEAR(percentile_of(v, 99.5), 9.88, 1e-12);
  EXPECT_NEAR(percentile_of(v, 10), 1.4, 1e-12);
  EXPECT_NEAR(weighted_percentile({{1, 2}, {5, 2}}, 50), 3.0, 1e-12);
}

TEST(Topology, HeartExampleFromTheMethod) {
  // 3d_fullres of the method's worked example: spacing (1.37, 1.25, 1.25), patch [80, 192, 160].
  const Topology t = pool_and_conv_props({1.37, 1.25, 1.25}, {80, 192, 160});
  EXPECT_EQ(t.patch_size, (std::vector<int64_t>{80, 192, 160}));
  ASSERT_EQ(t.strides.size(), 6u);
  EXPECT_EQ(t.strides[0], (std::vector<int>{1, 1, 1}));
  EXPECT_EQ(t.strides[5], (std::vector<int>{1, 2, 2}));
  for (const auto& k : t.kernel_sizes) EXPECT_EQ(k, (std::vector<int>{3, 3, 3}));
}

TEST(NewShape, RoundsHalfToEvenAndKeepsFlatAxes) {
  EXPECT_EQ(compute_new_shape({10, 5, 1}, {1, 1, 1}, {4, 2, 0.1}), (std::vector<int64_t>{2, 2, 1}));
  EXPECT_EQ(compute_new_shape({3, 64, 64}, {1, 1, 1}, {10, 1, 1}), (std::vector<int64_t>{1, 64, 64}));
}

TEST(SeparateZ, CoarseAxisOnlyWhenUniqueAndAnisotropic) {
  EXPECT_EQ(separate_z_decision({11, 0.7, 0.7}, {11, 0.7, 0.7}).axis, 0);
  EXPECT_EQ(separate_z_decision({1, 1, 1}, {0.7, 0.7, 3.5}).axis, 2);
  EXPECT_FALSE(separate_z_decision({0.5, 5, 5}, {1, 1, 1}).enabled);  // two coarse axes: a tie
  EXPECT_FALSE(separate_z_decision({1, 1, 1}, {1, 1, 1}).enabled);
}

TEST(Resample, KeepsConstantsAndLabelsOnAnisotropicGrids) {
  const Shape3 shape{5, 8, 8}, new_shape{9, 12, 12};
  std::vector<float> data(2 * volume_of(shape), 3.5f);
  const auto out = resample_data(data, 2, shape, new_shape, {5, 0.7, 0.7}, {2.6, 0.45, 0.45});
  ASSERT_EQ(out.size(), static_cast<size_t>(2 * volume_of(new_shape)));
  for (float v : out) EXPECT_NEAR(v, 3.5f, 1e-5);
  std::vector<int8_t> seg(volume_of(shape));
  for (size_t i = 0; i < seg.size(); ++i) seg[i] = static_cast<int8_t>((i % 8) < 4 ? -1 : 2);
  const auto s = resample_seg(seg, shape, new_shape, {5, 0.7, 0.7}, {2.6, 0.45, 0.45});
  for (int8_t v : s) EXPECT_TRUE(v == -1 || v == 2);
  EXPECT_EQ(s.front(), -1);
  EXPECT_EQ(s.back(), 2);
}

TEST(Crop, FillsHolesAndMarksOutsideWithMinusOne) {
  // A hollow 3x3x3 cube (non-zero shell) inside a 5x5x5 zero volume.
  const Shape3 shape{5, 5, 5};
  std::vector<float> data(volume_of(shape), 0);
  for (int z = 1; z < 4; ++z)
    for (int y = 1; y < 4; ++y)
      for (int x = 1; x < 4; ++x)
        if (!(z == 2 && y == 2 && x == 2)) data[(z * 5 + y) * 5 + x] = 1;
  std::vector<uint8_t> label(volume_of(shape), 0);
  const CroppedCase c = crop_to_nonzero(data, 1, shape, label.data());
  EXPECT_EQ(c.box.lo, (Shape3{1, 1, 1}));
  EXPECT_EQ(c.box.hi, (Shape3{4, 4, 4}));
  for (int8_t v : c.seg) EXPECT_EQ(v, 0);  // the hole is inside the filled mask
}

TEST(H5File, ReadsPatchesAndPadsOutsideTheDataset) {
  const auto file = test::scratch_dir("h5_patch") / "x.h5";
  std::vector<float> values(2 * 4 * 5 * 6);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i);
  {
    H5File h5 = H5File::create(file);
    h5.write("data", {2, 4, 5, 6}, values.data(), {1, 2, 2, 2});
    h5.set_attribute("properties", "{\"case\": \"x\"}");
  }
  const H5File h5 = H5File::open_read(file);
  EXPECT_EQ(h5.shape("data"), (std::vector<int64_t>{2, 4, 5, 6}));
  EXPECT_EQ(h5.attribute("properties"), "{\"case\": \"x\"}");
  const auto patch = h5.read_patch<float>("data", {1, 1, 2, 3}, {2, 3, 4, 5});
  EXPECT_EQ(patch, (std::vector<float>{165, 166, 171, 172, 195, 196, 201, 202}));
  const auto padded = h5.read_patch_padded<float>("data", {0, -1, 0, 4}, {1, 1, 1, 8}, -7.f);
  EXPECT_EQ(padded, (std::vector<float>{-7, -7, -7, -7, 4, 5, -7, -7}));
  EXPECT_THROW(h5.read_patch<float>("data", {0, 0, 0, 0}, {1, 1, 1, 7}), Error);
  EXPECT_THROW(h5.shape("missing"), Error);
}

}  // namespace
}  // namespace nnfleet::preprocessing
