#include "dist/batch_split.h"

#include <string>

#include "common/error.h"

namespace nnfleet::dist {

BatchShare batch_share(int global_batch, int group_rank, int group_size) {
  if (group_size < 1 || group_rank < 0 || group_rank >= group_size)
    throw Error("[dist] batch split: rank " + std::to_string(group_rank) + " of a group of " +
                std::to_string(group_size) + " is out of range");
  if (global_batch < group_size)
    throw Error("[dist] batch split: the global batch of " + std::to_string(global_batch) +
                " samples is smaller than the group of " + std::to_string(group_size) +
                " ranks; use fewer ranks per job (nnU-Net refuses this too)");
  const int base = global_batch / group_size;
  const int extra = global_batch % group_size;
  BatchShare share;
  share.begin = group_rank * base + (group_rank < extra ? group_rank : extra);
  share.end = share.begin + base + (group_rank < extra ? 1 : 0);
  return share;
}

double loss_scale(int global_batch, int group_rank, int group_size) {
  const BatchShare share = batch_share(global_batch, group_rank, group_size);
  return static_cast<double>(share.size()) * group_size / global_batch;
}

std::vector<std::size_t> round_robin_share(std::size_t count, int group_rank, int group_size) {
  if (group_size < 1 || group_rank < 0 || group_rank >= group_size)
    throw Error("[dist] validation split: rank " + std::to_string(group_rank) + " of a group of " +
                std::to_string(group_size) + " is out of range");
  std::vector<std::size_t> mine;
  for (std::size_t i = static_cast<std::size_t>(group_rank); i < count;
       i += static_cast<std::size_t>(group_size))
    mine.push_back(i);
  return mine;
}

}  // namespace nnfleet::dist
