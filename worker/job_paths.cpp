#include "worker/job_paths.h"

namespace nnfleet::worker {

JobPaths job_paths(const std::filesystem::path& results, const std::string& dataset,
                   const std::string& configuration, int fold) {
  return JobPaths{results / dataset / configuration / ("fold_" + std::to_string(fold))};
}

}  // namespace nnfleet::worker
