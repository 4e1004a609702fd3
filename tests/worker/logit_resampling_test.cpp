// Logit resampling against nnunetv2's resample_data_or_seg_to_shape (order 1, order_z 0),
// fixtures from tests/data/predictor/make_resampling_fixtures.py.
#include "worker/logit_resampling.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

#include "common/error.h"
#include "tests/support/test_paths.h"

namespace nnfleet::worker {
namespace {

TEST(LogitResampling, MatchesNnunetv2OnRandomVolumes) {
  std::ifstream in(test::test_data() / "predictor" / "resampling_fixtures.json");
  const auto cases = nlohmann::json::parse(in);
  for (const auto& c : cases) {
    const auto shape4 = c["shape"].get<std::vector<int64_t>>();
    const Shape3 shape{shape4[1], shape4[2], shape4[3]};
    const auto new_shape = c["new_shape"].get<Shape3>();
    const auto out = resample_logits(c["input"].get<std::vector<float>>(), shape4[0], shape, new_shape,
                                     c["current_spacing"].get<Spacing3>(), c["new_spacing"].get<Spacing3>());
    const auto ref = c["output"].get<std::vector<float>>();
    ASSERT_EQ(out.size(), ref.size()) << c["shape"].dump();
    for (size_t i = 0; i < ref.size(); ++i)
      ASSERT_NEAR(out[i], ref[i], 1e-5) << c["shape"].dump() << " -> " << c["new_shape"].dump() << " at " << i;
  }
}

TEST(LogitResampling, SeparateZFollowsNnunetRule) {
  EXPECT_EQ(separate_z_axis({5, 1, 1}, {1, 1, 1}), 0);
  EXPECT_EQ(separate_z_axis({1, 1, 1}, {1, 1, 3.5}), 2);
  EXPECT_EQ(separate_z_axis({1, 1, 2}, {1, 1, 1}), std::nullopt);
  EXPECT_EQ(separate_z_axis({5, 5, 1}, {1, 1, 1}), std::nullopt);  // coarsest axis shared
  EXPECT_EQ(separate_z_axis({5, 1, 1}, {1, 1, 1}, false), std::nullopt);
  EXPECT_EQ(separate_z_axis({1, 2, 1}, {1, 1, 1}, true), 1);
}

TEST(LogitResampling, SameShapeIsIdentityAndEmptyIsAnError) {
  const std::vector<float> v{1, 2, 3, 4, 5, 6};
  EXPECT_EQ(resample_logits(v, 2, {1, 1, 3}, {1, 1, 3}, {1, 1, 1}, {2, 2, 2}), v);
  EXPECT_THROW(resample_logits({}, 1, {0, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}), Error);
}

TEST(LogitResampling, LinearUpsamplingKeepsConstantsAndInterpolatesRamps) {
  const std::vector<float> ramp{0, 1, 2, 3};
  const auto up = resize_axis_linear(ramp, 1, {1, 1, 4}, 2, 8);
  // source coordinates (o + 0.5) / 2 - 0.5: -0.25 (clamped) 0.25 0.75 ... 3.25 (clamped)
  const std::vector<float> expected{0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3};
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_FLOAT_EQ(up[i], expected[i]);
}

}  // namespace
}  // namespace nnfleet::worker
