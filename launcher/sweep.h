#pragma once
// `nnfleet sweep`: the main job. Collective over the MPI world:
//   1. plan and preprocess, sharded over all ranks (skipped when already done);
//   2. one job per (configuration, fold); the cascade folds wait for all five 3d_lowres folds;
//   3. a coordinator on world rank 0 (a thread beside its own training) hands the next ready job,
//      highest critical-path priority first (launcher/scheduler.h), to the next K free ranks,
//      which form a group (MPI_Comm_create_group, nobody else involved), train the job
//      data-parallel with its final validation, dissolve, and ask again;
//   4. when every job is settled: cluster-wide model selection and the summary CSV.
// Note [sweep protocol]: ranks send {"type": "request"} and, as group leaders,
// {"type": "done", ...} to rank 0 with tag kToCoordinator; rank 0 answers each request with
// {"job": j, "ranks": [...]} or {"job": -1} (nothing left, or stopping) with tag kToWorker.
// A rerun resumes: jobs whose checkpoint_final and validation/summary.json exist are done; the
// others continue from their latest checkpoint. SIGTERM/SIGUSR1 make running jobs checkpoint and
// the run end with kInterruptedStatus.

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/folders.h"
#include "dist/mpi_world.h"

namespace nnfleet::launcher {

struct SweepOptions {
  std::string dataset;                         // -d
  std::vector<std::string> configurations;     // empty or {"all"}: every configuration planned
  std::vector<int> folds{0, 1, 2, 3, 4};
  int ranks_per_job = 1;                       // default group size
  std::map<std::string, int> ranks_per_config; // overrides, e.g. {"3d_fullres": 2}
  int epochs = 1000, iterations_per_epoch = 250, val_iterations = 50;
  bool amp = false;
  std::string device = "auto";
  uint64_t seed = 12345;
  int num_workers = 0;                         // data-loader threads per rank
  int checkpoint_every = 5;
  double gpu_memory_gb = 0;                    // planner target in GB; 0 = visible GPU, else 8
  int preprocess_threads = 1;
  bool predict_test = false;                   // predict imagesTs/ with the selected model
  bool deterministic = false;
};

// Runs the sweep; returns the process exit status (0 all done and selected, 1 failures,
// kInterruptedStatus after a stop signal). Collective over `world`.
int run_sweep(const SweepOptions& options, const Folders& folders, const dist::Comm& world,
              int local_rank);

}  // namespace nnfleet::launcher
