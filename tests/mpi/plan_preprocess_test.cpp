// plan-preprocess sharded over ranks gives the same plans and case files as one rank: the world's
// first min(3, size) ranks preprocess a dataset together, rank 0 alone does it again into another
// folder, and rank 0 compares. Run with 2 and 4 ranks (so 2 vs 1 and 3 vs 1).

#include <gtest/gtest.h>

#include <functional>
#include <optional>

#include "common/atomic_file.h"
#include "common/folders.h"
#include "dist/mpi_world.h"
#include "preprocessing/case_preprocessor.h"
#include "preprocessing/plan_and_preprocess.h"
#include "tests/support/test_paths.h"

namespace nnfleet::preprocessing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

const dist::Comm& world() {
  static dist::Comm w = dist::Comm::borrow(MPI_COMM_WORLD);
  return w;
}

// Eight bundled hippocampus cases in the MSD layout.
fs::path make_hippocampus_subset(const fs::path& raw) {
  const fs::path dir = raw / "Task04_Hippocampus";
  const fs::path src = test::bundled_data() / "Task04_Hippocampus";
  json training = json::array();
  for (const char* id : {"hippocampus_001", "hippocampus_003", "hippocampus_004", "hippocampus_006",
                         "hippocampus_007", "hippocampus_008", "hippocampus_011", "hippocampus_014"}) {
    for (const char* sub : {"imagesTr", "labelsTr"}) {
      fs::create_directories(dir / sub);
      fs::copy_file(src / sub / (std::string(id) + ".nii.gz"), dir / sub / (std::string(id) + ".nii.gz"));
    }
    training.push_back({{"image", std::string("./imagesTr/") + id + ".nii.gz"},
                        {"label", std::string("./labelsTr/") + id + ".nii.gz"}});
  }
  write_json_atomically(dir / "dataset.json",
                        {{"modality", {{"0", "MRI"}}},
                         {"labels", {{"0", "background"}, {"1", "Anterior"}, {"2", "Posterior"}}},
                         {"numTraining", 8}, {"training", training}});
  return dir;
}

PlanPreprocessResult run_on(const dist::Comm& comm, const fs::path& raw, const std::string& spec,
                            const fs::path& out) {
  Folders folders;
  folders.raw = raw;
  folders.preprocessed = out;
  PlanPreprocessOptions o;
  o.configurations = {"3d_fullres", "2d"};
  return plan_and_preprocess(folders, resolve_dataset(spec, folders), o, comm);
}

void expect_identical_outputs(const PlanPreprocessResult& many, const PlanPreprocessResult& one) {
  EXPECT_EQ(many.plans, one.plans);
  EXPECT_EQ(read_json(many.output_folder / "dataset_fingerprint.json"),
            read_json(one.output_folder / "dataset_fingerprint.json"));
  int files = 0;
  for (const auto& config : {"nnUNetPlans_3d_fullres", "nnUNetPlans_2d"}) {
    for (const auto& entry : fs::directory_iterator(one.output_folder / config)) {
      const PreprocessedCase a = read_case_file(entry.path());
      const PreprocessedCase b = read_case_file(many.output_folder / config / entry.path().filename());
      EXPECT_EQ(a.data, b.data) << entry.path();
      EXPECT_EQ(a.seg, b.seg) << entry.path();
      EXPECT_EQ(a.class_locations, b.class_locations) << entry.path();
      EXPECT_EQ(a.properties, b.properties) << entry.path();
      ++files;
    }
  }
  EXPECT_GT(files, 0);
}

void check_dataset(const std::string& name, const std::function<fs::path(const fs::path&)>& make,
                   const std::string& spec) {
  const fs::path dir = test::scratch_dir(name, /*shared_across_ranks=*/true);
  if (world().rank() == 0) make(dir / "raw");
  world().barrier();
  const int group_size = std::min(3, world().size());
  const dist::Comm group = world().split(world().rank() < group_size ? 0 : -1, world().rank());
  std::optional<PlanPreprocessResult> many;
  if (group.valid()) many = run_on(group, dir / "raw", spec, dir / "many");
  world().barrier();
  if (world().rank() == 0) {
    const dist::Comm self = dist::Comm::borrow(MPI_COMM_SELF);
    const auto one = run_on(self, dir / "raw", spec, dir / "one");
    expect_identical_outputs(*many, one);
  }
  world().barrier();
}

TEST(PlanPreprocessMpi, ShardedHippocampusEqualsOneRank) {
  check_dataset("mpi_pp_hippocampus", make_hippocampus_subset, "4");
}

TEST(PlanPreprocessMpi, ShardedTwoChannelResampledDatasetEqualsOneRank) {
  check_dataset("mpi_pp_twochannel", [](const fs::path& raw) {
    const fs::path src = test::test_data() / "reference" / "preprocessing" / "raw" / "Task93_TwoChannel";
    fs::create_directories(raw);
    fs::copy(src, raw / "Task93_TwoChannel", fs::copy_options::recursive);
    return raw / "Task93_TwoChannel";
  }, "93");
}

}  // namespace
}  // namespace nnfleet::preprocessing
