// validate_fold over 2 and 4 ranks: the cases are shared round-robin, every case is exported once,
// and rank 0's summary.json covers all of them.
#include "worker/predictor.h"

#include <gtest/gtest.h>

#include "evaluation/summary.h"
#include "models/unet.h"
#include "preprocessing/case_preprocessor.h"
#include "preprocessing/image_io.h"
#include "tests/support/test_paths.h"

namespace nnfleet::worker {
namespace {

const std::vector<std::string> kCases{"hippocampus_001", "hippocampus_003", "hippocampus_004", "hippocampus_006"};

nlohmann::json plans() {
  return {{"transpose_forward", {0, 1, 2}},
          {"configurations", {{"3d_fullres", {{"spacing", {1.0, 1.0, 1.0}}, {"patch_size", {32, 32, 32}}}}}}};
}

nlohmann::json dataset_json() { return {{"labels", {{"background", 0}, {"Anterior", 1}, {"Posterior", 2}}}}; }

void preprocess(const std::filesystem::path& root) {
  preprocessing::ConfigurationSettings s;
  s.name = "3d_fullres";
  s.data_identifier = "nnUNetPlans_3d_fullres";
  s.spacing = {1, 1, 1};
  s.patch_size = {32, 32, 32};
  s.normalization_schemes = {"ZScoreNormalization"};
  s.use_mask_for_norm = {false};
  s.intensity = {preprocessing::IntensityStats{}};
  s.foreground_labels = {1, 2};
  const auto raw = test::bundled_data() / "Task04_Hippocampus";
  std::filesystem::create_directories(root / "gt");
  for (const auto& id : kCases) {
    preprocessing::LoadedCase c;
    c.id = id;
    c.image = preprocessing::read_image(raw / "imagesTr" / (id + ".nii.gz"));
    c.label = preprocessing::read_label(raw / "labelsTr" / (id + ".nii.gz"));
    preprocessing::write_case_file(root / "nnUNetPlans_3d_fullres" / (id + ".h5"), preprocessing::preprocess_case(c, s),
                                   false);
    std::filesystem::copy_file(raw / "labelsTr" / (id + ".nii.gz"), root / "gt" / (id + ".nii.gz"));
  }
}

TEST(ValidateFoldMpi, SharesCasesAndSummarisesAllOfThem) {
  const auto world = dist::Comm::borrow(MPI_COMM_WORLD);
  const auto root = test::scratch_dir("validate_fold_mpi", true);
  if (world.rank() == 0) preprocess(root);
  world.barrier();

  models::UNetConfig c;
  c.input_channels = 1;
  c.num_classes = 3;
  c.features_per_stage = {4, 8};
  c.kernel_sizes = {{3, 3, 3}, {3, 3, 3}};
  c.strides = {{1, 1, 1}, {2, 2, 2}};
  c.n_conv_per_stage = {1, 1};
  c.n_conv_per_stage_decoder = {1};
  torch::manual_seed(0);
  models::UNet net(c);
  PredictorOptions o = predictor_options_from_plans(plans(), "3d_fullres");
  o.mirror = false;
  validate_fold(net, plans(), dataset_json(), "3d_fullres", root / "nnUNetPlans_3d_fullres", kCases,
                root / "validation", root / "gt", world, o);

  for (const auto& id : kCases) {
    EXPECT_TRUE(std::filesystem::exists(root / "validation" / (id + ".nii.gz"))) << id;
    EXPECT_TRUE(std::filesystem::exists(root / "validation" / (id + ".h5"))) << id;
  }
  const auto summary = evaluation::read_json_allowing_nan(root / "validation" / "summary.json");
  EXPECT_EQ(summary["metric_per_case"].size(), kCases.size());
}

}  // namespace
}  // namespace nnfleet::worker
