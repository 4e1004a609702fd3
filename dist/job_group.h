#pragma once
// A job's group of ranks: the communicator that one (configuration, fold) job trains on.
// No LibTorch here.
//
// Groups form from any set of world ranks without involving the others (MPI_Comm_create_group),
// so the launcher can form and dissolve groups while other groups are busy training. Several
// groups may exist at once; a rank belongs to at most one forming group at a time.

#include <string>
#include <vector>

#include "dist/mpi_world.h"

namespace nnfleet::dist {

class JobGroup {
 public:
  // Collective over `members` only (world ranks of `world`; sorted, no duplicates, the caller
  // among them). `tag` must differ between groups formed at the same time (the job index is a
  // good tag). The group communicator carries `options` (job name, timeout) for every collective.
  // Throws nnfleet::Error for a bad member list.
  JobGroup(const Comm& world, std::vector<int> members, int tag, CollectiveOptions options);
  ~JobGroup() = default;
  JobGroup(const JobGroup&) = delete;
  JobGroup& operator=(const JobGroup&) = delete;
  JobGroup(JobGroup&&) noexcept = default;
  JobGroup& operator=(JobGroup&&) noexcept = default;

  const Comm& comm() const { return comm_; }
  const std::string& job() const { return comm_.collective_options().job; }
  const std::vector<int>& members() const { return members_; }  // world ranks, group order
  int rank() const { return rank_; }                               // rank inside the group
  int size() const { return static_cast<int>(members_.size()); }
  // The group's first rank writes logs, checkpoints and plots.
  bool is_first() const { return rank_ == 0; }

  // Collective over the group: a barrier (with the group's timeout) so no member still uses the
  // communicator, then frees it. The destructor frees without the barrier. Idempotent.
  void dissolve();
  bool active() const { return comm_.valid(); }

 private:
  std::vector<int> members_;
  int rank_ = -1;
  Comm comm_;
};

// Splits world ranks 0..world_size-1 into consecutive groups of `ranks_per_job` (the last group
// is smaller when world_size does not divide). Throws nnfleet::Error if
// ranks_per_job < 1.
std::vector<std::vector<int>> consecutive_groups(int world_size, int ranks_per_job);

}  // namespace nnfleet::dist
