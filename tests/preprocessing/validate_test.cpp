// Every bad-input kind of ../shared/reference/bad-inputs.md, on small inputs generated here, and the
// real malformed files of tests/data/quirks: validation names the case, the file and the field.

#include "preprocessing/validate.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/atomic_file.h"
#include "common/error.h"
#include "tests/preprocessing/test_images.h"
#include "tests/support/test_paths.h"

namespace nnfleet::preprocessing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

// A v2-layout dataset in a scratch folder with helpers to add cases.
struct TinyDataset {
  fs::path dir;
  json dataset_json = {{"channel_names", {{"0", "MR"}}},
                       {"labels", {{"background", 0}, {"a", 1}, {"b", 2}}},
                       {"numTraining", 0},
                       {"file_ending", ".nii.gz"}};

  explicit TinyDataset(const std::string& name) : dir(test::scratch_dir(name) / "Dataset900_Tiny") {
    fs::create_directories(dir / "imagesTr");
    fs::create_directories(dir / "labelsTr");
  }
  fs::path image(const std::string& id, int channel = 0) const {
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "_%04d.nii.gz", channel);
    return dir / "imagesTr" / (id + suffix);
  }
  fs::path label(const std::string& id) const { return dir / "labelsTr" / (id + ".nii.gz"); }
  // A good case: 8x8x4 image, label {0,1,2}.
  void add_case(const std::string& id, const Geometry& g = test::make_geometry({8, 8, 4})) {
    test::write_test_image(image(id), g, 1, [](int, int64_t z, int64_t y, int64_t x) {
      return 1.f + static_cast<float>(z + y + x);
    });
    test::write_test_label(label(id), g, [](int64_t, int64_t y, int64_t x) { return (y > 4) + (x > 5); });
  }
  std::vector<Problem> validate() {
    write_json_atomically(dir / "dataset.json", dataset_json);
    return validate_dataset(dir, dist::Comm::borrow(MPI_COMM_WORLD));
  }
};

// Finds the problem for (case, field) and checks its file and message.
void expect_problem(const std::vector<Problem>& problems, const std::string& case_id,
                    const fs::path& file, const std::string& field, const std::string& text) {
  for (const auto& p : problems) {
    if (p.case_id == case_id && p.field == field) {
      EXPECT_EQ(p.file, file.string()) << p.to_string();
      EXPECT_NE(p.message.find(text), std::string::npos) << p.to_string();
      return;
    }
  }
  std::string all;
  for (const auto& p : problems) all += "\n" + p.to_string();
  ADD_FAILURE() << "no problem for case '" << case_id << "' field '" << field << "'; got:" << all;
}

TEST(Validate, AcceptsAGoodDataset) {
  TinyDataset d("valid_good");
  d.add_case("c1");
  d.add_case("c2");
  d.dataset_json["numTraining"] = 2;
  EXPECT_TRUE(d.validate().empty());
}

TEST(Validate, ImageAndLabelOnDifferentGridsNameEachField) {
  TinyDataset d("valid_grid");
  const Geometry image_g = test::make_geometry({16, 16, 8}, {2, 2, 3});
  const Geometry label_g = test::make_geometry({32, 32, 8}, {1, 1, 3}, {0.5, 0, 0});
  test::write_test_image(d.image("c1"), image_g, 1, [](int, int64_t, int64_t, int64_t) { return 1.f; });
  test::write_test_label(d.label("c1"), label_g, [](int64_t, int64_t, int64_t) { return 0; });
  d.dataset_json["numTraining"] = 1;
  const auto problems = d.validate();
  expect_problem(problems, "c1", d.label("c1"), "shape", "size (32, 32, 8) differs from image size (16, 16, 8)");
  expect_problem(problems, "c1", d.label("c1"), "spacing", "by (-1, -1, 0)");
  expect_problem(problems, "c1", d.label("c1"), "origin", "by (0.5, 0, 0) mm");
}

TEST(Validate, RejectsZeroSpacing) {
  TinyDataset d("valid_spacing");
  d.dataset_json["file_ending"] = ".nii";
  d.dataset_json["numTraining"] = 1;
  // ITK refuses to write a zero spacing, so both headers are written by hand: pixdim (1, 1, 0).
  test::write_raw_nifti(d.dir / "imagesTr" / "c1_0000.nii", {8, 8, 4}, 16, std::vector<double>(256, 1.0),
                        0, 0, {1, 1, 0});
  test::write_raw_nifti(d.dir / "labelsTr" / "c1.nii", {8, 8, 4}, 16, std::vector<double>(256, 0.0), 0, 0,
                        {1, 1, 0});
  const auto problems = d.validate();
  bool found = false;
  for (const auto& p : problems) {
    found = found || (p.case_id == "c1" && p.file == (d.dir / "imagesTr" / "c1_0000.nii").string() &&
                      (p.field == "spacing" || p.field == "file"));
  }
  EXPECT_TRUE(found) << format_problems(d.dir, problems);
}

TEST(Validate, AcceptsDegenerateButValidSpacings) {
  TinyDataset d("valid_degenerate");
  d.add_case("aniso", test::make_geometry({64, 64, 5}, {0.7, 0.7, 11}));
  d.add_case("two_coarse", test::make_geometry({32, 32, 32}, {0.5, 5, 5}));
  d.dataset_json["numTraining"] = 2;
  EXPECT_TRUE(d.validate().empty());
}

TEST(Validate, RejectsMixing2DAnd3DCases) {
  TinyDataset d("valid_mixed_dims");
  d.add_case("flat", test::make_geometry({40, 30, 1}));
  d.add_case("vol", test::make_geometry({8, 8, 4}));
  d.dataset_json["numTraining"] = 2;
  const auto problems = d.validate();
  ASSERT_EQ(problems.size(), 1u) << format_problems(d.dir, problems);
  EXPECT_EQ(problems[0].field, "dimension");
  EXPECT_NE(problems[0].message.find("1 2D and 1 3D"), std::string::npos) << problems[0].message;
}

TEST(Validate, ListsUndeclaredLabelValues) {
  TinyDataset d("valid_undeclared");
  const Geometry g = test::make_geometry({8, 8, 4});
  d.add_case("c1");
  test::write_test_label(d.label("c1"), g, [](int64_t, int64_t y, int64_t) { return y == 0 ? 0 : y < 4 ? 2 : 3; });
  d.dataset_json["numTraining"] = 1;
  expect_problem(d.validate(), "c1", d.label("c1"), "labels", "values {3} are not declared");
}

TEST(Validate, RejectsDeclaredLabelsWithGaps) {
  TinyDataset d("valid_gaps");
  d.add_case("c1");
  d.dataset_json["labels"] = {{"background", 0}, {"a", 1}, {"c", 3}};
  d.dataset_json["numTraining"] = 1;
  expect_problem(d.validate(), "", d.dir / "dataset.json", "labels", "0..N-1 without gaps; got 0, 1, 3");
}

TEST(Validate, HintsAtIntensityImagesAndMasksGivenAsLabels) {
  TinyDataset d("valid_intensity_label");
  const Geometry g = test::make_geometry({8, 8, 4});
  d.add_case("neg");
  test::write_test_image(d.label("neg"), g, 1, [](int, int64_t, int64_t y, int64_t) { return y - 3.0f; });
  d.add_case("many");
  test::write_test_image(d.label("many"), g, 1,
                         [](int, int64_t z, int64_t y, int64_t x) { return static_cast<float>(z * 64 + y * 8 + x); });
  d.add_case("mask255");
  test::write_test_label(d.label("mask255"), g, [](int64_t, int64_t y, int64_t) { return y > 3 ? 255 : 0; });
  d.dataset_json["numTraining"] = 3;
  const auto problems = d.validate();
  expect_problem(problems, "neg", d.label("neg"), "labels", "negative values (an intensity image");
  expect_problem(problems, "many", d.label("many"), "labels", "256 distinct values (an intensity image");
  expect_problem(problems, "mask255", d.label("mask255"), "labels", "exactly {0, 255}");
}

TEST(Validate, RoundsNearIntegerLabelsAndRejectsFractionalOnes) {
  TinyDataset d("valid_float_labels");
  d.dataset_json["file_ending"] = ".nii";
  auto add = [&](const std::string& id, std::vector<double> values, int16_t type, float slope) {
    test::write_raw_nifti(d.dir / "imagesTr" / (id + "_0000.nii"), {3, 1, 1}, 16, {1, 2, 3});
    test::write_raw_nifti(d.dir / "labelsTr" / (id + ".nii"), {3, 1, 1}, type, values, slope);
  };
  add("near", {0, 0.99999994, 2.0000002}, 16, 0);
  add("scaled", {0, 100, 200}, 4, 0.01f);
  add("half", {0, 0.5, 1}, 16, 0);
  d.dataset_json["numTraining"] = 3;
  const auto problems = d.validate();
  ASSERT_EQ(problems.size(), 1u) << format_problems(d.dir, problems);
  expect_problem(problems, "half", d.dir / "labelsTr" / "half.nii", "labels",
                 "1 voxel(s) with fractional values (not within 1e-3 of an integer): 0.5");
}

TEST(Validate, RejectsNanAndInfVoxelsWithCounts) {
  TinyDataset d("valid_nan");
  d.dataset_json["file_ending"] = ".nii";
  d.dataset_json["numTraining"] = 1;
  // Written by hand: ITK's writer does not keep non-finite floats.
  std::vector<double> values(8, 1.0);
  values[0] = values[1] = NAN;
  values[2] = values[3] = values[4] = INFINITY;
  test::write_raw_nifti(d.dir / "imagesTr" / "c1_0000.nii", {8, 1, 1}, 16, values);
  test::write_raw_nifti(d.dir / "labelsTr" / "c1.nii", {8, 1, 1}, 16, std::vector<double>(8, 0.0));
  expect_problem(d.validate(), "c1", d.dir / "imagesTr" / "c1_0000.nii", "voxels",
                 "holds 2 NaN and 3 Inf voxel(s)");
}

TEST(Validate, ConstantImagesAreLegal) {
  TinyDataset d("valid_constant");
  d.add_case("c1");
  test::write_test_image(d.image("c1"), test::make_geometry({8, 8, 4}), 1, [](int, int64_t, int64_t, int64_t) { return 5.f; });
  d.dataset_json["numTraining"] = 1;
  EXPECT_TRUE(d.validate().empty());
}

TEST(Validate, MissingChannelFileAndChannelCountMismatch) {
  TinyDataset d("valid_channels");
  d.dataset_json["channel_names"] = {{"0", "T1"}, {"1", "T2"}};
  d.add_case("c1");
  test::write_test_image(d.image("c1", 1), test::make_geometry({8, 8, 4}), 1, [](int, int64_t, int64_t, int64_t) { return 1.f; });
  d.add_case("c2");  // channel 1 missing
  d.dataset_json["numTraining"] = 2;
  expect_problem(d.validate(), "c2", d.image("c2", 1), "channels", "channel file is missing");
}

TEST(Validate, Msd4DImagesMustHoldTheDeclaredChannelCount) {
  const fs::path dir = test::scratch_dir("valid_msd4d") / "Task77_Four";
  const Geometry g = test::make_geometry({8, 8, 4});
  auto constant = [](int c, int64_t, int64_t, int64_t) { return 1.f + c; };
  test::write_test_image(dir / "imagesTr" / "ok.nii.gz", g, 2, constant);
  test::write_test_image(dir / "imagesTr" / "three.nii.gz", g, 3, constant);
  for (const char* id : {"ok", "three"}) {
    test::write_test_label(dir / "labelsTr" / (std::string(id) + ".nii.gz"), g, [](int64_t, int64_t, int64_t) { return 0; });
  }
  test::write_test_image(dir / "labelsTr" / "label4d.nii.gz", g, 2, constant);
  test::write_test_image(dir / "imagesTr" / "label4d.nii.gz", g, 2, constant);
  json training = json::array();
  for (const char* id : {"ok", "three", "label4d"}) {
    training.push_back({{"image", std::string("./imagesTr/") + id + ".nii.gz"},
                        {"label", std::string("./labelsTr/") + id + ".nii.gz"}});
  }
  write_json_atomically(dir / "dataset.json", {{"modality", {{"0", "T2"}, {"1", "ADC"}}},
                                               {"labels", {{"0", "background"}, {"1", "x"}}},
                                               {"numTraining", 3}, {"training", training}});
  const auto problems = validate_dataset(dir, dist::Comm::borrow(MPI_COMM_WORLD));
  ASSERT_EQ(problems.size(), 2u) << format_problems(dir, problems);
  expect_problem(problems, "three", dir / "imagesTr" / "three.nii.gz", "channels",
                 "holds 3 channel(s) but dataset.json declares 2");
  expect_problem(problems, "label4d", dir / "labelsTr" / "label4d.nii.gz", "file",
                 "a label must be 3D");
}

TEST(Validate, BrokenDatasetJsonReportsEveryProblem) {
  TinyDataset d("valid_json");
  d.add_case("c1");
  d.dataset_json = {{"channel_names", {{"1", "MR"}}}, {"labels", {{"a", 1}}}, {"numTraining", 5},
                    {"file_ending", ".nii.gz"}};
  const auto problems = d.validate();
  const fs::path json_file = d.dir / "dataset.json";
  expect_problem(problems, "", json_file, "channel_names", "key \"0\" is missing");
  expect_problem(problems, "", json_file, "labels", "must declare background as 0");
  expect_problem(problems, "", json_file, "numTraining", "declares 5 cases but imagesTr holds 1");
}

TEST(Validate, UnparsableDatasetJsonNamesLineAndColumn) {
  TinyDataset d("valid_parse");
  write_text_atomically(d.dir / "dataset.json", "{\n  \"labels\": {,\n}");
  try {
    read_dataset_strict(d.dir);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dataset.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos) << e.what();
  }
}

TEST(Validate, MsdPathsMustStayInsideTheDatasetFolder) {
  const fs::path dir = test::scratch_dir("valid_paths") / "Task78_Paths";
  fs::create_directories(dir / "imagesTr");
  write_json_atomically(dir / "dataset.json",
                        {{"modality", {{"0", "MR"}}}, {"labels", {{"0", "background"}}}, {"numTraining", 1},
                         {"training", {{{"image", "../../etc/x.nii.gz"}, {"label", "./labelsTr/x.nii.gz"}}}}});
  const auto problems = validate_dataset(dir, dist::Comm::borrow(MPI_COMM_WORLD));
  expect_problem(problems, "x", dir / "dataset.json", "training.image", "leaves the dataset folder");
}

// The real quirks, dropped into a copy of three bundled hippocampus cases (MSD layout).
TEST(Validate, ReportsTheRealQuirkFilesWithCaseAndFile) {
  const fs::path dir = test::scratch_dir("valid_quirks") / "Task04_Hippocampus";
  const fs::path src = test::bundled_data() / "Task04_Hippocampus";
  json training = json::array();
  for (const char* id : {"hippocampus_001", "hippocampus_003", "hippocampus_004"}) {
    for (const char* sub : {"imagesTr", "labelsTr"}) {
      fs::create_directories(dir / sub);
      fs::copy_file(src / sub / (std::string(id) + ".nii.gz"), dir / sub / (std::string(id) + ".nii.gz"));
    }
    training.push_back({{"image", std::string("./imagesTr/") + id + ".nii.gz"},
                        {"label", std::string("./labelsTr/") + id + ".nii.gz"}});
  }
  const fs::path quirks = test::test_data() / "quirks";
  fs::copy_file(quirks / "image_without_label" / "hippocampus_118.nii.gz", dir / "imagesTr" / "hippocampus_118.nii.gz");
  fs::copy_file(quirks / "label_whose_image_is_missing_outlier" / "hippocampus_010.nii.gz",
                dir / "labelsTr" / "hippocampus_010.nii.gz");
  // The foreign CT label replaces hippocampus_004's label.
  fs::copy_file(quirks / "foreign_ct_label" / "hippocampus_281.nii.gz", dir / "labelsTr" / "hippocampus_004.nii.gz",
                fs::copy_options::overwrite_existing);
  // hippocampus_118 is listed (its label is missing), hippocampus_010 is not.
  training.push_back({{"image", "./imagesTr/hippocampus_118.nii.gz"}, {"label", "./labelsTr/hippocampus_118.nii.gz"}});
  write_json_atomically(dir / "dataset.json", {{"modality", {{"0", "MRI"}}},
                                               {"labels", {{"0", "background"}, {"1", "Anterior"}, {"2", "Posterior"}}},
                                               {"numTraining", 4}, {"training", training}});
  const auto problems = validate_dataset(dir, dist::Comm::borrow(MPI_COMM_WORLD));
  expect_problem(problems, "hippocampus_118", dir / "labelsTr" / "hippocampus_118.nii.gz", "label",
                 "label file does not exist");
  expect_problem(problems, "hippocampus_010", dir / "labelsTr" / "hippocampus_010.nii.gz", "label",
                 "label whose image is missing");
  expect_problem(problems, "hippocampus_004", dir / "labelsTr" / "hippocampus_004.nii.gz", "shape",
                 "size (512, 512, 94) differs from image size");
  expect_problem(problems, "hippocampus_004", dir / "labelsTr" / "hippocampus_004.nii.gz", "spacing",
                 "differs from image spacing (1, 1, 1)");
}

}  // namespace
}  // namespace nnfleet::preprocessing
