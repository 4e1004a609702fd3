// Export round trips through the real preprocessing: preprocess a case with its label, take the
// one-hot of the preprocessed segmentation as the logits of a perfect network, export, and compare
// with the original label voxel by voxel.
#include <gtest/gtest.h>

#include "preprocessing/case_preprocessor.h"
#include "preprocessing/image_io.h"
#include "tests/support/test_paths.h"
#include "worker/export.h"

namespace nnfleet::worker {
namespace {

preprocessing::ConfigurationSettings settings(const std::string& scheme, std::vector<double> spacing,
                                              std::array<int, 3> transpose, std::vector<int> foreground) {
  preprocessing::ConfigurationSettings s;
  s.name = "3d_fullres";
  s.data_identifier = "nnUNetPlans_3d_fullres";
  s.spacing = std::move(spacing);
  s.patch_size = {32, 32, 32};
  s.transpose_forward = transpose;
  s.normalization_schemes = {scheme};
  s.use_mask_for_norm = {false};
  preprocessing::IntensityStats stats;
  stats.mean = 100, stats.std = 50, stats.percentile_00_5 = -100, stats.percentile_99_5 = 300;
  s.intensity = {stats};
  s.foreground_labels = std::move(foreground);
  return s;
}

ExportSettings export_settings(const preprocessing::ConfigurationSettings& s, int num_labels) {
  ExportSettings e;
  e.transpose_forward = s.transpose_forward;
  e.configuration_spacing = s.spacing;
  e.channel_labels.clear();
  for (int l = 0; l < num_labels; ++l) e.channel_labels.push_back(l);
  return e;
}

// Logits of a perfect network: 1 for the preprocessed label (-1 counts as background), else 0.
std::vector<float> one_hot(const preprocessing::PreprocessedCase& c, int num_labels) {
  const size_t n = c.seg.size();
  std::vector<float> logits(static_cast<size_t>(num_labels) * n, 0.0f);
  for (size_t i = 0; i < n; ++i) logits[static_cast<size_t>(std::max<int8_t>(c.seg[i], 0)) * n + i] = 1.0f;
  return logits;
}

struct RoundTrip {
  int64_t differing = 0, foreground = 0;
  ExportedCase exported;
};

RoundTrip round_trip(const preprocessing::LoadedCase& loaded, const preprocessing::ConfigurationSettings& s,
                     int num_labels) {
  const auto pre = preprocessing::preprocess_case(loaded, s);
  const CaseProperties props = parse_case_properties(pre.properties, loaded.id);
  RoundTrip r;
  r.exported = export_logits(one_hot(pre, num_labels), pre.shape, props, export_settings(s, num_labels), false);
  const auto& want = loaded.label->voxels;
  const auto& got = r.exported.segmentation.voxels;
  EXPECT_EQ(got.size(), want.size());
  for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
    r.differing += got[i] != want[i];
    r.foreground += want[i] != 0;
  }
  return r;
}

preprocessing::LoadedCase load(const std::filesystem::path& image, const std::filesystem::path& label,
                               const std::string& id) {
  preprocessing::LoadedCase c;
  c.id = id;
  c.image = preprocessing::read_image(image);
  c.label = preprocessing::read_label(label);
  return c;
}

void expect_same_geometry(const preprocessing::Geometry& a, const preprocessing::Geometry& b) {
  EXPECT_EQ(a.size_xyz, b.size_xyz);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(a.spacing_xyz[i], b.spacing_xyz[i], 1e-6);
    EXPECT_NEAR(a.origin_xyz[i], b.origin_xyz[i], 1e-6);
  }
  for (int i = 0; i < 9; ++i) EXPECT_NEAR(a.direction[i], b.direction[i], 1e-9);
}

TEST(ExportRoundTrip, HippocampusAtItsOwnSpacingIsExact) {
  const auto dir = test::bundled_data() / "Task04_Hippocampus";
  const auto loaded = load(dir / "imagesTr" / "hippocampus_001.nii.gz", dir / "labelsTr" / "hippocampus_001.nii.gz",
                           "hippocampus_001");
  const auto r = round_trip(loaded, settings("ZScoreNormalization", {1, 1, 1}, {0, 1, 2}, {1, 2}), 3);
  EXPECT_EQ(r.differing, 0);
  EXPECT_GT(r.foreground, 0);
  expect_same_geometry(r.exported.segmentation.geometry, loaded.label->geometry);
}

TEST(ExportRoundTrip, HippocampusThroughACoarserGridKeepsAlmostEveryVoxel) {
  // 3d_lowres-like: 1.5 mm; linear resampling down and back up changes a thin boundary only.
  const auto dir = test::bundled_data() / "Task04_Hippocampus";
  const auto loaded = load(dir / "imagesTr" / "hippocampus_001.nii.gz", dir / "labelsTr" / "hippocampus_001.nii.gz",
                           "hippocampus_001");
  const auto r = round_trip(loaded, settings("ZScoreNormalization", {1.5, 1.5, 1.5}, {0, 1, 2}, {1, 2}), 3);
  RecordProperty("differing_voxels", std::to_string(r.differing) + " of " + std::to_string(r.foreground));
  EXPECT_LT(double(r.differing), 0.25 * double(r.foreground)) << r.differing << " of " << r.foreground;
}

TEST(ExportRoundTrip, NonIdentityDirectionTransposeAndCropAreUndoneExactly) {
  // A hippocampus case rewritten with a rotated direction, 3 mm spacing on x (so the plan's
  // transpose moves x first) and a zero border (so cropping removes voxels).
  const auto dir = test::bundled_data() / "Task04_Hippocampus";
  auto image = preprocessing::read_image(dir / "imagesTr" / "hippocampus_003.nii.gz");
  auto label = preprocessing::read_label(dir / "labelsTr" / "hippocampus_003.nii.gz");
  preprocessing::Geometry g = image.geometry;
  g.spacing_xyz = {3.0, 1.0, 1.0};
  g.origin_xyz = {12.5, -40.0, 7.25};
  g.direction = {0, 0, 1, 1, 0, 0, 0, 1, 0};
  image.geometry = label.geometry = g;
  const auto [sx, sy, sz] = g.size_xyz;
  for (int64_t z = 0; z < sz; ++z)
    for (int64_t y = 0; y < sy; ++y)
      for (int64_t x = 0; x < sx; ++x)
        if (x < 3 || y >= sy - 2) {
          const size_t i = static_cast<size_t>((z * sy + y) * sx + x);
          image.voxels[i] = 0.0f;
          label.voxels[i] = 0;
        }
  const auto scratch = test::scratch_dir("roundtrip_direction");
  preprocessing::write_image(scratch / "rotated.nii.gz", image);
  preprocessing::write_label(scratch / "rotated_label.nii.gz", label);

  const auto loaded = load(scratch / "rotated.nii.gz", scratch / "rotated_label.nii.gz", "rotated");
  // Spacing (z, y, x) = (1, 1, 3): transpose_forward puts x first.
  const auto r = round_trip(loaded, settings("ZScoreNormalization", {3, 1, 1}, {2, 0, 1}, {1, 2}), 3);
  EXPECT_EQ(r.differing, 0);
  expect_same_geometry(r.exported.segmentation.geometry, loaded.label->geometry);

  write_exported_case(scratch / "out", r.exported);
  const auto back = preprocessing::read_label(scratch / "out" / "rotated.nii.gz");
  EXPECT_EQ(back.voxels, loaded.label->voxels);
  expect_same_geometry(back.geometry, loaded.label->geometry);
}

// The spleen CT cut to a box around the organ (with its geometry: the origin moves with the box),
// so that the test stays fast; spacing and direction are the file's.
preprocessing::LoadedCase spleen_box() {
  const auto dir = test::test_data() / "edge" / "spleen_anisotropic_ct";
  const auto full = load(dir / "imagesTr" / "spleen_8.nii.gz", dir / "labelsTr" / "spleen_8.nii.gz", "spleen_8");
  const auto& g = full.image.geometry;
  const auto [nx, ny, nz] = g.size_xyz;
  std::array<int64_t, 3> lo{nx, ny, nz}, hi{0, 0, 0};  // x, y, z
  for (int64_t z = 0; z < nz; ++z)
    for (int64_t y = 0; y < ny; ++y)
      for (int64_t x = 0; x < nx; ++x)
        if (full.label->voxels[static_cast<size_t>((z * ny + y) * nx + x)] != 0) {
          const std::array<int64_t, 3> p{x, y, z};
          for (int a = 0; a < 3; ++a) lo[a] = std::min(lo[a], p[a]), hi[a] = std::max(hi[a], p[a] + 1);
        }
  const std::array<int64_t, 3> size{nx, ny, nz};
  for (int a = 0; a < 3; ++a) {
    const int64_t margin = a == 2 ? 2 : 12;
    lo[a] = std::max<int64_t>(0, lo[a] - margin);
    hi[a] = std::min(size[a], hi[a] + margin);
  }
  preprocessing::LoadedCase c;
  c.id = "spleen_8";
  c.image.geometry = g;
  c.image.geometry.size_xyz = {hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) c.image.geometry.origin_xyz[i] += g.direction[i * 3 + j] * g.spacing_xyz[j] * double(lo[j]);
  c.label = preprocessing::LabelImage{c.image.geometry, {}};
  for (int64_t z = lo[2]; z < hi[2]; ++z)
    for (int64_t y = lo[1]; y < hi[1]; ++y)
      for (int64_t x = lo[0]; x < hi[0]; ++x) {
        const size_t i = static_cast<size_t>((z * ny + y) * nx + x);
        c.image.voxels.push_back(full.image.voxels[i]);
        c.label->voxels.push_back(full.label->voxels[i]);
      }
  return c;
}

TEST(ExportRoundTrip, AnisotropicSpleenWithSeparateZ) {
  // 7.5 mm slices preprocessed at 5 mm (nearest neighbour along z, both ways) and, in plane,
  // either at the file's spacing (exact) or at 1 mm (linear: a thin boundary moves).
  const auto loaded = spleen_box();
  const double sx = loaded.image.geometry.spacing_xyz[0], sy = loaded.image.geometry.spacing_xyz[1];
  const auto exact = round_trip(loaded, settings("CTNormalization", {5.0, sy, sx}, {0, 1, 2}, {1}), 2);
  EXPECT_EQ(exact.differing, 0);
  EXPECT_GT(exact.foreground, 1000);
  const auto coarse = round_trip(loaded, settings("CTNormalization", {5.0, 1.0, 1.0}, {0, 1, 2}, {1}), 2);
  RecordProperty("differing_voxels", std::to_string(coarse.differing) + " of " + std::to_string(coarse.foreground));
  EXPECT_LT(double(coarse.differing), 0.03 * double(coarse.foreground))
      << coarse.differing << " of " << coarse.foreground;
  expect_same_geometry(coarse.exported.segmentation.geometry, loaded.label->geometry);
}

}  // namespace
}  // namespace nnfleet::worker
