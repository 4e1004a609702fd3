#include "dist/gpu_layout.h"

#include <unistd.h>

#include <map>
#include <sstream>

#include "common/error.h"

namespace nnfleet::dist {

int gpu_for_local_rank(int local_rank, int visible_gpus) {
  if (visible_gpus <= 0) return -1;
  return local_rank % visible_gpus;
}

void check_gpu_layout(const std::vector<RankPlacement>& placements) {
  // (host, device) -> first rank seen on it
  std::map<std::pair<std::string, std::string>, const RankPlacement*> owner;
  for (const auto& p : placements) {
    if (p.device.empty() || p.device == "cpu") continue;
    const auto [it, fresh] = owner.emplace(std::make_pair(p.host, p.device), &p);
    if (fresh) continue;
    const RankPlacement& first = *it->second;
    std::ostringstream text;
    text << "[dist] GPU " << p.device << " on host " << p.host << " is used by world rank "
         << first.world_rank << " (group " << first.group << ") and world rank " << p.world_rank
         << " (group " << p.group << "): ";
    if (first.group == p.group)
      text << "one job's ranks need distinct GPUs (NCCL cannot use a device twice in one "
              "communicator); use fewer ranks per node or more GPUs";
    else
      text << "two jobs must not share a GPU; start at most as many ranks per node as it has "
              "GPUs, or check CUDA_VISIBLE_DEVICES";
    throw Error(text.str());
  }
}

namespace {

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "unknown-host";
  return name;
}

}  // namespace

std::vector<RankPlacement> verify_gpu_layout(const Comm& world, int group,
                                             const std::string& device) {
  const std::string mine = std::to_string(group) + '\n' + host_name() + '\n' + device;
  const auto all = world.allgather(mine);
  std::vector<RankPlacement> placements;
  for (std::size_t r = 0; r < all.size(); ++r) {
    RankPlacement p;
    p.world_rank = static_cast<int>(r);
    std::istringstream in(all[r]);
    std::string group_text;
    std::getline(in, group_text);
    std::getline(in, p.host);
    std::getline(in, p.device);
    p.group = std::stoi(group_text);
    placements.push_back(std::move(p));
  }
  check_gpu_layout(placements);
  return placements;
}

}  // namespace nnfleet::dist
