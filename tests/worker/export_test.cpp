// Export to the original geometry on synthetic cases whose crop, transpose and resampling are
// known exactly; the round trips through the real preprocessing are in export_roundtrip_test.cpp.
#include "worker/export.h"

#include <gtest/gtest.h>

#include <random>

#include "common/error.h"
#include "preprocessing/h5_file.h"
#include "tests/support/test_paths.h"

namespace nnfleet::worker {
namespace {

struct SyntheticCase {
  Shape3 shape{7, 9, 11};  // original (z, y, x)
  std::vector<uint8_t> label;
  CaseProperties props;
};

SyntheticCase make_case() {
  SyntheticCase c;
  std::mt19937 rng(5);
  c.label.resize(7 * 9 * 11);
  for (auto& v : c.label) v = static_cast<uint8_t>(rng() % 3);
  c.props.case_id = "case_7";
  c.props.spacing = {3.0, 0.8, 0.9};
  c.props.shape_before_cropping = c.shape;
  c.props.bbox = {{{1, 6}, {2, 9}, {0, 10}}};
  c.props.shape_after_cropping = {5, 7, 10};
  c.props.geometry.spacing_xyz = {0.9, 0.8, 3.0};
  c.props.geometry.origin_xyz = {-10.5, 3.25, 40};
  c.props.geometry.direction = {0, 1, 0, -1, 0, 0, 0, 0, 1};
  c.props.geometry.size_xyz = {11, 9, 7};
  // Outside the crop box the reference is background, as cropping only removes zero image voxels.
  for (int64_t z = 0; z < 7; ++z)
    for (int64_t y = 0; y < 9; ++y)
      for (int64_t x = 0; x < 11; ++x)
        if (z < 1 || z >= 6 || y < 2 || y >= 9 || x >= 10) c.label[static_cast<size_t>((z * 9 + y) * 11 + x)] = 0;
  return c;
}

ExportSettings settings_for(const Axes3& forward, const Spacing3& preprocessed_spacing) {
  ExportSettings s;
  s.transpose_forward = forward;
  s.configuration_spacing = {preprocessed_spacing[0], preprocessed_spacing[1], preprocessed_spacing[2]};
  s.channel_labels = {0, 1, 2};
  s.labels_v2 = {{"background", 0}, {"a", 1}, {"b", 2}};
  return s;
}

// One-hot logits (x 10) of the cropped, transposed label: what a perfect network predicts.
std::vector<float> perfect_logits(const SyntheticCase& c, const Axes3& forward, Shape3& shape_out) {
  std::vector<uint8_t> cropped;
  for (int64_t z = 1; z < 6; ++z)
    for (int64_t y = 2; y < 9; ++y)
      for (int64_t x = 0; x < 10; ++x) cropped.push_back(c.label[static_cast<size_t>((z * 9 + y) * 11 + x)]);
  const Shape3 cs = c.props.shape_after_cropping;
  const auto t = transpose_volume(cropped, 1, cs, forward);
  shape_out = {cs[static_cast<size_t>(forward[0])], cs[static_cast<size_t>(forward[1])], cs[static_cast<size_t>(forward[2])]};
  std::vector<float> logits(3 * t.size(), 0.0f);
  for (size_t i = 0; i < t.size(); ++i) logits[t[i] * t.size() + i] = 10.0f;
  return logits;
}

TEST(Export, UndoesCropAndTransposeExactly) {
  const SyntheticCase c = make_case();
  const Axes3 forward{2, 0, 1};
  Shape3 shape;
  const auto logits = perfect_logits(c, forward, shape);
  const auto out = export_logits(logits, shape, c.props, settings_for(forward, {0.9, 3.0, 0.8}), true);
  EXPECT_EQ(out.segmentation.voxels, c.label);
  EXPECT_EQ(out.segmentation.geometry.direction, c.props.geometry.direction);
  EXPECT_EQ(out.segmentation.geometry.size_xyz, c.props.geometry.size_xyz);
  ASSERT_TRUE(out.probabilities.has_value());
  const auto& p = *out.probabilities;
  const size_t n = c.label.size();
  ASSERT_EQ(p.values.size(), 3 * n);
  for (size_t i = 0; i < n; ++i) {
    EXPECT_GT(p.values[c.label[i] * n + i], 0.99f) << i;
    EXPECT_NEAR(p.values[i] + p.values[n + i] + p.values[2 * n + i], 1.0f, 1e-5);
  }
  EXPECT_FLOAT_EQ(p.values[0], 1.0f);  // voxel (0, 0, 0) lies outside the crop box: background
}

TEST(Export, ResamplesFromTheConfigurationGrid) {
  // A case preprocessed at half the spacing on y: the perfect logits at the fine grid are the
  // original ones repeated twice along y; linear resampling back must give the label again.
  const SyntheticCase c = make_case();
  const Axes3 forward{0, 1, 2};
  Shape3 shape;
  const auto coarse = perfect_logits(c, forward, shape);
  const Shape3 fine{shape[0], shape[1] * 2, shape[2]};
  std::vector<float> logits;
  for (int64_t k = 0; k < 3; ++k)
    for (int64_t z = 0; z < fine[0]; ++z)
      for (int64_t y = 0; y < fine[1]; ++y)
        for (int64_t x = 0; x < fine[2]; ++x)
          logits.push_back(coarse[static_cast<size_t>(((k * shape[0] + z) * shape[1] + y / 2) * shape[2] + x)]);
  const auto out = export_logits(logits, fine, c.props, settings_for(forward, {3.0, 0.4, 0.9}), false);
  EXPECT_FALSE(out.probabilities.has_value());
  int64_t differ = 0;
  for (size_t i = 0; i < c.label.size(); ++i) differ += out.segmentation.voxels[i] != c.label[i];
  // Output voxel y samples the fine grid at 2y + 0.5, between the two copies of voxel y.
  EXPECT_EQ(differ, 0);
}

TEST(Export, WritesSegmentationAndProbabilitiesWithTheOriginalGeometry) {
  const SyntheticCase c = make_case();
  Shape3 shape;
  const auto logits = perfect_logits(c, {0, 1, 2}, shape);
  const auto out = export_logits(logits, shape, c.props, settings_for({0, 1, 2}, {3.0, 0.8, 0.9}), true);
  const auto folder = test::scratch_dir("export_writes");
  write_exported_case(folder, out);
  const auto back = preprocessing::read_label(folder / "case_7.nii.gz");
  EXPECT_EQ(back.voxels, c.label);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(back.geometry.spacing_xyz[i], c.props.geometry.spacing_xyz[i], 1e-6);
    EXPECT_NEAR(back.geometry.origin_xyz[i], c.props.geometry.origin_xyz[i], 1e-5);
  }
  for (int i = 0; i < 9; ++i) EXPECT_NEAR(back.geometry.direction[i], c.props.geometry.direction[i], 1e-6);
  const auto probs = evaluation::read_probability_file(folder / "case_7.h5");
  EXPECT_EQ(probs.num_classes, 3);
  EXPECT_EQ(probs.values, out.probabilities->values);
  EXPECT_EQ(probs.case_id, "case_7");
}

TEST(Export, ParsesPropertiesAndRejectsABoxOutsideTheImage) {
  nlohmann::json j = {{"case", "c1"},
                      {"spacing", {2.0, 1.0, 1.0}},
                      {"shape_before_cropping", {4, 5, 6}},
                      {"bbox_used_for_cropping", {{0, 4}, {1, 5}, {2, 6}}},
                      {"shape_after_cropping_and_before_resampling", {4, 4, 4}},
                      {"itk_spacing_xyz", {1.0, 1.0, 2.0}},
                      {"itk_origin_xyz", {0.0, 0.0, 0.0}},
                      {"itk_direction", {1, 0, 0, 0, 1, 0, 0, 0, 1}}};
  const auto p = parse_case_properties(j, "c1.h5");
  EXPECT_EQ(p.geometry.size_xyz, (std::array<int64_t, 3>{6, 5, 4}));
  j["bbox_used_for_cropping"][2] = {2, 7};
  EXPECT_THROW(parse_case_properties(j, "c1.h5"), Error);
  j.erase("itk_direction");
  EXPECT_THROW(parse_case_properties(j, "c1.h5"), Error);
}

TEST(Export, RejectsLogitsOfTheWrongSize) {
  const SyntheticCase c = make_case();
  EXPECT_THROW(export_logits(std::vector<float>(10), {1, 2, 5}, c.props, settings_for({0, 1, 2}, {3, 0.8, 0.9}), false),
               Error);
}

TEST(Export, TransposeAndInverse) {
  const std::vector<int8_t> v{0, 1, 2, 3, 4, 5};  // shape (1, 2, 3)
  const auto t = transpose_volume(v, 1, {1, 2, 3}, {2, 1, 0});  // -> (3, 2, 1)
  EXPECT_EQ(t, (std::vector<int8_t>{0, 3, 1, 4, 2, 5}));
  EXPECT_EQ(transpose_volume(t, 1, {3, 2, 1}, inverse_axes({2, 1, 0})), v);
  EXPECT_EQ(inverse_axes({2, 0, 1}), (Axes3{1, 2, 0}));
  EXPECT_THROW(inverse_axes({0, 0, 1}), Error);
}

TEST(Export, SettingsFromPlansFollowInheritance) {
  const nlohmann::json plans = {
      {"transpose_forward", {0, 2, 1}},
      {"configurations",
       {{"3d_fullres", {{"spacing", {2.0, 0.5, 0.5}},
                        {"resampling_fn_probabilities_kwargs", {{"force_separate_z", nullptr}}}}},
        {"3d_cascade_fullres", {{"inherits_from", "3d_fullres"}, {"previous_stage", "3d_lowres"}}}}}};
  const nlohmann::json dataset = {{"labels", {{"background", 0}, {"x", 1}, {"y", 2}}}};
  const auto s = export_settings_from_plans(plans, "3d_cascade_fullres", dataset);
  EXPECT_EQ(s.transpose_forward, (Axes3{0, 2, 1}));
  EXPECT_EQ(s.configuration_spacing, (std::vector<double>{2.0, 0.5, 0.5}));
  EXPECT_FALSE(s.force_separate_z.has_value());
  EXPECT_EQ(s.channel_labels, (std::vector<int>{0, 1, 2}));
  EXPECT_THROW(export_settings_from_plans(plans, "2d", dataset), Error);
}

TEST(Export, NextStageSegmentationIsWrittenAsSegPrev) {
  ExportSettings s = settings_for({0, 1, 2}, {1, 1, 1});
  s.channel_labels = {0, 1};
  // Two channels over (1, 2, 2): label 1 where channel 1 wins; upsampled to (1, 4, 4).
  const std::vector<float> logits{1, 0, 0, 1, 0, 1, 1, 0};
  const auto seg = segmentation_for_next_stage(logits, {1, 2, 2}, {1, 2, 2}, {1, 4, 4}, {1, 1, 1}, s);
  ASSERT_EQ(seg.size(), 16u);
  EXPECT_EQ(seg[0], 0);
  EXPECT_EQ(seg[3], 1);
  EXPECT_EQ(seg[12], 1);
  const auto file = test::scratch_dir("next_stage") / "predicted_next_stage" / "3d_cascade_fullres" / "c.h5";
  write_next_stage_file(file, "c", seg, {1, 4, 4});
  const auto h5 = preprocessing::H5File::open_read(file);
  EXPECT_EQ(h5.shape("seg_prev"), (std::vector<int64_t>{1, 1, 4, 4}));
  EXPECT_EQ(h5.read<int8_t>("seg_prev"), seg);
}

}  // namespace
}  // namespace nnfleet::worker
