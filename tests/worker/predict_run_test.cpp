// `nnfleet predict` end to end on two hippocampus images with a tiny trained-looking model folder
// (random weights saved as a checkpoint), and the errors checked before any heavy work.
#include "worker/predict_run.h"

#include <gtest/gtest.h>

#include "common/atomic_file.h"
#include "common/error.h"
#include "evaluation/probability_file.h"
#include "models/unet.h"
#include "preprocessing/image_io.h"
#include "tests/support/test_paths.h"
#include "worker/checkpoint.h"

namespace nnfleet::worker {
namespace {

nlohmann::json plans() {
  const nlohmann::json arch = {{"features_per_stage", {4, 8}},
                               {"kernel_sizes", {{3, 3, 3}, {3, 3, 3}}},
                               {"strides", {{1, 1, 1}, {2, 2, 2}}},
                               {"n_conv_per_stage", {1, 1}},
                               {"n_conv_per_stage_decoder", {1}},
                               {"conv_bias", true}};
  const nlohmann::json stats = {{"mean", 100.0}, {"median", 100.0}, {"std", 50.0}, {"min", 0.0},
                                {"max", 500.0}, {"percentile_00_5", 1.0}, {"percentile_99_5", 400.0}};
  return {{"transpose_forward", {0, 1, 2}},
          {"foreground_intensity_properties_per_channel", {{"0", stats}}},
          {"configurations",
           {{"3d_fullres", {{"data_identifier", "nnUNetPlans_3d_fullres"}, {"spacing", {1.0, 1.0, 1.0}},
                            {"patch_size", {32, 32, 32}}, {"normalization_schemes", {"ZScoreNormalization"}},
                            {"use_mask_for_norm", {false}}, {"architecture", {{"arch_kwargs", arch}}}}},
            {"3d_cascade_fullres", {{"inherits_from", "3d_fullres"}, {"previous_stage", "3d_lowres"}}}}}};
}

struct Fixture {
  Folders folders;
  std::filesystem::path input;
  PredictRequest request;
};

// results/Dataset004_Hippocampus/<config>/{plans.json, dataset.json, fold_0/checkpoint_final.pt}
Fixture make_fixture(const std::string& name, const std::vector<std::string>& configs = {"3d_fullres"}) {
  Fixture f;
  const auto root = test::scratch_dir(name);
  f.folders.results = root / "results";
  f.folders.preprocessed = root / "preprocessed";
  std::filesystem::create_directories(f.folders.preprocessed / "Dataset004_Hippocampus");
  const nlohmann::json dataset = {{"labels", {{"background", 0}, {"Anterior", 1}, {"Posterior", 2}}},
                                  {"channel_names", {{"0", "MRI"}}}, {"file_ending", ".nii.gz"}};
  for (const auto& config : configs) {
    const auto folder = f.folders.results / "Dataset004_Hippocampus" / config;
    write_json_atomically(folder / "plans.json", plans());
    write_json_atomically(folder / "dataset.json", dataset);
    const int channels = config == "3d_fullres" ? 1 : 3;
    torch::manual_seed(0);
    models::UNet net(models::unet_config_from_plans(plans(), config, channels, 3));
    CheckpointMeta meta;
    meta.configuration = config;
    meta.plan_hash = plan_hash(plans(), config);
    std::filesystem::create_directories(folder / "fold_0");
    save_checkpoint(folder / "fold_0" / "checkpoint_final.pt", meta, *net, nullptr, nullptr);
  }
  f.input = root / "input";
  std::filesystem::create_directories(f.input);
  for (const char* id : {"hippocampus_001", "hippocampus_003"})
    std::filesystem::copy_file(test::bundled_data() / "Task04_Hippocampus" / "imagesTr" / (std::string(id) + ".nii.gz"),
                               f.input / (std::string(id) + ".nii.gz"));
  f.request.input_folder = f.input;
  f.request.output_folder = root / "output";
  f.request.dataset = "Dataset004_Hippocampus";
  f.request.configuration = "3d_fullres";
  f.request.folds = {0};
  f.request.mirror = false;
  f.request.device = "cpu";
  return f;
}

std::string error_of(const PredictRequest& r, const Folders& folders) {
  try {
    run_prediction(r, folders, dist::Comm::borrow(MPI_COMM_WORLD), 0);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(PredictRun, PredictsMsdInputsAtTheOriginalGeometry) {
  Fixture f = make_fixture("predict_run_msd");
  f.request.save_probabilities = true;
  run_prediction(f.request, f.folders, dist::Comm::borrow(MPI_COMM_WORLD), 0);
  for (const char* id : {"hippocampus_001", "hippocampus_003"}) {
    const auto image = preprocessing::read_image_header(f.input / (std::string(id) + ".nii.gz"));
    const auto seg = preprocessing::read_label(f.request.output_folder / (std::string(id) + ".nii.gz"));
    EXPECT_EQ(seg.geometry.size_xyz, image.geometry.size_xyz);
    EXPECT_EQ(seg.geometry.direction, image.geometry.direction);
    const auto probs = evaluation::read_probability_file(f.request.output_folder / (std::string(id) + ".h5"));
    EXPECT_EQ(probs.num_classes, 3);
  }
  EXPECT_TRUE(std::filesystem::exists(f.request.output_folder / "dataset.json"));
}

TEST(PredictRun, ContinueSkipsCasesAlreadyPredicted) {
  Fixture f = make_fixture("predict_run_continue");
  std::filesystem::create_directories(f.request.output_folder);
  // A stand-in output for case 001: --continue must leave it alone.
  preprocessing::LabelImage marker;
  marker.geometry.size_xyz = {2, 2, 2};
  marker.voxels.assign(8, 7);
  preprocessing::write_label(f.request.output_folder / "hippocampus_001.nii.gz", marker);
  f.request.resume = true;
  run_prediction(f.request, f.folders, dist::Comm::borrow(MPI_COMM_WORLD), 0);
  EXPECT_EQ(preprocessing::read_label(f.request.output_folder / "hippocampus_001.nii.gz").voxels, marker.voxels);
  EXPECT_TRUE(std::filesystem::exists(f.request.output_folder / "hippocampus_003.nii.gz"));
}

TEST(PredictRun, ClearErrorsBeforeAnyWork) {
  Fixture f = make_fixture("predict_run_errors", {"3d_fullres", "3d_cascade_fullres"});
  PredictRequest r = f.request;
  r.configuration = "2d";
  EXPECT_NE(error_of(r, f.folders).find("configuration 2d was not trained"), std::string::npos);
  r = f.request;
  r.folds = {0, 1, 3};
  EXPECT_NE(error_of(r, f.folders).find("fold(s) 1 3 have no checkpoint_final.pt"), std::string::npos);
  r = f.request;
  r.configuration = "3d_cascade_fullres";
  EXPECT_NE(error_of(r, f.folders).find("--prev-stage-predictions"), std::string::npos);
  r = f.request;
  r.step_size = 0;
  EXPECT_NE(error_of(r, f.folders).find("--step-size"), std::string::npos);
}

TEST(PredictRun, ChannelMismatchNamesTheInputFile) {
  Fixture f = make_fixture("predict_run_channels");
  preprocessing::Image two;
  two.geometry.size_xyz = {4, 4, 4};
  two.channels = 2;
  two.voxels.assign(128, 1.0f);
  preprocessing::write_image(f.input / "two_channels.nii.gz", two);
  EXPECT_NE(error_of(f.request, f.folders).find("two_channels.nii.gz holds 2 channel(s)"), std::string::npos);
}

TEST(PredictRun, CascadeUsesThePreviousStagePredictions) {
  Fixture f = make_fixture("predict_run_cascade", {"3d_fullres", "3d_cascade_fullres"});
  run_prediction(f.request, f.folders, dist::Comm::borrow(MPI_COMM_WORLD), 0);  // stands in for 3d_lowres
  PredictRequest r = f.request;
  r.configuration = "3d_cascade_fullres";
  r.previous_stage_predictions = f.request.output_folder;
  r.output_folder = f.request.output_folder.parent_path() / "cascade";
  run_prediction(r, f.folders, dist::Comm::borrow(MPI_COMM_WORLD), 0);
  EXPECT_TRUE(std::filesystem::exists(r.output_folder / "hippocampus_003.nii.gz"));
  std::filesystem::remove(f.request.output_folder / "hippocampus_003.nii.gz");
  EXPECT_NE(error_of(r, f.folders).find("no previous-stage prediction"), std::string::npos);
}

}  // namespace
}  // namespace nnfleet::worker
