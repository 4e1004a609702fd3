// `nnfleet plan-preprocess -d DATASET [-c 2d 3d_fullres 3d_lowres] [--gpu-memory GB] [-np N]`:
// validates, fingerprints, plans and preprocesses a dataset, sharded over the MPI world
// (preprocessing/plan_and_preprocess.h).

#include <memory>
#include <sstream>

#include <spdlog/spdlog.h>

#include "dist/mpi_world.h"
#include "launcher/command_registry.h"
#include "launcher/gpu_memory.h"
#include "preprocessing/plan_and_preprocess.h"

namespace nnfleet::launcher {
namespace {

struct Args {
  std::string dataset;
  std::vector<std::string> configurations{"2d", "3d_fullres", "3d_lowres"};
  double gpu_memory_gb = 0;
  int threads = 1;
  bool force = false;
};

std::function<int()> install_plan_preprocess(CLI::App& app, const GlobalOptions& global) {
  app.description("Validate, fingerprint, plan and preprocess a dataset (cases sharded over ranks)");
  auto a = std::make_shared<Args>();
  app.add_option("-d,-t,--dataset", a->dataset,
                 "dataset: id (4), name (Task04_Hippocampus, Dataset004_Hippocampus) or path")
      ->required();
  app.add_option("-c,--configurations", a->configurations,
                 "configurations to preprocess (3d_lowres only when the planner creates it)")
      ->capture_default_str();
  app.add_option("--gpu-memory,--gpu_memory_target", a->gpu_memory_gb,
                 "GPU memory target in GB for the planner (default: the visible GPU's memory, "
                 "else 8, nnU-Net's default)");
  app.add_option("--np", a->threads, "worker threads per rank")->capture_default_str();
  app.add_flag("--clean,--force", a->force, "redo everything even when outputs are up to date");
  return [a, &global] {
    const auto world = global.world();
    const Folders folders = global.folders();
    const DatasetRef ref = resolve_dataset(a->dataset, folders);
    preprocessing::PlanPreprocessOptions o;
    o.configurations = a->configurations;
    o.threads_per_rank = a->threads;
    o.force = a->force;
    const GpuMemoryTarget target = planner_gpu_memory(a->gpu_memory_gb);
    o.gpu_memory_gb = target.gb;
    const std::string& source = target.source;
    if (world.rank() == 0) {
      std::ostringstream configs;
      for (const auto& c : o.configurations) configs << c << " ";
      spdlog::info("plan-preprocess {} from {} into {} ({}); configurations {}; GPU memory "
                   "target {:.1f} GB ({}); {} rank(s) x {} thread(s)",
                   ref.canonical, ref.raw_folder.string(), folders.preprocessed.string(),
                   folders.preprocessed_source, configs.str(), o.gpu_memory_gb, source,
                   world.size(), o.threads_per_rank);
    }
    const auto result = preprocessing::plan_and_preprocess(folders, ref, o, world);
    if (world.rank() == 0) {
      spdlog::info("{} case(s) {} in {}", result.num_cases,
                   result.skipped ? "already preprocessed" : "preprocessed",
                   result.output_folder.string());
    }
    return 0;
  };
}

const CommandRegistrar kPlanPreprocess{{"plan-preprocess", 20, install_plan_preprocess}};

}  // namespace
}  // namespace nnfleet::launcher
