#include "dist/job_group.h"

#include <algorithm>

#include "common/error.h"

namespace nnfleet::dist {
namespace {

std::string list_text(const std::vector<int>& ranks) {
  std::string text = "[";
  for (std::size_t i = 0; i < ranks.size(); ++i) text += (i ? "," : "") + std::to_string(ranks[i]);
  return text + "]";
}

}  // namespace

JobGroup::JobGroup(const Comm& world, std::vector<int> members, int tag,
                   CollectiveOptions options)
    : members_(std::move(members)) {
  const int me = world.rank();
  const std::string where = "[dist] job '" + options.job + "' group " + list_text(members_);
  if (members_.empty()) throw Error(where + ": a group needs at least one rank");
  if (!std::is_sorted(members_.begin(), members_.end()) ||
      std::adjacent_find(members_.begin(), members_.end()) != members_.end())
    throw Error(where + ": world ranks must be sorted and distinct");
  if (members_.front() < 0 || members_.back() >= world.size())
    throw Error(where + ": ranks must lie in 0.." + std::to_string(world.size() - 1));
  const auto it = std::find(members_.begin(), members_.end(), me);
  if (it == members_.end())
    throw Error(where + ": world rank " + std::to_string(me) + " is not a member");
  rank_ = static_cast<int>(it - members_.begin());
  comm_ = world.create_group(members_, tag);
  comm_.set_collective_options(std::move(options));
}

void JobGroup::dissolve() {
  if (!comm_.valid()) return;
  comm_.barrier();
  comm_ = Comm();
}

std::vector<std::vector<int>> consecutive_groups(int world_size, int ranks_per_job) {
  if (ranks_per_job < 1)
    throw Error("[dist] ranks per job must be at least 1, got " + std::to_string(ranks_per_job));
  std::vector<std::vector<int>> groups;
  for (int first = 0; first < world_size; first += ranks_per_job) {
    std::vector<int> group;
    for (int r = first; r < std::min(world_size, first + ranks_per_job); ++r) group.push_back(r);
    groups.push_back(std::move(group));
  }
  return groups;
}

}  // namespace nnfleet::dist
