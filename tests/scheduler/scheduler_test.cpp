#include "launcher/scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "common/error.h"

namespace nnfleet::launcher {
namespace {

const std::vector<std::string> kAll{"2d", "3d_fullres", "3d_lowres", "3d_cascade_fullres"};
const std::vector<int> kFolds{0, 1, 2, 3, 4};

// nnU-Net plans every configuration to the same GPU-memory budget and the same number of
// iterations, so jobs cost about the same; 2d is somewhat cheaper (nnU-Net's published epoch
// times: Heart 2d 36.8 s vs 3d_fullres 47.2 s on an A100, ratio 0.78).
double typical_cost(const std::string& c) {
  static const std::map<std::string, double> cost{
      {"2d", 0.78}, {"3d_fullres", 1.0}, {"3d_lowres", 1.0}, {"3d_cascade_fullres", 1.0}};
  return cost.at(c);
}

// The best possible makespan of the sweep graph (jobs of a class identical; cascade jobs wait for
// every 3d_lowres job), by branch and bound: at each moment the earliest-free group starts a job
// of any ready class, or idles until the last lowres job ends when only cascade work could
// follow. Pruned by max(latest end so far, (busy time + work left) / W) against the best found.
class OptimalMakespan {
 public:
  OptimalMakespan(const JobGraph& g, int workers, double upper_bound)
      : workers_(workers), best_(upper_bound) {
    for (const auto& j : g.jobs) {
      auto it = std::find(classes_.begin(), classes_.end(), j.configuration);
      if (it == classes_.end()) {
        classes_.push_back(j.configuration);
        cost_.push_back(j.expected_cost);
        left_.push_back(0);
        it = classes_.end() - 1;
      }
      ++left_[it - classes_.begin()];
    }
    lowres_ = index_of("3d_lowres");
    cascade_ = index_of("3d_cascade_fullres");
  }
  double solve() {
    search(std::vector<double>(workers_, 0.0), left_, 0.0, 0.0);
    return best_;
  }

 private:
  void search(std::vector<double> free_at, std::vector<int> left, double lowres_end,
              double latest_end) {
    std::sort(free_at.begin(), free_at.end());
    double work_left = 0, busy = 0;
    for (std::size_t c = 0; c < classes_.size(); ++c) work_left += left[c] * cost_[c];
    for (double t : free_at) busy += t;
    if (work_left == 0) {
      best_ = std::min(best_, latest_end);
      return;
    }
    if (std::max(latest_end, (busy + work_left) / workers_) >= best_ - 1e-9) return;
    // A state already explored with an earlier-or-equal latest end cannot do better now.
    std::string key;
    for (double t : free_at) key += std::to_string(std::lround(t * 1e4)) + ",";
    for (int n : left) key += std::to_string(n) + ";";
    key += std::to_string(std::lround(lowres_end * 1e4));
    auto [it, inserted] = seen_.emplace(key, latest_end);
    if (!inserted) {
      if (it->second <= latest_end + 1e-9) return;
      it->second = latest_end;
    }
    const double now = free_at[0];
    bool started = false;
    for (std::size_t c = 0; c < classes_.size(); ++c) {
      if (left[c] == 0) continue;
      if (static_cast<int>(c) == cascade_ && (left[lowres_] > 0 || lowres_end > now)) continue;
      auto next_free = free_at;
      auto next_left = left;
      const double end = now + cost_[c];
      next_free[0] = end;
      --next_left[c];
      search(next_free, next_left, static_cast<int>(c) == lowres_ ? std::max(lowres_end, end) : lowres_end,
             std::max(latest_end, end));
      started = true;
    }
    const bool waiting_for_cascade = cascade_ >= 0 && left[cascade_] > 0 && lowres_end > now;
    if (waiting_for_cascade || !started) {
      double next_event = lowres_end > now ? lowres_end : 1e300;
      for (double t : free_at)
        if (t > now) next_event = std::min(next_event, t);
      if (next_event < 1e300) {
        free_at[0] = next_event;
        search(free_at, left, lowres_end, latest_end);
      }
    }
  }
  int index_of(const std::string& c) const {
    auto it = std::find(classes_.begin(), classes_.end(), c);
    return it == classes_.end() ? -1 : static_cast<int>(it - classes_.begin());
  }

  int workers_;
  double best_;
  int lowres_ = -1, cascade_ = -1;
  std::vector<std::string> classes_;
  std::vector<double> cost_;
  std::vector<int> left_;
  std::map<std::string, double> seen_;
};

TEST(JobGraph, CascadeFoldsWaitForAllFiveLowresFolds) {
  const auto g = JobGraph::for_sweep(kAll, kFolds, typical_cost);
  ASSERT_EQ(g.jobs.size(), 20u);
  const int cascade0 = g.find("3d_cascade_fullres", 0);
  ASSERT_GE(cascade0, 0);
  std::vector<int> deps = g.jobs[cascade0].depends_on;
  ASSERT_EQ(deps.size(), 5u);
  for (int d : deps) EXPECT_EQ(g.jobs[d].configuration, "3d_lowres");
  EXPECT_DOUBLE_EQ(g.critical_path(), 1.0 + 1.0);
}

TEST(JobGraph, CascadeOnOneFoldStillTrainsEveryLowresFold) {
  const auto g = JobGraph::for_sweep({"3d_cascade_fullres"}, {2}, typical_cost);
  EXPECT_EQ(g.jobs.size(), 6u);
  EXPECT_EQ(g.find("3d_lowres", 4), 4);
  EXPECT_EQ(g.find("3d_cascade_fullres", 2), 5);
}

TEST(Scheduler, TakesLowresBeforeEqualCostIndependentJobs) {
  const auto g = JobGraph::for_sweep(kAll, kFolds, [](const std::string&) { return 1.0; });
  Scheduler s(g);
  for (int i = 0; i < 5; ++i) {
    auto j = s.take_next();
    ASSERT_TRUE(j.has_value());
    EXPECT_EQ(g.jobs[*j].configuration, "3d_lowres") << "critical-path jobs go first";
  }
}

TEST(Scheduler, FailedLowresBlocksTheCascadeButNotOthers) {
  const auto g = JobGraph::for_sweep({"3d_fullres", "3d_cascade_fullres"}, {0}, typical_cost);
  Scheduler s(g);
  std::vector<int> taken;
  while (auto j = s.take_next()) taken.push_back(*j);
  for (int j : taken) s.finish(j, g.jobs[j].configuration != "3d_lowres" || g.jobs[j].fold != 3);
  EXPECT_EQ(s.state(g.find("3d_cascade_fullres", 0)), JobState::kBlocked);
  EXPECT_EQ(s.state(g.find("3d_fullres", 0)), JobState::kDone);
  EXPECT_TRUE(s.settled());
  EXPECT_EQ(s.count(JobState::kFailed), 1);
}

TEST(Scheduler, ResumedSweepSkipsDoneJobs) {
  const auto g = JobGraph::for_sweep({"2d"}, kFolds, typical_cost);
  Scheduler s(g, {0, 1, 2});
  int taken = 0;
  while (auto j = s.take_next()) {
    EXPECT_GE(*j, 3);
    ++taken;
  }
  EXPECT_EQ(taken, 2);
}

TEST(Scheduler, FinishingAJobThatIsNotRunningIsABug) {
  Scheduler s(JobGraph::for_sweep({"2d"}, {0}, typical_cost));
  EXPECT_THROW(s.finish(0, true), InternalError);
}

// Makespan of the dynamic list schedule on 1..64 groups for 3 configurations x 5 folds plus the
// cascade, against max(total / W, critical path). Jobs are indivisible, so for some W no schedule
// at all gets within 10 % of that bound (15 equal 3D jobs and five 2d jobs on 6 groups need
// 3.56, not 3.15); there the assertion compares with the best possible schedule, found by search.
TEST(Scheduler, MakespanWithinTenPercentOfTheLowerBound) {
  const auto g = JobGraph::for_sweep(kAll, kFolds, typical_cost);
  std::printf("%8s %10s %10s %10s %10s %12s %10s\n", "workers", "makespan", "total/W", "crit.path",
              "ratio", "optimal", "ratio");
  for (int w = 1; w <= 64; ++w) {
    const double makespan = simulate_makespan(g, w);
    const double simple = std::max(g.total_cost() / w, g.critical_path());
    const double bound = makespan > 1.10 * simple ? OptimalMakespan(g, w, makespan).solve() : simple;
    std::printf("%8d %10.3f %10.3f %10.3f %10.3f %12.3f %10.3f\n", w, makespan, g.total_cost() / w,
                g.critical_path(), makespan / simple, bound, makespan / bound);
    EXPECT_LE(makespan, 1.10 * bound + 1e-9) << "workers " << w;
  }
}

}  // namespace
}  // namespace nnfleet::launcher
