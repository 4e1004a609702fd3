#pragma once
// Which GPU each rank uses, and the check that groups never share one. No LibTorch here, so the
// launcher can validate a layout before any tensor exists, and tests run on CPU machines.
//
// Rule: device index = local rank (rank among the ranks on this node, from a shared-memory split)
// modulo the GPUs visible to the process. Two ranks of *different* groups on one GPU would make
// the jobs compete for memory and time; two ranks of the *same* group on one GPU cannot form an
// NCCL communicator (NCCL does not support a device twice in one communicator). Both are errors.

#include <string>
#include <vector>

#include "dist/mpi_world.h"

namespace nnfleet::dist {

// Device index for a local rank; -1 (CPU) when no GPU is visible.
int gpu_for_local_rank(int local_rank, int visible_gpus);

struct RankPlacement {
  int world_rank = 0;
  int group = 0;        // job group index
  std::string host;     // node name
  std::string device;   // physical identity of the GPU (PCI bus id, or "cuda:<index>"); "cpu" = none
};

// Throws nnfleet::Error naming the host, the device, and the ranks and groups involved when two
// groups share a GPU, or when one group has two ranks on the same GPU. CPU ranks are never in
// conflict.
void check_gpu_layout(const std::vector<RankPlacement>& placements);

// Collective over `world`: every rank contributes (group, host, device); every rank then runs
// check_gpu_layout on the whole layout, so all ranks throw the same error together.
std::vector<RankPlacement> verify_gpu_layout(const Comm& world, int group,
                                             const std::string& device);

}  // namespace nnfleet::dist
