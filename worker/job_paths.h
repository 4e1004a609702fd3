#pragma once
// Where one (configuration, fold) job keeps its files; see docs/formats.md.

#include <filesystem>
#include <string>

namespace nnfleet::worker {

struct JobPaths {
  std::filesystem::path fold_dir;  // <results>/<dataset>/<config>/fold_<k>
  std::filesystem::path checkpoint(const std::string& which) const {  // latest, best, final
    return fold_dir / ("checkpoint_" + which + ".pt");
  }
  std::filesystem::path validation_dir() const { return fold_dir / "validation"; }
  std::filesystem::path log_file() const { return fold_dir / "training_log.txt"; }
  std::filesystem::path progress_csv() const { return fold_dir / "progress.csv"; }
  std::filesystem::path progress_png() const { return fold_dir / "progress.png"; }
  std::filesystem::path trace(int rank) const {
    return fold_dir / ("trace_rank" + std::to_string(rank) + ".json");
  }
};

JobPaths job_paths(const std::filesystem::path& results, const std::string& dataset,
                   const std::string& configuration, int fold);

}  // namespace nnfleet::worker
