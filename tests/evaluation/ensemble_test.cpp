#include "evaluation/ensemble.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "tests/support/test_paths.h"

namespace nnfleet::evaluation {
namespace {
namespace fs = std::filesystem;

// 2 classes, 1 x 1 x 3 voxels.
ProbabilityMap map_of(const std::string& id, std::vector<float> values) {
  ProbabilityMap m;
  m.geometry.size_xyz = {3, 1, 1};
  m.num_classes = 2;
  m.case_id = id;
  m.values = std::move(values);
  return m;
}

dist::Comm self() { return dist::Comm::borrow(MPI_COMM_SELF); }

TEST(Ensemble, AveragesInFloat32AndTakesTheFirstMaximum) {
  const auto a = map_of("c", {0.9f, 0.2f, 0.5f, 0.1f, 0.8f, 0.5f});
  const auto b = map_of("c", {0.1f, 0.4f, 0.5f, 0.9f, 0.6f, 0.5f});
  const auto avg = average_probabilities({a, b});
  EXPECT_FLOAT_EQ(avg.values[0], 0.5f);
  EXPECT_FLOAT_EQ(avg.values[4], 0.7f);
  // Voxel 0 ties (0.5 vs 0.5): background wins as with np.argmax.
  EXPECT_EQ(argmax_labels(avg), (std::vector<uint8_t>{0, 1, 0}));
  EXPECT_EQ(argmax_of_average({&a, &b}), argmax_labels(avg));
  EXPECT_EQ(argmax_of_average({&a}), (std::vector<uint8_t>{0, 1, 0}));
}

TEST(Ensemble, DifferentShapesNameTheCase) {
  auto a = map_of("hippocampus_007", {0, 0, 0, 1, 1, 1});
  auto b = a;
  b.geometry.size_xyz = {1, 3, 1};
  try {
    average_probabilities({a, b});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("hippocampus_007"), std::string::npos) << e.what();
  }
  EXPECT_THROW(argmax_of_average({&a, &b}), Error);
}

TEST(Ensemble, FoldersAreAveragedSegmentedAndPostprocessed) {
  const fs::path root = test::scratch_dir("ensemble_folders");
  write_probability_file(root / "a" / "x.h5", map_of("x", {0.9f, 0.2f, 0.4f, 0.1f, 0.8f, 0.6f}));
  write_probability_file(root / "b" / "x.h5", map_of("x", {0.7f, 0.4f, 0.4f, 0.3f, 0.6f, 0.6f}));
  EnsembleOptions o;
  o.input_folders = {root / "a", root / "b"};
  o.output_folder = root / "out";
  o.save_probabilities = true;
  o.postprocessing = PostprocessingRule{{{{1}, false}}};
  EXPECT_EQ(ensemble_folders(o, self()), std::vector<std::string>{"x"});
  const auto seg = preprocessing::read_label(root / "out" / "x.nii.gz");
  // Raw argmax [0, 1, 1]: one component of label 1, so postprocessing changes nothing.
  EXPECT_EQ(seg.voxels, (std::vector<uint8_t>{0, 1, 1}));
  EXPECT_FLOAT_EQ(read_probability_file(root / "out" / "x.h5").values[1], 0.3f);
}

TEST(Ensemble, TwoIdenticalFoldersGiveBackEachOfThem) {
  const fs::path root = test::scratch_dir("ensemble_identical");
  // 3 classes on 4 x 3 x 2 voxels, softmax-like values that are not round in binary.
  std::vector<std::string> cases{"case_a", "case_b"};
  std::vector<ProbabilityMap> maps;
  for (size_t c = 0; c < cases.size(); ++c) {
    ProbabilityMap m;
    m.geometry.size_xyz = {4, 3, 2};
    m.num_classes = 3;
    m.case_id = cases[c];
    const size_t voxels = 24;
    m.values.resize(3 * voxels);
    for (size_t v = 0; v < voxels; ++v) {
      const float w[3] = {1.0f + 0.37f * ((v + c) % 5), 1.3f + 0.11f * (v % 7), 0.9f + 0.29f * (v % 3)};
      const float sum = w[0] + w[1] + w[2];
      for (int k = 0; k < 3; ++k) m.values[k * voxels + v] = w[k] / sum;
    }
    write_probability_file(root / "a" / (cases[c] + ".h5"), m);
    write_probability_file(root / "b" / (cases[c] + ".h5"), m);
    maps.push_back(std::move(m));
  }
  EnsembleOptions o;
  o.input_folders = {root / "a", root / "b"};
  o.output_folder = root / "out";
  o.save_probabilities = true;
  EXPECT_EQ(ensemble_folders(o, self()), cases);
  for (size_t c = 0; c < cases.size(); ++c) {
    EXPECT_EQ(read_probability_file(root / "out" / (cases[c] + ".h5")).values, maps[c].values)
        << cases[c];
    EXPECT_EQ(preprocessing::read_label(root / "out" / (cases[c] + ".nii.gz")).voxels,
              argmax_labels(maps[c]))
        << cases[c];
  }
}

TEST(Ensemble, FoldersWithDifferentCasesAreRejected) {
  const fs::path root = test::scratch_dir("ensemble_mismatch");
  write_probability_file(root / "a" / "x.h5", map_of("x", {1, 1, 1, 0, 0, 0}));
  write_probability_file(root / "b" / "y.h5", map_of("y", {1, 1, 1, 0, 0, 0}));
  fs::create_directories(root / "empty");
  try {
    ensemble_cases({root / "a", root / "b"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("case x"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ensemble_cases({root / "empty", root / "a"}), Error);
  EXPECT_THROW(ensemble_cases({}), Error);
}

}  // namespace
}  // namespace nnfleet::evaluation
