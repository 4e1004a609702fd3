#pragma once
// The sweep's job graph and its list scheduler. No MPI and no tensors: the sweep driver feeds it
// completions and asks it for work; tests drive it with simulated durations.
//
// Policy: whenever a group is free it takes the ready job with the highest priority, where a
// job's priority is the longest chain of expected cost from its start to the end of the graph
// (its own cost plus the costliest path through its dependents). For independent jobs this is
// "largest expected cost first"; with the cascade it starts the 3d_lowres folds early because the
// five cascade folds wait for all of them.

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace nnfleet::launcher {

struct JobSpec {
  std::string configuration;  // "2d", "3d_fullres", "3d_lowres", "3d_cascade_fullres"
  int fold = 0;
  double expected_cost = 1.0;   // arbitrary units (relative compute), > 0
  std::vector<int> depends_on;  // indices into JobGraph::jobs

  std::string id() const { return configuration + "/fold_" + std::to_string(fold); }
};

struct JobGraph {
  std::vector<JobSpec> jobs;

  // One job per (configuration, fold). Every 3d_cascade_fullres job depends on all five
  // 3d_lowres folds (it trains on their cross-validation predictions), so those five are added
  // even when `folds` names fewer. `cost(configuration)` gives each job's expected cost.
  template <typename CostFn>
  static JobGraph for_sweep(const std::vector<std::string>& configurations,
                            const std::vector<int>& folds, CostFn cost);

  // Longest expected-cost path from each job's start to the end of the graph (includes its own
  // cost). Throws nnfleet::Error on a dependency cycle.
  std::vector<double> priorities() const;
  double total_cost() const;
  double critical_path() const;  // max over priorities()
  int find(const std::string& configuration, int fold) const;  // -1 if absent
};

enum class JobState { kWaiting, kReady, kRunning, kDone, kFailed, kBlocked };
const char* to_string(JobState state);

class Scheduler {
 public:
  // Jobs in `already_done` (indices) start as done (a resumed sweep).
  explicit Scheduler(JobGraph graph, const std::set<int>& already_done = {});

  // The highest-priority ready job, now marked running; nullopt when none is ready (all are
  // waiting on running jobs, or nothing is left).
  std::optional<int> take_next();
  // The job take_next() would return, without taking it.
  std::optional<int> peek_next() const;
  // Marks a ready job as running (after peek_next()).
  void start(int job);
  // Reports the end of a running job. A failed job blocks everything that depends on it.
  void finish(int job, bool succeeded);

  bool settled() const;       // nothing ready, waiting or running is left
  bool work_pending() const;  // something is ready or waiting
  JobState state(int job) const { return states_.at(job); }
  const JobGraph& graph() const { return graph_; }
  int count(JobState s) const;

 private:
  void refresh_ready();
  JobGraph graph_;
  std::vector<double> priority_;
  std::vector<JobState> states_;
};

// Simulates the scheduler on `workers` identical groups with each job taking exactly its
// expected cost; returns the makespan.
double simulate_makespan(const JobGraph& graph, int workers);

// ---- implementation of the template ----
template <typename CostFn>
JobGraph JobGraph::for_sweep(const std::vector<std::string>& configurations,
                             const std::vector<int>& folds, CostFn cost) {
  JobGraph g;
  bool cascade = false;
  for (const auto& c : configurations) cascade = cascade || c == "3d_cascade_fullres";
  std::vector<std::string> order = configurations;
  bool has_lowres = false;
  for (const auto& c : order) has_lowres = has_lowres || c == "3d_lowres";
  if (cascade && !has_lowres) order.insert(order.begin(), "3d_lowres");
  for (const auto& c : order) {
    if (c == "3d_cascade_fullres") continue;
    const bool all_folds = cascade && c == "3d_lowres";
    for (int f : all_folds ? std::vector<int>{0, 1, 2, 3, 4} : folds)
      g.jobs.push_back(JobSpec{c, f, cost(c), {}});
  }
  if (cascade) {
    std::vector<int> lowres;
    for (int i = 0; i < static_cast<int>(g.jobs.size()); ++i)
      if (g.jobs[i].configuration == "3d_lowres") lowres.push_back(i);
    for (int f : folds) g.jobs.push_back(JobSpec{"3d_cascade_fullres", f, cost("3d_cascade_fullres"), lowres});
  }
  return g;
}

}  // namespace nnfleet::launcher
