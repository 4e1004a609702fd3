#include "evaluation/probability_file.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>

#include "common/error.h"
#include "tests/support/test_paths.h"

namespace nnfleet::evaluation {
namespace {
namespace fs = std::filesystem;

ProbabilityMap small_map() {
  ProbabilityMap m;
  m.geometry.size_xyz = {4, 3, 2};
  m.geometry.spacing_xyz = {0.5, 0.75, 2.0};
  m.geometry.origin_xyz = {-10, 5, 1};
  m.geometry.direction = {0, 1, 0, 1, 0, 0, 0, 0, -1};
  m.num_classes = 3;
  m.case_id = "hippocampus_001";
  m.labels = {{"background", 0}, {"Anterior", 1}, {"Posterior", 2}};
  for (int i = 0; i < 3 * 24; ++i) m.values.push_back(float(i) / 72.0f);
  return m;
}

TEST(ProbabilityFile, RoundTripsValuesGeometryAndProperties) {
  const fs::path file = test::scratch_dir("probability_roundtrip") / "hippocampus_001.h5";
  const ProbabilityMap m = small_map();
  write_probability_file(file, m);
  const ProbabilityMap r = read_probability_file(file);
  EXPECT_EQ(r.num_classes, 3);
  EXPECT_EQ(r.geometry.size_xyz, m.geometry.size_xyz);
  EXPECT_EQ(r.geometry.spacing_xyz, m.geometry.spacing_xyz);
  EXPECT_EQ(r.geometry.origin_xyz, m.geometry.origin_xyz);
  EXPECT_EQ(r.geometry.direction, m.geometry.direction);
  EXPECT_EQ(r.values, m.values);
  EXPECT_EQ(r.case_id, "hippocampus_001");
  EXPECT_EQ(r.labels, m.labels);
  EXPECT_EQ(r.channel(1)[0], m.values[24]);
  EXPECT_FALSE(fs::exists(file.string() + ".tmp." + std::to_string(::getpid())));
}

TEST(ProbabilityFile, WrongValueCountIsRejectedBeforeWriting) {
  const fs::path file = test::scratch_dir("probability_bad") / "x.h5";
  ProbabilityMap m = small_map();
  m.values.pop_back();
  EXPECT_THROW(write_probability_file(file, m), Error);
  EXPECT_FALSE(fs::exists(file));
}

TEST(ProbabilityFile, MissingOrForeignFilesNameTheFile) {
  const fs::path dir = test::scratch_dir("probability_missing");
  try {
    read_probability_file(dir / "nope.h5");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nope.h5"), std::string::npos);
  }
  std::ofstream(dir / "text.h5") << "not hdf5";
  EXPECT_THROW(read_probability_file(dir / "text.h5"), Error);
}

}  // namespace
}  // namespace nnfleet::evaluation
