// Deep-supervision targets, label replacement and one-hot channels (worker/targets.h).
#include "worker/targets.h"

#include <gtest/gtest.h>

namespace nnfleet::worker {
namespace {

TEST(ScaledShape, RoundsThePatchTimesTheScale) {
  EXPECT_EQ(scaled_shape({40, 56, 40}, {0.5, 0.5, 0.5}), (Index3{20, 28, 20}));
  EXPECT_EQ(scaled_shape({1, 56, 40}, {1, 0.25, 0.125}), (Index3{1, 14, 5}));
}

TEST(DownsampleLabels, TakesNearestExactSamples) {
  std::vector<int8_t> in(8);
  for (int i = 0; i < 8; ++i) in[i] = int8_t(i);
  std::vector<float> out(4);
  downsample_labels(in.data(), {1, 1, 8}, {1, 1, 4}, out.data());
  EXPECT_EQ(out, (std::vector<float>{1, 3, 5, 7}));  // floor((i + 0.5) * 2)
  std::vector<float> same(8);
  downsample_labels(in.data(), {1, 1, 8}, {1, 1, 8}, same.data());
  EXPECT_EQ(same, (std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7}));
}

TEST(DownsampleLabels, WorksOnEveryAxis) {
  std::vector<int8_t> in(4 * 4 * 4);
  for (int i = 0; i < 64; ++i) in[i] = int8_t(i % 5);
  std::vector<float> out(8);
  downsample_labels(in.data(), {4, 4, 4}, {2, 2, 2}, out.data());
  // source (z, y, x) in {1, 3}^3
  EXPECT_EQ(out[0], float(((1 * 4 + 1) * 4 + 1) % 5));
  EXPECT_EQ(out[7], float(((3 * 4 + 3) * 4 + 3) % 5));
}

TEST(ReplaceLabel, MapsMinusOneToZero) {
  std::vector<int8_t> v{-1, 0, 2, -1};
  replace_label(v.data(), 4, -1, 0);
  EXPECT_EQ(v, (std::vector<int8_t>{0, 0, 2, 0}));
}

TEST(OneHot, MovesALabelMapIntoImageChannels) {
  Sample s;
  s.resize(1, 2, {1, 1, 4});
  s.image = {5, 6, 7, 8};
  s.labels = {0, 0, 0, 0, /* prev */ -1, 1, 2, 0};
  move_labels_to_one_hot_channels(s, 1, {1, 2});
  EXPECT_EQ(s.channels, 3);
  EXPECT_EQ(s.label_channels, 1);
  EXPECT_EQ(s.image, (std::vector<float>{5, 6, 7, 8, 0, 1, 0, 0, 0, 0, 1, 0}));
  EXPECT_EQ(s.labels.size(), 4u);
}

}  // namespace
}  // namespace nnfleet::worker

namespace nnfleet::worker {
namespace {

TEST(ZeroOutsideMask, ClearsVoxelsWithNegativeLabels) {
  std::vector<float> image{1, 2, 3};
  const std::vector<int8_t> labels{-1, 0, 1};
  zero_outside_mask(image.data(), labels.data(), 3);
  EXPECT_EQ(image, (std::vector<float>{0, 2, 3}));
}

}  // namespace
}  // namespace nnfleet::worker
