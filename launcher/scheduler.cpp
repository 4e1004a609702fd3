#include "launcher/scheduler.h"

#include <algorithm>
#include <functional>
#include <queue>

#include "common/error.h"

namespace nnfleet::launcher {

const char* to_string(JobState state) {
  switch (state) {
    case JobState::kWaiting: return "waiting";
    case JobState::kReady: return "queued";
    case JobState::kRunning: return "running";
    case JobState::kDone: return "done";
    case JobState::kFailed: return "failed";
    case JobState::kBlocked: return "blocked";
  }
  return "?";
}

std::vector<double> JobGraph::priorities() const {
  const int n = static_cast<int>(jobs.size());
  std::vector<std::vector<int>> dependents(n);
  for (int i = 0; i < n; ++i)
    for (int d : jobs[i].depends_on) dependents.at(d).push_back(i);
  std::vector<double> memo(n, -1.0);
  std::vector<int> visiting(n, 0);
  std::function<double(int)> longest = [&](int j) {
    if (memo[j] >= 0) return memo[j];
    if (visiting[j]) throw Error("the sweep's job graph has a dependency cycle at " + jobs[j].id());
    visiting[j] = 1;
    double tail = 0;
    for (int d : dependents[j]) tail = std::max(tail, longest(d));
    visiting[j] = 0;
    return memo[j] = jobs[j].expected_cost + tail;
  };
  for (int i = 0; i < n; ++i) longest(i);
  return memo;
}

double JobGraph::total_cost() const {
  double total = 0;
  for (const auto& j : jobs) total += j.expected_cost;
  return total;
}

double JobGraph::critical_path() const {
  const auto p = priorities();
  return p.empty() ? 0.0 : *std::max_element(p.begin(), p.end());
}

int JobGraph::find(const std::string& configuration, int fold) const {
  for (int i = 0; i < static_cast<int>(jobs.size()); ++i)
    if (jobs[i].configuration == configuration && jobs[i].fold == fold) return i;
  return -1;
}

Scheduler::Scheduler(JobGraph graph, const std::set<int>& already_done)
    : graph_(std::move(graph)), priority_(graph_.priorities()),
      states_(graph_.jobs.size(), JobState::kWaiting) {
  for (int j : already_done) states_.at(j) = JobState::kDone;
  refresh_ready();
}

void Scheduler::refresh_ready() {
  for (std::size_t i = 0; i < states_.size(); ++i) {
    if (states_[i] != JobState::kWaiting) continue;
    bool ready = true, blocked = false;
    for (int d : graph_.jobs[i].depends_on) {
      ready = ready && states_[d] == JobState::kDone;
      blocked = blocked || states_[d] == JobState::kFailed || states_[d] == JobState::kBlocked;
    }
    if (blocked) states_[i] = JobState::kBlocked;
    else if (ready) states_[i] = JobState::kReady;
  }
}

std::optional<int> Scheduler::peek_next() const {
  int best = -1;
  for (int i = 0; i < static_cast<int>(states_.size()); ++i) {
    if (states_[i] != JobState::kReady) continue;
    // Ties go to the earlier job (stable, so every run schedules identically).
    if (best < 0 || priority_[i] > priority_[best]) best = i;
  }
  if (best < 0) return std::nullopt;
  return best;
}

void Scheduler::start(int job) {
  NNFLEET_CHECK(states_.at(job) == JobState::kReady, "start() of a job that is not ready");
  states_[job] = JobState::kRunning;
}

std::optional<int> Scheduler::take_next() {
  auto job = peek_next();
  if (job) start(*job);
  return job;
}

void Scheduler::finish(int job, bool succeeded) {
  NNFLEET_CHECK(states_.at(job) == JobState::kRunning, "finish() of a job that is not running");
  states_[job] = succeeded ? JobState::kDone : JobState::kFailed;
  // A failure can block a chain; repeat until nothing changes.
  for (std::size_t pass = 0; pass < states_.size(); ++pass) {
    const auto before = states_;
    refresh_ready();
    if (before == states_) break;
  }
}

bool Scheduler::work_pending() const {
  for (auto s : states_)
    if (s == JobState::kReady || s == JobState::kWaiting) return true;
  return false;
}

bool Scheduler::settled() const { return !work_pending() && count(JobState::kRunning) == 0; }

int Scheduler::count(JobState s) const {
  return static_cast<int>(std::count(states_.begin(), states_.end(), s));
}

double simulate_makespan(const JobGraph& graph, int workers) {
  Scheduler scheduler(graph);
  using Event = std::pair<double, int>;  // (finish time, job)
  std::priority_queue<Event, std::vector<Event>, std::greater<>> running;
  double now = 0;
  int free_workers = workers;
  while (!scheduler.settled()) {
    while (free_workers > 0) {
      auto job = scheduler.take_next();
      if (!job) break;
      running.emplace(now + graph.jobs[*job].expected_cost, *job);
      --free_workers;
    }
    NNFLEET_CHECK(!running.empty(), "simulation stalled with work left");
    // Jobs that end at the same moment all report before anyone takes new work.
    now = running.top().first;
    while (!running.empty() && running.top().first <= now) {
      scheduler.finish(running.top().second, true);
      running.pop();
      ++free_workers;
    }
  }
  return now;
}

}  // namespace nnfleet::launcher
