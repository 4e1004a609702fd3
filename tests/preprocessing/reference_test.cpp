// Our plans and preprocessed arrays against nnunetv2's (fixtures made by
// tests/data/reference/preprocessing/make_fixtures.py). Tolerances: plans equal (floats 1e-6
// relative), fingerprint statistics 1e-4 relative (we accumulate in double, numpy in float32),
// preprocessed images 2e-4 absolute after normalisation, segmentations equal in at least 99.9 % of
// voxels (ties of the per-label interpolation may settle differently in float arithmetic).

#include <gtest/gtest.h>

#include <cmath>

#include "common/atomic_file.h"
#include "common/folders.h"
#include "dist/mpi_world.h"
#include "preprocessing/case_preprocessor.h"
#include "preprocessing/plan_and_preprocess.h"
#include "tests/preprocessing/npy.h"
#include "tests/preprocessing/test_images.h"
#include "tests/support/test_paths.h"

namespace nnfleet::preprocessing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

fs::path reference(const std::string& dataset) {
  return test::test_data() / "reference" / "preprocessing" / dataset;
}

void expect_close_json(const json& ours, const json& theirs, double rel, const std::string& where) {
  if (theirs.is_number() && ours.is_number()) {
    const double a = ours.get<double>(), b = theirs.get<double>();
    EXPECT_LE(std::abs(a - b), rel * std::max(1.0, std::abs(b))) << where << ": " << a << " vs " << b;
  } else if (theirs.is_array()) {
    ASSERT_TRUE(ours.is_array()) << where;
    ASSERT_EQ(ours.size(), theirs.size()) << where << ": " << ours.dump() << " vs " << theirs.dump();
    for (size_t i = 0; i < theirs.size(); ++i) expect_close_json(ours[i], theirs[i], rel, where);
  } else if (theirs.is_object()) {
    ASSERT_TRUE(ours.is_object()) << where;
    for (const auto& [key, value] : theirs.items()) {
      ASSERT_TRUE(ours.contains(key)) << where << "." << key;
      expect_close_json(ours[key], value, rel, where + "." + key);
    }
  } else {
    EXPECT_EQ(ours, theirs) << where;
  }
}

void expect_same_plans(const json& ours, const json& theirs) {
  for (const char* key : {"original_median_spacing_after_transp", "original_median_shape_after_transp",
                          "transpose_forward", "transpose_backward"}) {
    expect_close_json(ours[key], theirs[key], 1e-6, key);
  }
  std::vector<std::string> ours_names, theirs_names;
  for (const auto& [k, v] : ours["configurations"].items()) ours_names.push_back(k);
  for (const auto& [k, v] : theirs["configurations"].items()) theirs_names.push_back(k);
  EXPECT_EQ(ours_names, theirs_names);
  for (const auto& [name, t] : theirs["configurations"].items()) {
    if (!ours["configurations"].contains(name)) continue;
    const json& o = ours["configurations"][name];
    for (const char* key : {"data_identifier", "batch_size", "patch_size", "median_image_size_in_voxels",
                            "spacing", "normalization_schemes", "use_mask_for_norm", "batch_dice",
                            "resampling_fn_data_kwargs", "resampling_fn_seg_kwargs", "next_stage",
                            "previous_stage", "inherits_from"}) {
      if (t.contains(key)) expect_close_json(o[key], t[key], 1e-6, name + "." + key);
    }
    if (t.contains("architecture")) {
      EXPECT_EQ(o["architecture"]["network_class_name"], t["architecture"]["network_class_name"]);
      expect_close_json(o["architecture"]["arch_kwargs"], t["architecture"]["arch_kwargs"], 0,
                        name + ".arch_kwargs");
    }
  }
  expect_close_json(ours["foreground_intensity_properties_per_channel"],
                    theirs["foreground_intensity_properties_per_channel"], 1e-4,
                    "foreground_intensity_properties_per_channel");
}

// Compares our case file with nnU-Net's arrays (every `stride`-th voxel in-plane).
void expect_same_case(const fs::path& ours_file, const fs::path& ref_dir, const std::string& id) {
  const PreprocessedCase ours = read_case_file(ours_file);
  const json props = read_json(ref_dir / (id + "_properties.json"));
  const int stride = props.value("stride", 1);
  const auto data = test::read_npy<float>(ref_dir / (id + "_data.npy"));
  const auto seg = test::read_npy<int8_t>(ref_dir / (id + "_seg.npy"));
  const json full = props.contains("full_shape") ? props["full_shape"] : json(data.shape);
  ASSERT_EQ(json({ours.channels, ours.shape[0], ours.shape[1], ours.shape[2]}), full) << id;
  double worst = 0;
  int64_t seg_diff = 0;
  size_t k = 0, ks = 0;
  const Shape3& s = ours.shape;
  for (int c = 0; c < ours.channels; ++c)
    for (int64_t z = 0; z < s[0]; ++z)
      for (int64_t y = 0; y < s[1]; y += stride)
        for (int64_t x = 0; x < s[2]; x += stride) {
          const int64_t i = ((c * s[0] + z) * s[1] + y) * s[2] + x;
          worst = std::max(worst, static_cast<double>(std::abs(ours.data[i] - data.values[k++])));
          if (c == 0) seg_diff += ours.seg[i] != seg.values[ks++];
        }
  EXPECT_LT(worst, 2e-4) << id << ": largest image difference";
  EXPECT_LE(seg_diff, static_cast<int64_t>(seg.values.size() / 1000)) << id << ": label differences";
  for (const auto& [label, count] : props["class_location_counts"].items()) {
    EXPECT_EQ(static_cast<int64_t>(ours.class_locations.at(std::stoi(label)).size()), count.get<int64_t>())
        << id << " class " << label;
  }
  // Crop box (nnU-Net's is after transpose; ours before) and shapes.
  const auto tf = ours.properties["transpose_forward"].get<std::array<int, 3>>();
  for (int a = 0; a < 3; ++a) {
    EXPECT_EQ(ours.properties["bbox_used_for_cropping"][tf[a]], props["bbox_used_for_cropping"][a]) << id;
    EXPECT_EQ(ours.properties["shape_before_cropping"][tf[a]], props["shape_before_cropping"][a]) << id;
  }
}

PlanPreprocessResult run(const fs::path& raw, const std::string& spec, const fs::path& out,
                         std::vector<std::string> configs) {
  Folders folders;
  folders.raw = raw;
  folders.preprocessed = out;
  PlanPreprocessOptions o;
  o.configurations = std::move(configs);
  o.threads_per_rank = 2;
  const auto world = dist::Comm::borrow(MPI_COMM_WORLD);
  return plan_and_preprocess(folders, resolve_dataset(spec, folders), o, world);
}

TEST(ReferencePreprocessing, HippocampusPlansAndArraysMatchNnunetv2) {
  const fs::path out = test::scratch_dir("ref_hippocampus");
  const auto result = run(test::bundled_data(), "4", out, {"3d_fullres", "2d"});
  const fs::path ref = reference("Dataset004_Hippocampus");
  expect_same_plans(result.plans, read_json(ref / "nnUNetPlans.json"));
  for (const char* config : {"3d_fullres", "2d"}) {
    for (const char* id : {"hippocampus_001", "hippocampus_003"}) {
      expect_same_case(result.output_folder / (std::string("nnUNetPlans_") + config) / (std::string(id) + ".h5"),
                       ref / config, id);
    }
  }
  // A second run finds everything up to date.
  EXPECT_TRUE(run(test::bundled_data(), "4", out, {"3d_fullres", "2d"}).skipped);
}

// spleen_8 and spleen_8b: the same voxels with header spacing (0.7, 0.7, 5) mm.
fs::path make_spleen_dataset(const fs::path& raw) {
  const fs::path d = raw / "Dataset902_SpleenAniso";
  const fs::path src = test::test_data() / "edge" / "spleen_anisotropic_ct";
  for (const char* id : {"spleen_8", "spleen_8b"}) {
    Image image = read_image(src / "imagesTr" / "spleen_8.nii.gz");
    LabelImage label = read_label(src / "labelsTr" / "spleen_8.nii.gz");
    if (std::string(id) == "spleen_8b") {
      image.geometry.spacing_xyz = {static_cast<float>(0.7), static_cast<float>(0.7), 5.0};
      label.geometry.spacing_xyz = image.geometry.spacing_xyz;
    }
    write_image(d / "imagesTr" / (std::string(id) + "_0000.nii.gz"), image);
    write_label(d / "labelsTr" / (std::string(id) + ".nii.gz"), label);
  }
  write_json_atomically(d / "dataset.json",
                        {{"channel_names", {{"0", "CT"}}}, {"labels", {{"background", 0}, {"spleen", 1}}},
                         {"numTraining", 2}, {"file_ending", ".nii.gz"}, {"name", "SpleenAniso"}});
  return d;
}

TEST(ReferencePreprocessing, AnisotropicSpleenCtMatchesNnunetv2) {
  const fs::path dir = test::scratch_dir("ref_spleen");
  make_spleen_dataset(dir / "raw");
  const auto result = run(dir / "raw", "902", dir / "pre", {"3d_fullres", "2d", "3d_lowres"});
  const fs::path ref = reference("Dataset902_SpleenAniso");
  expect_same_plans(result.plans, read_json(ref / "nnUNetPlans.json"));
  for (const char* config : {"3d_fullres", "2d"}) {
    expect_same_case(result.output_folder / (std::string("nnUNetPlans_") + config) / "spleen_8b.h5",
                     ref / config, "spleen_8b");
  }
}

TEST(ReferencePreprocessing, TwoChannel4DDatasetMatchesNnunetv2) {
  const fs::path out = test::scratch_dir("ref_twochannel");
  const fs::path raw = test::test_data() / "reference" / "preprocessing" / "raw";
  const auto result = run(raw, "Task93_TwoChannel", out, {"3d_fullres", "2d"});
  const fs::path ref = reference("Dataset903_TwoChannel");
  expect_same_plans(result.plans, read_json(ref / "nnUNetPlans.json"));
  for (const char* config : {"3d_fullres", "2d"}) {
    for (const char* id : {"twoch_000", "twoch_002"}) {
      expect_same_case(result.output_folder / (std::string("nnUNetPlans_") + config) / (std::string(id) + ".h5"),
                       ref / config, id);
    }
  }
}

}  // namespace
}  // namespace nnfleet::preprocessing
