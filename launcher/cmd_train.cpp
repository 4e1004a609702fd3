// `nnfleet train`: trains one (configuration, fold) job (worker/trainer.h). Under mpirun every
// rank of the world joins the job as one data-parallel group. SIGTERM and SIGUSR1 raise a stop
// flag: the job checkpoints after the current iteration and exits with status 75 (resume with
// --continue), the way Slurm preemption expects.

#include "common/error.h"
#include "common/log.h"
#include "launcher/command_registry.h"
#include "launcher/stop_signal.h"
#include "worker/trainer.h"

namespace nnfleet::launcher {
namespace {

struct TrainCommand {
  std::string dataset;
  worker::TrainOptions options;
};

void add_flags(CLI::App& app, TrainCommand& c) {
  auto& o = c.options;
  app.add_option("-d,--dataset,-t", c.dataset,
                 "dataset: id (4), name (Dataset004_Hippocampus, Task04_Hippocampus) or path")
      ->required();
  app.add_option("-c,--configuration", o.configuration,
                 "2d, 3d_fullres, 3d_lowres or 3d_cascade_fullres")->required();
  app.add_option("-f,--fold", o.fold, "fold of splits_final.json (0-4 for the default splits)")
      ->required();
  app.add_flag("--continue,--c", o.resume,
               "resume from checkpoint_final, _latest or _best of this fold");
  app.add_option("--epochs,--num_epochs", o.epochs, "epochs")->capture_default_str();
  app.add_option("--iters-per-epoch", o.iterations_per_epoch, "training iterations per epoch")
      ->capture_default_str();
  app.add_option("--val-iters", o.val_iterations, "pseudo-validation batches per epoch")
      ->capture_default_str();
  app.add_flag("--amp,--fp16", o.amp, "mixed precision (fp16 autocast + grad scaler; CUDA only)");
  app.add_option("--device", o.device, "cpu, cuda or auto")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}))->capture_default_str();
  app.add_option("--seed", o.seed, "seed of the weights and of the data loader")
      ->capture_default_str();
  app.add_flag("--deterministic", o.deterministic,
               "deterministic algorithms (a resumed CPU job then ends with the same weights)");
  app.add_option("--checkpoint-every", o.checkpoint_every, "epochs between checkpoint_latest writes")
      ->capture_default_str();
  app.add_option("--workers,--np", o.num_workers, "data-loader threads (0 = cores - 1, at most 12)")
      ->capture_default_str();
  app.add_option("--prev-stage-folder", o.previous_stage_folder,
                 "cascade: folder of the 3d_lowres predictions (default: the preprocessed "
                 "dataset's predicted_next_stage/<configuration>)");
  app.add_flag("--no-final-validation",
               [&o](int64_t) { o.final_validation = false; },
               "skip the end-of-training validation of the fold");
}

int run_train(TrainCommand& c, const GlobalOptions& global) {
  const Folders folders = global.folders();
  folders.require_preprocessed();
  folders.require_results();
  const DatasetRef ref = resolve_dataset(c.dataset, folders);
  c.options.preprocessed_dataset = folders.preprocessed / ref.canonical;
  c.options.results_dataset = folders.results / ref.canonical;
  const auto world = global.world();
  c.options.local_rank = world.split_shared().rank();
  log::set_job(c.options.configuration + "/fold_" + std::to_string(c.options.fold));
  const std::atomic<bool>* stop = install_stop_handlers();
  try {
    worker::train_job(c.options, world, stop);
  } catch (const worker::Interrupted& e) {
    spdlog::warn("{}", e.what());
    return kInterruptedStatus;
  }
  return 0;
}

std::function<int()> install_train(CLI::App& app, const GlobalOptions& global) {
  app.description(
      "Train one configuration and fold the nnU-Net way (1000 epochs x 250 iterations by "
      "default); output in $NNFLEET_RESULTS/<dataset>/<configuration>/fold_<k>/. Under mpirun "
      "the ranks train it data-parallel. SIGTERM/SIGUSR1 checkpoint and exit with status 75.");
  auto c = std::make_shared<TrainCommand>();
  add_flags(app, *c);
  return [c, &global] { return run_train(*c, global); };
}

const CommandRegistrar train_registrar({"train", 40, install_train});

}  // namespace
}  // namespace nnfleet::launcher
