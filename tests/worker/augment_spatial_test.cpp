// Crop, rotation/scaling resampling and mirroring on small arrays (worker/augment_spatial.h).
#include "worker/augment_spatial.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

namespace nnfleet::worker {
namespace {

constexpr double kHalfPi = 1.5707963267948966;

// Image value = linear index; labels = (index % 3) - 1 so that -1, 0 and 1 occur.
Sample indexed_sample(const Index3& shape, int channels = 1) {
  Sample s;
  s.resize(channels, 1, shape);
  for (int64_t i = 0; i < static_cast<int64_t>(s.image.size()); ++i) s.image[i] = float(i);
  for (int64_t i = 0; i < s.voxels(); ++i) s.labels[i] = int8_t(i % 3 - 1);
  return s;
}

int64_t at(const Index3& shape, int64_t z, int64_t y, int64_t x) {
  return (z * shape[1] + y) * shape[2] + x;
}

TEST(CropCenter, CutsTheCentredBoxAndPadsOutside) {
  const Sample in = indexed_sample({4, 6, 8});
  Sample out;
  crop_center(in, {2, 2, 4}, out);
  // start = in // 2 - out // 2 = (1, 2, 2)
  EXPECT_EQ(out.image[0], in.image[at(in.shape, 1, 2, 2)]);
  EXPECT_EQ(out.image[at(out.shape, 1, 1, 3)], in.image[at(in.shape, 2, 3, 5)]);
  Sample bigger;
  crop_center(in, {6, 6, 8}, bigger);  // start z = 2 - 3 = -1: first slice is padding
  EXPECT_EQ(bigger.image[0], 0.0f);
  EXPECT_EQ(bigger.labels[0], -1);
  EXPECT_EQ(bigger.image[at(bigger.shape, 1, 0, 0)], in.image[0]);
}

TEST(Resample, IdentityMatrixIsAPureCrop) {
  const Sample in = indexed_sample({6, 8, 10}, 2);
  Sample cropped, resampled;
  crop_center(in, {4, 6, 8}, cropped);
  resample(in, rotation_scaling_matrix({0, 0, 0}, 1.0), {4, 6, 8}, resampled);
  EXPECT_EQ(resampled.image, cropped.image);
  EXPECT_EQ(resampled.labels, cropped.labels);
}

TEST(Resample, NinetyDegreesAboutAxisZeroRotatesTheYxPlane) {
  const Index3 shape{3, 5, 5};
  const Sample in = indexed_sample(shape);
  Sample out;
  resample(in, rotation_scaling_matrix({kHalfPi, 0, 0}, 1.0), shape, out);
  // p = c + M d with M = Rx(90): (dz, dy, dx) samples input offset (dz, -dx, dy).
  for (int64_t z = 0; z < 3; ++z) {
    for (int64_t y = 0; y < 5; ++y) {
      for (int64_t x = 0; x < 5; ++x) {
        const int64_t dy = y - 2, dx = x - 2;
        const int64_t src = at(shape, z, 2 - dx, 2 + dy);
        EXPECT_NEAR(out.image[at(shape, z, y, x)], in.image[src], 1e-3);
        EXPECT_EQ(out.labels[at(shape, z, y, x)], in.labels[src]);
      }
    }
  }
}

TEST(Resample, InPlaneRotationMatchesTheThreeDimensionalOneAboutAxisZero) {
  const Sample in = indexed_sample({3, 7, 7});
  Sample a, b;
  resample(in, rotation_scaling_matrix({0.3, 0, 0}, 1.0), {3, 5, 5}, a);
  resample(in, in_plane_rotation_scaling_matrix(0.3, 1.0), {3, 5, 5}, b);
  for (size_t i = 0; i < a.image.size(); ++i) EXPECT_NEAR(a.image[i], b.image[i], 1e-3);
}

TEST(Resample, ZeroPaddingOutsideTheInput) {
  Sample in;
  in.resize(1, 1, {2, 2, 2});
  std::fill(in.image.begin(), in.image.end(), 1.0f);
  std::fill(in.labels.begin(), in.labels.end(), int8_t{1});
  Sample out;
  resample(in, rotation_scaling_matrix({0, 0, 0}, 2.0), {4, 4, 4}, out);  // zoom out 2x
  EXPECT_EQ(out.image[0], 0.0f);
  EXPECT_EQ(out.labels[0], -1);
  EXPECT_GT(out.image[at(out.shape, 1, 1, 1)], 0.0f);
}

TEST(Resample, LabelsStayWithinTheInputSet) {
  Sample in = indexed_sample({9, 11, 13});
  for (int64_t i = 0; i < in.voxels(); ++i) in.labels[i] = int8_t((i / 7) % 4);  // 0..3
  Sample out;
  resample(in, rotation_scaling_matrix({0.4, -0.2, 0.5}, 0.8), {7, 9, 11}, out);
  std::set<int> seen(out.labels.begin(), out.labels.end());
  for (int v : seen) EXPECT_TRUE(v >= -1 && v <= 3) << v;
  EXPECT_GT(seen.size(), 2u);
}

TEST(Resample, LabelInterpolationKeepsAHalfSpaceSharp) {
  // Left half label 2, right half label 0; a slight zoom must not create other labels and must
  // keep the boundary at the centre.
  Sample in;
  in.resize(1, 1, {1, 1, 10});
  std::fill(in.image.begin(), in.image.end(), 0.0f);
  for (int x = 0; x < 10; ++x) in.labels[x] = x < 5 ? 2 : 0;
  Sample out;
  resample(in, in_plane_rotation_scaling_matrix(0, 0.9), {1, 1, 10}, out);
  for (int x = 0; x < 10; ++x) EXPECT_EQ(out.labels[x], x < 5 ? 2 : 0) << x;
}

TEST(Mirror, FlipsEachRequestedAxis) {
  const Index3 shape{2, 3, 4};
  Sample s = indexed_sample(shape, 2);
  const Sample original = s;
  mirror(s, {true, false, true});
  for (int c = 0; c < 2; ++c) {
    for (int64_t z = 0; z < 2; ++z) {
      for (int64_t y = 0; y < 3; ++y) {
        for (int64_t x = 0; x < 4; ++x) {
          EXPECT_EQ(s.channel(c)[at(shape, z, y, x)],
                    original.channel(c)[at(shape, 1 - z, y, 3 - x)]);
        }
      }
    }
  }
  EXPECT_EQ(s.labels[at(shape, 0, 0, 0)], original.labels[at(shape, 1, 0, 3)]);
  mirror(s, {true, false, true});
  EXPECT_EQ(s.image, original.image);
}

}  // namespace
}  // namespace nnfleet::worker
