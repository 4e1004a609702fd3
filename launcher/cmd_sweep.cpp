// `nnfleet sweep`: plan, train every fold of every configuration at once, select (launcher/sweep.h).

#include <fmt/format.h>

#include "common/error.h"
#include "launcher/command_registry.h"
#include "launcher/sweep.h"

namespace nnfleet::launcher {
namespace {

struct SweepCommand {
  SweepOptions options;
  std::vector<std::string> ranks_per_job{"1"};
};

// "--ranks-per-job 2" or "--ranks-per-job 1 3d_fullres=2": a default and per-configuration sizes.
void parse_ranks_per_job(const std::vector<std::string>& values, SweepOptions& o) {
  for (const auto& v : values) {
    const auto eq = v.find('=');
    try {
      if (eq == std::string::npos) o.ranks_per_job = std::stoi(v);
      else o.ranks_per_config[v.substr(0, eq)] = std::stoi(v.substr(eq + 1));
    } catch (const std::exception&) {
      throw Error("--ranks-per-job: '" + v + "' is not N or CONFIGURATION=N");
    }
  }
  if (o.ranks_per_job < 1) throw Error("--ranks-per-job must be at least 1");
}

const CommandRegistrar registrar{Command{
    "sweep", 90, [](CLI::App& app, const GlobalOptions& global) -> std::function<int()> {
      auto c = std::make_shared<SweepCommand>();
      auto& o = c->options;
      app.description(
          "The main job: plan and preprocess (sharded over all ranks), train every fold of every "
          "configuration at once on groups of ranks, validate, and select the best configuration "
          "or ensemble. Run under mpirun/srun; rerun the same command to resume.");
      app.add_option("-d,--dataset,-t", o.dataset, "dataset: id, name or path")->required();
      app.add_option("-c,--configurations", o.configurations,
                     "2d 3d_fullres 3d_lowres 3d_cascade_fullres, or all (default: every "
                     "configuration the plan created)");
      app.add_option("-f,--folds", o.folds, "folds")->capture_default_str();
      app.add_option("--ranks-per-job", c->ranks_per_job,
                     "ranks that train one job data-parallel: N, and/or CONFIGURATION=N")
          ->capture_default_str();
      app.add_option("--epochs,--num_epochs", o.epochs, "epochs per job")->capture_default_str();
      app.add_option("--iters-per-epoch", o.iterations_per_epoch, "iterations per epoch")
          ->capture_default_str();
      app.add_option("--val-iters", o.val_iterations, "pseudo-validation batches per epoch")
          ->capture_default_str();
      app.add_flag("--amp,--fp16", o.amp, "mixed precision on GPU");
      app.add_option("--device", o.device, "cpu, cuda or auto")
          ->check(CLI::IsMember({"cpu", "cuda", "auto"}))->capture_default_str();
      app.add_option("--seed", o.seed, "seed")->capture_default_str();
      app.add_flag("--deterministic", o.deterministic, "deterministic algorithms");
      app.add_option("--workers", o.num_workers, "data-loader threads per rank (0 = from cores)")
          ->capture_default_str();
      app.add_option("--checkpoint-every", o.checkpoint_every, "epochs between checkpoints")
          ->capture_default_str();
      app.add_option("--gpu-memory,--gpu_memory_target", o.gpu_memory_gb,
                     "planner GPU memory target in GB (default: the visible GPU's, else 8)")
          ->capture_default_str();
      app.add_option("--np,--preprocess-threads", o.preprocess_threads,
                     "preprocessing threads per rank")->capture_default_str();
      app.add_flag("--predict-test", o.predict_test,
                   "predict imagesTs/ with the selected model (postprocessing applied)");
      return [c, &global]() {
        parse_ranks_per_job(c->ranks_per_job, c->options);
        const auto world = global.world();
        const int local_rank = world.split_shared().rank();
        return run_sweep(c->options, global.folders(), world, local_rank);
      };
    }}};

}  // namespace
}  // namespace nnfleet::launcher
