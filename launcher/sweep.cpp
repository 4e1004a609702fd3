#include "launcher/sweep.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <numeric>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/log.h"
#include "evaluation/ensemble.h"
#include "evaluation/labels.h"
#include "evaluation/postprocessing.h"
#include "evaluation/selection.h"
#include "evaluation/summary_table.h"
#include "launcher/gpu_memory.h"
#include "launcher/scheduler.h"
#include "launcher/stop_signal.h"
#include "preprocessing/plan_and_preprocess.h"
#include "worker/job_paths.h"
#include "worker/predict_run.h"
#include "worker/trainer.h"

namespace nnfleet::launcher {
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kToCoordinator = 7301;
constexpr int kToWorker = 7302;

// ---------------------------------------------------------------------------------------------
// Plain point-to-point JSON messages (Note [sweep protocol]).

void send_json(const json& message, int destination, int tag) {
  const std::string text = message.dump();
  dist::check_mpi(MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR, destination, tag,
                           MPI_COMM_WORLD),
                  "MPI_Send(sweep message)");
}

json receive_json(int source, int tag, int* from = nullptr) {
  MPI_Status status;
  dist::check_mpi(MPI_Probe(source, tag, MPI_COMM_WORLD, &status), "MPI_Probe(sweep message)");
  int length = 0;
  MPI_Get_count(&status, MPI_CHAR, &length);
  std::string text(static_cast<std::size_t>(length), '\0');
  dist::check_mpi(MPI_Recv(text.data(), length, MPI_CHAR, status.MPI_SOURCE, tag, MPI_COMM_WORLD,
                           MPI_STATUS_IGNORE),
                  "MPI_Recv(sweep message)");
  if (from) *from = status.MPI_SOURCE;
  return json::parse(text);
}

// ---------------------------------------------------------------------------------------------
// The job graph from the plan.

const json& resolved_configuration(const json& plans, const std::string& name) {
  const json* c = &plans.at("configurations").at(name);
  while (!c->contains("patch_size") && c->contains("inherits_from"))
    c = &plans.at("configurations").at(c->at("inherits_from").get<std::string>());
  return *c;
}

// Relative compute of one job: voxels pushed through the network per step times the kernel
// volume of a convolution (3x3x3 = 27 for 3D, 9 for 2D), over the whole training budget.
double expected_cost(const json& plans, const std::string& configuration, const SweepOptions& o) {
  const json& c = resolved_configuration(plans, configuration);
  const auto patch = c.at("patch_size").get<std::vector<double>>();
  const double voxels = std::accumulate(patch.begin(), patch.end(), 1.0, std::multiplies<>());
  const double kernel = patch.size() == 3 ? 27.0 : 9.0;
  return c.at("batch_size").get<double>() * voxels * kernel * o.epochs * o.iterations_per_epoch *
         1e-9;
}

std::vector<std::string> configurations_to_run(const json& plans, const SweepOptions& o) {
  std::vector<std::string> planned;
  for (const char* c : {"2d", "3d_fullres", "3d_lowres", "3d_cascade_fullres"})
    if (plans.at("configurations").contains(c)) planned.emplace_back(c);
  if (o.configurations.empty() ||
      (o.configurations.size() == 1 && o.configurations.front() == "all"))
    return planned;
  for (const auto& c : o.configurations)
    if (std::find(planned.begin(), planned.end(), c) == planned.end()) {
      std::string list;
      for (const auto& p : planned) list += " " + p;
      throw Error("configuration '" + c + "' was not created by the plan of this dataset; " +
                  "planned:" + list);
    }
  return o.configurations;
}

bool job_finished(const fs::path& results_dataset, const JobSpec& job) {
  const auto paths = worker::job_paths(results_dataset.parent_path(), results_dataset.filename(),
                                       job.configuration, job.fold);
  return fs::exists(paths.checkpoint("final")) &&
         fs::exists(paths.validation_dir() / "summary.json");
}

bool job_has_checkpoint(const fs::path& results_dataset, const JobSpec& job) {
  const auto paths = worker::job_paths(results_dataset.parent_path(), results_dataset.filename(),
                                       job.configuration, job.fold);
  for (const char* which : {"latest", "best", "final"})
    if (fs::exists(paths.checkpoint(which))) return true;
  return false;
}

int group_size_for(const SweepOptions& o, const std::string& configuration, int world_size) {
  auto it = o.ranks_per_config.find(configuration);
  int k = it != o.ranks_per_config.end() ? it->second : o.ranks_per_job;
  if (configuration == "3d_cascade_fullres" && it == o.ranks_per_config.end()) {
    auto full = o.ranks_per_config.find("3d_fullres");
    if (full != o.ranks_per_config.end()) k = full->second;
  }
  return std::clamp(k, 1, world_size);
}

std::string format_duration(double seconds) {
  const long s = std::lround(std::max(0.0, seconds));
  if (s >= 3600) return fmt::format("{}h{:02d}m", s / 3600, (s % 3600) / 60);
  if (s >= 60) return fmt::format("{}m{:02d}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

std::string rank_list(const std::vector<int>& ranks) {
  if (ranks.size() == 1) return fmt::format("rank {}", ranks[0]);
  std::string out = "ranks ";
  for (std::size_t i = 0; i < ranks.size(); ++i) out += (i ? "," : "") + std::to_string(ranks[i]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The coordinator (world rank 0, its own thread).

struct JobRecord {
  std::vector<int> ranks;
  double started = -1, finished = -1;  // seconds since the sweep began
  std::string message;
  bool interrupted = false;
};

class Coordinator {
 public:
  Coordinator(JobGraph graph, const std::set<int>& done, const SweepOptions& options,
              int world_size, fs::path state_file, const std::atomic<bool>* stop)
      : scheduler_(std::move(graph), done), options_(options), world_size_(world_size),
        state_file_(std::move(state_file)), stop_(stop), records_(scheduler_.graph().jobs.size()),
        begin_(Clock::now()) {
    for (int j : done) records_[j].message = "done in an earlier run";
  }

  void run() {
    log_plan();
    int released = 0;  // ranks told that nothing is left
    while (released < world_size_) {
      int from = -1;
      const json message = receive_json(MPI_ANY_SOURCE, kToCoordinator, &from);
      if (message.at("type") == "request") free_.push_back(from);
      else on_done(message);
      if (stop_->load() && !stopping_) {
        stopping_ = true;
        spdlog::warn("sweep: stop signal received; running jobs checkpoint, no new jobs start");
      }
      assign();
      if (stopping_ || scheduler_.settled() || !can_ever_run_pending()) {
        for (int r : free_) send_json(json{{"job", -1}}, r, kToWorker);
        released += static_cast<int>(free_.size());
        free_.clear();
      }
    }
    write_state();
  }

  const Scheduler& scheduler() const { return scheduler_; }
  const std::vector<JobRecord>& records() const { return records_; }
  bool interrupted() const {
    return stopping_ || std::any_of(records_.begin(), records_.end(),
                                    [](const JobRecord& r) { return r.interrupted; });
  }
  double elapsed() const { return std::chrono::duration<double>(Clock::now() - begin_).count(); }

 private:
  // Hands ready jobs to free ranks while enough are free for the highest-priority one (no
  // backfilling past it, so a wide job is never starved).
  void assign() {
    while (!stopping_) {
      auto job = scheduler_.peek_next();
      if (!job) return;
      const auto& spec = scheduler_.graph().jobs[*job];
      const int need = group_size_for(options_, spec.configuration, world_size_);
      if (static_cast<int>(free_.size()) < need) return;
      std::sort(free_.begin(), free_.end());
      std::vector<int> ranks(free_.begin(), free_.begin() + need);
      free_.erase(free_.begin(), free_.begin() + need);
      scheduler_.start(*job);
      records_[*job].ranks = ranks;
      records_[*job].started = elapsed();
      for (int r : ranks) send_json(json{{"job", *job}, {"ranks", ranks}}, r, kToWorker);
      spdlog::info("sweep: {} starts {} {}", rank_list(ranks), spec.id(), progress_words());
      write_state();
    }
  }

  void on_done(const json& m) {
    const int job = m.at("job");
    auto& record = records_[job];
    record.finished = elapsed();
    record.message = m.value("message", "");
    record.interrupted = m.value("interrupted", false);
    const bool ok = m.at("ok");
    scheduler_.finish(job, ok);
    const auto& spec = scheduler_.graph().jobs[job];
    const std::string took = format_duration(record.finished - record.started);
    if (ok) spdlog::info("sweep: {} done in {} {}", spec.id(), took, progress_words());
    else if (record.interrupted) spdlog::warn("sweep: {} interrupted after {}, checkpointed", spec.id(), took);
    else spdlog::error("sweep: {} FAILED after {}: {} (log: {})", spec.id(), took, record.message,
                       m.value("log", ""));
    if (record.interrupted) stopping_ = true;
    if (ok) {
      done_seconds_ += record.finished - record.started;
      done_cost_ += spec.expected_cost;
    }
    write_state();
  }

  // With every free rank idle and nothing running, pending jobs that need more ranks than
  // exist would wait forever; group_size_for clamps to the world, so this only guards bugs.
  bool can_ever_run_pending() const {
    return scheduler_.work_pending() || scheduler_.count(JobState::kRunning) > 0;
  }

  std::string progress_words() const {
    const auto& s = scheduler_;
    std::string words = fmt::format("[{} queued, {} running, {} done, {} failed",
                                    s.count(JobState::kReady) + s.count(JobState::kWaiting),
                                    s.count(JobState::kRunning), s.count(JobState::kDone),
                                    s.count(JobState::kFailed) + s.count(JobState::kBlocked));
    if (done_cost_ > 0) {
      double left = 0;
      for (std::size_t j = 0; j < records_.size(); ++j) {
        const auto st = s.state(static_cast<int>(j));
        if (st == JobState::kReady || st == JobState::kWaiting || st == JobState::kRunning)
          left += s.graph().jobs[j].expected_cost;
      }
      const double slots = std::max(1, world_size_ / std::max(1, options_.ranks_per_job));
      words += ", ETA " + format_duration(left * done_seconds_ / done_cost_ / slots);
    }
    return words + "]";
  }

  void log_plan() const {
    const auto& g = scheduler_.graph();
    spdlog::info("sweep: {} jobs on {} ranks; order of priority (longest remaining chain first):",
                 g.jobs.size(), world_size_);
    const auto prio = g.priorities();
    std::vector<int> order(g.jobs.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return prio[a] > prio[b]; });
    for (int j : order) {
      const auto& spec = g.jobs[j];
      std::string deps = spec.depends_on.empty() ? "" : fmt::format(", waits for {} jobs", spec.depends_on.size());
      spdlog::info("  {:<28} {} rank(s), cost {:.3g}{}{}", spec.id(),
                   group_size_for(options_, spec.configuration, world_size_), spec.expected_cost,
                   deps, scheduler_.state(j) == JobState::kDone ? " (already done: skipped)" : "");
    }
  }

  void write_state() const {
    json jobs = json::array();
    const auto& g = scheduler_.graph();
    for (std::size_t j = 0; j < g.jobs.size(); ++j) {
      const auto& r = records_[j];
      jobs.push_back({{"job", g.jobs[j].id()},
                      {"configuration", g.jobs[j].configuration},
                      {"fold", g.jobs[j].fold},
                      {"state", to_string(scheduler_.state(static_cast<int>(j)))},
                      {"ranks", r.ranks},
                      {"started_s", r.started},
                      {"finished_s", r.finished},
                      {"message", r.message}});
    }
    write_json_atomically(state_file_, json{{"elapsed_s", elapsed()}, {"jobs", jobs}});
  }

  Scheduler scheduler_;
  const SweepOptions& options_;
  int world_size_;
  fs::path state_file_;
  const std::atomic<bool>* stop_;
  std::vector<JobRecord> records_;
  std::vector<int> free_;
  bool stopping_ = false;
  double done_seconds_ = 0, done_cost_ = 0;
  Clock::time_point begin_;
};

// ---------------------------------------------------------------------------------------------
// A rank's side: ask for work, form the group, train, report, repeat.

struct WorkerContext {
  const SweepOptions& options;
  const JobGraph& graph;
  fs::path preprocessed_dataset, results_dataset;
  const dist::Comm& world;
  int local_rank;
  const std::atomic<bool>* stop;
};

json run_one_job(const WorkerContext& ctx, int job, const std::vector<int>& ranks) {
  const auto& spec = ctx.graph.jobs[job];
  const int me = ctx.world.rank();
  dist::Comm group = ctx.world.create_group(ranks, /*tag=*/job);
  log::set_job(spec.id());
  worker::TrainOptions t;
  t.preprocessed_dataset = ctx.preprocessed_dataset;
  t.results_dataset = ctx.results_dataset;
  t.configuration = spec.configuration;
  t.fold = spec.fold;
  t.epochs = ctx.options.epochs;
  t.iterations_per_epoch = ctx.options.iterations_per_epoch;
  t.val_iterations = ctx.options.val_iterations;
  t.amp = ctx.options.amp;
  t.device = ctx.options.device;
  t.seed = ctx.options.seed;
  t.deterministic = ctx.options.deterministic;
  t.num_workers = ctx.options.num_workers;
  t.checkpoint_every = ctx.options.checkpoint_every;
  t.local_rank = ctx.local_rank;
  t.resume = job_has_checkpoint(ctx.results_dataset, spec);
  const auto paths = worker::job_paths(ctx.results_dataset.parent_path(),
                                       ctx.results_dataset.filename(), spec.configuration, spec.fold);
  json report{{"type", "done"}, {"job", job}, {"ok", false}, {"log", paths.log_file().string()}};
  try {
    worker::train_job(t, group, ctx.stop);
    report["ok"] = true;
  } catch (const worker::Interrupted& e) {
    report["interrupted"] = true;
    report["message"] = e.what();
  } catch (const std::exception& e) {
    report["message"] = e.what();
    spdlog::error("{} failed on rank {}: {}", spec.id(), me, e.what());
  }
  log::set_job("");
  return report;
}

void worker_loop(const WorkerContext& ctx) {
  while (true) {
    send_json(json{{"type", "request"}}, 0, kToCoordinator);
    const json assignment = receive_json(0, kToWorker);
    const int job = assignment.at("job");
    if (job < 0) return;
    const auto ranks = assignment.at("ranks").get<std::vector<int>>();
    const json report = run_one_job(ctx, job, ranks);
    // The group's first rank reports for the group: a member's failure inside a collective
    // reaches it through the collective's error or timeout (dist/collective_timeout.h).
    if (ctx.world.rank() == ranks.front()) send_json(report, 0, kToCoordinator);
  }
}

// ---------------------------------------------------------------------------------------------
// Reporting.

void print_schedule(const Coordinator& c) {
  const auto& g = c.scheduler().graph();
  spdlog::info("sweep: schedule that ran:");
  spdlog::info("  {:<28} {:<12} {:>9} {:>9}  {}", "job", "ranks", "start", "took", "state");
  for (std::size_t j = 0; j < g.jobs.size(); ++j) {
    const auto& r = c.records()[j];
    std::string ranks = r.ranks.empty() ? "-" : rank_list(r.ranks);
    std::string start = r.started < 0 ? "-" : format_duration(r.started);
    std::string took = r.finished < 0 || r.started < 0 ? "-" : format_duration(r.finished - r.started);
    spdlog::info("  {:<28} {:<12} {:>9} {:>9}  {}", g.jobs[j].id(), ranks, start, took,
                 to_string(c.scheduler().state(static_cast<int>(j))));
  }
}

void print_selection(const evaluation::SelectionResult& result, const fs::path& results_dataset) {
  spdlog::info("sweep: cross-validation Dice per class (mean over cases, before postprocessing):");
  for (std::size_t i = 0; i < result.candidates.size(); ++i) {
    const auto& cand = result.candidates[i];
    std::string classes;
    const auto& labels = cand.summary.labels;
    for (std::size_t k = 0; k < labels.foreground.size(); ++k)
      classes += fmt::format("  {} {:.4f}", labels.names[k], cand.summary.mean[k].dice);
    spdlog::info("  {:<34} mean {:.4f} |{}{}", cand.name, cand.score, classes,
                 i == result.best ? "   <- selected" : "");
  }
  const auto& best = result.candidates[result.best];
  const auto& after = result.postprocessing.after;
  std::string pp_classes;
  for (std::size_t k = 0; k < after.labels.foreground.size(); ++k)
    pp_classes += fmt::format("  {} {:.4f}", after.labels.names[k], after.mean[k].dice);
  spdlog::info("sweep: selected {}; with its postprocessing: mean {:.4f} |{}", best.name,
               after.foreground_mean.dice, pp_classes);
  spdlog::info("sweep: files:");
  spdlog::info("  selection, ranking, commands: {}", result.output_folder.string());
  spdlog::info("  summary CSV:                  {}", (results_dataset / "summary.csv").string());
  spdlog::info("  per fold (progress.png, training_log.txt, validation/*.nii.gz): {}/<config>/fold_<k>/",
               results_dataset.string());
  spdlog::info("  run state:                    {}", (results_dataset / "sweep_state.json").string());
}

// Step 5 (--predict-test): the raw dataset's imagesTs/ predicted with the selected model, its
// postprocessing applied, into results/<dataset>/test_predictions/. A selected pair is predicted
// configuration by configuration (with probabilities, in test_predictions/<configuration>/) and
// ensembled; a cascade first gets its previous stage's predictions. Collective over `world`.
void predict_test_set(const SweepOptions& options, const DatasetRef& dataset, const Folders& folders,
                      const evaluation::SelectionResult& selection, const fs::path& results_dataset,
                      const dist::Comm& world, int local_rank) {
  const fs::path images = dataset.raw_folder / "imagesTs";
  if (dataset.raw_folder.empty() || !fs::is_directory(images)) {
    if (world.rank() == 0)
      spdlog::warn("sweep: --predict-test: no imagesTs/ folder in the raw dataset {}; nothing to "
                   "predict", dataset.raw_folder.string());
    return;
  }
  const auto& best = selection.candidates[selection.best];
  const fs::path output = results_dataset / "test_predictions";
  const fs::path postprocessing = selection.output_folder / "postprocessing.json";
  const bool ensemble = best.members.size() > 1;
  if (world.rank() == 0)
    spdlog::info("sweep: predicting {} with {} into {}", images.string(), best.name, output.string());

  std::map<std::string, fs::path> predicted;  // configuration -> its prediction folder
  std::function<void(const std::string&, const fs::path&, bool, bool)> predict =
      [&](const std::string& configuration, const fs::path& folder, bool probabilities, bool final) {
        worker::PredictRequest r;
        r.input_folder = images;
        r.output_folder = folder;
        r.dataset = options.dataset;
        r.configuration = configuration;
        r.folds = options.folds;
        r.device = options.device;
        r.save_probabilities = probabilities;
        r.resume = true;  // a resumed sweep does not predict a case twice
        if (final && fs::exists(postprocessing)) r.postprocessing_file = postprocessing;
        const auto model = worker::find_trained_model(r, results_dataset);
        if (!model.previous_stage.empty()) {
          if (!predicted.count(model.previous_stage)) {
            predict(model.previous_stage, output / model.previous_stage, false, false);
          }
          r.previous_stage_predictions = predicted.at(model.previous_stage);
        }
        worker::run_prediction(r, folders, world, local_rank);
        predicted[configuration] = folder;
      };
  if (!ensemble) {
    predict(best.members.front(), output, false, true);
    return;
  }
  evaluation::EnsembleOptions e;
  for (const auto& member : best.members) {
    predict(member, output / member, true, false);
    e.input_folders.push_back(output / member);
  }
  e.output_folder = output;
  e.file_ending = read_json(folders.preprocessed / dataset.canonical / "dataset.json")
                      .value("file_ending", ".nii.gz");
  if (fs::exists(postprocessing)) e.postprocessing = evaluation::read_postprocessing(postprocessing);
  evaluation::ensemble_folders(e, world);
}

}  // namespace

int run_sweep(const SweepOptions& options, const Folders& folders, const dist::Comm& world,
              int local_rank) {
  const auto* stop = install_stop_handlers();
  folders.require_preprocessed();
  folders.require_results();
  const DatasetRef dataset = resolve_dataset(options.dataset, folders);
  const auto sweep_start = Clock::now();

  // 1. Plan and preprocess (every rank).
  preprocessing::PlanPreprocessOptions pp;
  const GpuMemoryTarget gpu_memory = planner_gpu_memory(options.gpu_memory_gb);
  pp.gpu_memory_gb = gpu_memory.gb;
  if (world.rank() == 0) {
    spdlog::info("sweep: planning for {:.0f} GB of GPU memory ({})", gpu_memory.gb, gpu_memory.source);
  }
  pp.threads_per_rank = options.preprocess_threads;
  const auto prepared = preprocessing::plan_and_preprocess(folders, dataset, pp, world);
  const fs::path results_dataset = folders.results / dataset.canonical;
  const auto configurations = configurations_to_run(prepared.plans, options);

  // 2. The job graph and what a previous run finished.
  const JobGraph graph = JobGraph::for_sweep(configurations, options.folds, [&](const std::string& c) {
    return expected_cost(prepared.plans, c, options);
  });
  std::set<int> done;
  for (int j = 0; j < static_cast<int>(graph.jobs.size()); ++j)
    if (job_finished(results_dataset, graph.jobs[j])) done.insert(j);

  // 3. Train: rank 0 coordinates in a thread while it trains like every other rank.
  std::unique_ptr<Coordinator> coordinator;
  std::thread coordinator_thread;
  if (world.rank() == 0) {
    fs::create_directories(results_dataset);
    coordinator = std::make_unique<Coordinator>(graph, done, options, world.size(),
                                                results_dataset / "sweep_state.json", stop);
    coordinator_thread = std::thread([&] {
      try {
        coordinator->run();
      } catch (const std::exception& e) {
        spdlog::critical("sweep coordinator failed: {}", e.what());
        MPI_Abort(MPI_COMM_WORLD, 3);
      }
    });
  }
  WorkerContext ctx{options, graph, prepared.output_folder, results_dataset, world, local_rank, stop};
  worker_loop(ctx);
  if (coordinator_thread.joinable()) coordinator_thread.join();

  // Every rank learns whether the training phase finished cleanly.
  std::string verdict;
  if (world.rank() == 0) {
    const auto& s = coordinator->scheduler();
    print_schedule(*coordinator);
    verdict = coordinator->interrupted() ? "interrupted"
              : s.count(JobState::kFailed) + s.count(JobState::kBlocked) > 0 ? "failed" : "ok";
    if (verdict == "failed") {
      spdlog::error("sweep: {} job(s) failed and {} could not start because of them; fix the "
                    "cause and run the same command again to resume",
                    s.count(JobState::kFailed), s.count(JobState::kBlocked));
    }
  }
  world.broadcast(verdict, 0);
  if (verdict == "interrupted") {
    if (world.rank() == 0)
      spdlog::warn("sweep: interrupted; run the same command again to resume from the checkpoints");
    return kInterruptedStatus;
  }
  if (verdict == "failed") return 1;

  // 4. Cluster-wide model selection and the summary CSV.
  evaluation::SelectionOptions sel;
  sel.results_dataset_folder = results_dataset;
  sel.reference_folder = prepared.output_folder / "gt_segmentations";
  sel.labels = evaluation::read_labels(prepared.output_folder / "dataset.json");
  sel.file_ending = read_json(prepared.output_folder / "dataset.json").value("file_ending", ".nii.gz");
  sel.configurations = configurations;
  sel.folds = options.folds;
  sel.dataset_name = dataset.canonical;
  const auto result = evaluation::select_model(sel, world);
  if (world.rank() == 0) {
    const auto rows = evaluation::collect_summary_rows(folders.results, {dataset.canonical});
    write_text_atomically(results_dataset / "summary.csv", evaluation::summary_rows_to_csv(rows));
    print_selection(result, results_dataset);
  }
  // 5. The test set, with the selected model.
  if (options.predict_test) {
    predict_test_set(options, dataset, folders, result, results_dataset, world, local_rank);
  }
  if (world.rank() == 0) {
    spdlog::info("sweep: finished in {}",
                 format_duration(std::chrono::duration<double>(Clock::now() - sweep_start).count()));
  }
  return 0;
}

}  // namespace nnfleet::launcher
