// Cluster-wide model selection writes the same files on 1 rank and on several (3 when the world
// has them), and only rank 0 writes. Run with 2 and 4 ranks.
#include "evaluation/selection.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "dist/mpi_world.h"
#include "evaluation/labels.h"
#include "tests/evaluation/fixture_support.h"

namespace nnfleet::evaluation {
namespace {
namespace fs = std::filesystem;

const dist::Comm& world() {
  static dist::Comm w = dist::Comm::borrow(MPI_COMM_WORLD);
  return w;
}

// relative path -> content of every file under `dir`.
std::map<std::string, std::string> read_tree(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& f : fs::recursive_directory_iterator(dir)) {
    if (!f.is_regular_file()) continue;
    std::ifstream in(f.path(), std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    files[fs::relative(f.path(), dir).string()] = s.str();
  }
  return files;
}

SelectionResult run_on(const dist::Comm& comm, const fs::path& dataset) {
  SelectionOptions o;
  o.results_dataset_folder = dataset;
  o.reference_folder = test::evaluation_data() / "selection" / "gt";
  o.labels = read_labels(test::evaluation_data() / "selection" / "dataset.json");
  o.dataset_name = "Dataset999_EvalFixture";
  return select_model(o, comm);
}

TEST(SelectionMpi, OneAndSeveralRanksWriteIdenticalFiles) {
  const fs::path root = test::scratch_dir("selection_mpi", true);
  fs::path dataset = root / "Dataset999_EvalFixture";
  if (world().rank() == 0) test::build_selection_results(root);
  world().barrier();

  // One rank alone.
  std::map<std::string, std::string> single;
  std::string single_best;
  {
    dist::Comm one = world().split(world().rank() == 0 ? 0 : -1, world().rank());
    if (one.valid()) {
      single_best = run_on(one, dataset).candidates.size() > 0 ? "ran" : "";
      single = read_tree(dataset / "selection");
      fs::remove_all(dataset / "selection");
    }
  }
  world().barrier();

  // min(3, world size) ranks.
  const int n = std::min(3, world().size());
  dist::Comm several = world().split(world().rank() < n ? 0 : -1, world().rank());
  if (several.valid()) {
    const SelectionResult r = run_on(several, dataset);
    // Scores and the winner are known on every rank, not only on rank 0.
    EXPECT_FALSE(r.candidates.empty());
    EXPECT_FALSE(std::isnan(r.candidates[r.best].score));
  }
  world().barrier();
  if (world().rank() == 0) {
    const auto multi = read_tree(dataset / "selection");
    ASSERT_EQ(single_best, "ran");
    ASSERT_FALSE(single.empty());
    EXPECT_EQ(single.size(), multi.size());
    for (const auto& [name, content] : single) {
      ASSERT_TRUE(multi.count(name)) << name;
      EXPECT_EQ(content, multi.at(name)) << name << " differs between 1 and " << n << " ranks";
    }
  }
}

}  // namespace
}  // namespace nnfleet::evaluation
