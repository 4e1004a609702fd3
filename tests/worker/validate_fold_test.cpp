// End-of-training validation of a fold on two preprocessed hippocampus cases with a tiny U-Net:
// the files it writes (segmentations, probabilities, summary.json) and the cascade's seg_prev.
#include "worker/predictor.h"

#include <gtest/gtest.h>

#include "common/atomic_file.h"
#include "common/error.h"
#include "evaluation/probability_file.h"
#include "evaluation/summary.h"
#include "models/unet.h"
#include "preprocessing/case_preprocessor.h"
#include "preprocessing/h5_file.h"
#include "preprocessing/image_io.h"
#include "tests/support/test_paths.h"

namespace nnfleet::worker {
namespace {

const std::vector<std::string> kCases{"hippocampus_001", "hippocampus_003"};

nlohmann::json plans() {
  return {{"transpose_forward", {0, 1, 2}},
          {"configurations",
           {{"3d_fullres", {{"spacing", {1.0, 1.0, 1.0}}, {"patch_size", {32, 32, 32}},
                            {"data_identifier", "nnUNetPlans_3d_fullres"}}},
            {"3d_lowres", {{"spacing", {1.5, 1.5, 1.5}}, {"patch_size", {32, 32, 32}},
                           {"data_identifier", "nnUNetPlans_3d_lowres"}, {"next_stage", "3d_cascade_fullres"}}},
            {"3d_cascade_fullres", {{"inherits_from", "3d_fullres"}, {"previous_stage", "3d_lowres"}}}}}};
}

nlohmann::json dataset_json() {
  return {{"labels", {{"background", 0}, {"Anterior", 1}, {"Posterior", 2}}}, {"channel_names", {{"0", "MRI"}}}};
}

preprocessing::ConfigurationSettings settings(const std::string& name, double spacing) {
  preprocessing::ConfigurationSettings s;
  s.name = name;
  s.data_identifier = "nnUNetPlans_" + name;
  s.spacing = {spacing, spacing, spacing};
  s.patch_size = {32, 32, 32};
  s.normalization_schemes = {"ZScoreNormalization"};
  s.use_mask_for_norm = {false};
  s.intensity = {preprocessing::IntensityStats{}};
  s.foreground_labels = {1, 2};
  return s;
}

// <root>/Dataset/{nnUNetPlans_3d_fullres, nnUNetPlans_3d_lowres, gt_segmentations}
std::filesystem::path make_preprocessed(const std::string& name) {
  const auto root = test::scratch_dir(name) / "Dataset004_Hippocampus";
  const auto raw = test::bundled_data() / "Task04_Hippocampus";
  std::filesystem::create_directories(root / "gt_segmentations");
  for (const auto& id : kCases) {
    preprocessing::LoadedCase c;
    c.id = id;
    c.image = preprocessing::read_image(raw / "imagesTr" / (id + ".nii.gz"));
    c.label = preprocessing::read_label(raw / "labelsTr" / (id + ".nii.gz"));
    for (const auto& [config, spacing] : {std::pair<std::string, double>{"3d_fullres", 1.0}, {"3d_lowres", 1.5}})
      preprocessing::write_case_file(root / ("nnUNetPlans_" + config) / (id + ".h5"),
                                     preprocessing::preprocess_case(c, settings(config, spacing)), false);
    std::filesystem::copy_file(raw / "labelsTr" / (id + ".nii.gz"), root / "gt_segmentations" / (id + ".nii.gz"));
  }
  return root;
}

models::UNet tiny_unet() {
  models::UNetConfig c;
  c.dims = 3;
  c.input_channels = 1;
  c.num_classes = 3;
  c.features_per_stage = {4, 8};
  c.kernel_sizes = {{3, 3, 3}, {3, 3, 3}};
  c.strides = {{1, 1, 1}, {2, 2, 2}};
  c.n_conv_per_stage = {1, 1};
  c.n_conv_per_stage_decoder = {1};
  torch::manual_seed(0);
  return models::UNet(c);
}

PredictorOptions options() {
  PredictorOptions o = predictor_options_from_plans(plans(), "3d_fullres");
  o.mirror = false;
  return o;
}

TEST(ValidateFold, WritesSegmentationsProbabilitiesAndSummary) {
  const auto root = make_preprocessed("validate_fullres");
  const auto out = root.parent_path() / "fold_0" / "validation";
  auto net = tiny_unet();
  const auto world = dist::Comm::borrow(MPI_COMM_WORLD);
  validate_fold(net, plans(), dataset_json(), "3d_fullres", root / "nnUNetPlans_3d_fullres", kCases, out,
                root / "gt_segmentations", world, options());
  for (const auto& id : kCases) {
    const auto seg = preprocessing::read_label(out / (id + ".nii.gz"));
    const auto gt = preprocessing::read_label(root / "gt_segmentations" / (id + ".nii.gz"));
    EXPECT_EQ(seg.geometry.size_xyz, gt.geometry.size_xyz);
    const auto probs = evaluation::read_probability_file(out / (id + ".h5"));
    EXPECT_EQ(probs.num_classes, 3);
  }
  const auto summary = evaluation::read_json_allowing_nan(out / "summary.json");
  EXPECT_EQ(summary["metric_per_case"].size(), kCases.size());
  EXPECT_TRUE(summary["mean"].contains("1"));
}

TEST(ValidateFold, LowresWritesTheCascadeInputAtTheFullresShape) {
  const auto root = make_preprocessed("validate_lowres");
  auto net = tiny_unet();
  const auto world = dist::Comm::borrow(MPI_COMM_WORLD);
  auto o = predictor_options_from_plans(plans(), "3d_lowres");
  o.mirror = false;
  validate_fold(net, plans(), dataset_json(), "3d_lowres", root / "nnUNetPlans_3d_lowres", kCases,
                root.parent_path() / "lowres_validation", root / "gt_segmentations", world, o);
  for (const auto& id : kCases) {
    const auto next = preprocessing::H5File::open_read(root / "predicted_next_stage" / "3d_cascade_fullres" / (id + ".h5"));
    const auto fullres = preprocessing::H5File::open_read(root / "nnUNetPlans_3d_fullres" / (id + ".h5"));
    auto shape = fullres.shape("data");
    shape[0] = 1;
    EXPECT_EQ(next.shape("seg_prev"), shape);
    for (int8_t v : next.read<int8_t>("seg_prev")) ASSERT_TRUE(v >= 0 && v <= 2);
  }
}

TEST(ValidateFold, MissingCaseFileIsAnErrorNamingTheCase) {
  const auto root = test::scratch_dir("validate_missing");
  auto net = tiny_unet();
  const auto world = dist::Comm::borrow(MPI_COMM_WORLD);
  try {
    validate_fold(net, plans(), dataset_json(), "3d_fullres", root / "nnUNetPlans_3d_fullres", {"nope"},
                  root / "validation", root / "gt", world, options());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nope"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace nnfleet::worker
