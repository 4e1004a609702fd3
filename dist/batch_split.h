#pragma once
// The nnU-Net v2 split of a job's global batch over its group (nnUNetTrainer.
// _set_batch_size_and_oversample): every rank gets global / size samples and the first
// global % size ranks one more; rank r takes the contiguous global sample slots [begin, end).
// The data loader's foreground oversampling follows the global slot index
// (worker::foreground_flags_for_rank). No LibTorch here.

#include <cstddef>
#include <vector>

namespace nnfleet::dist {

struct BatchShare {
  int begin = 0;  // first global sample slot of this rank
  int end = 0;    // one past the last
  int size() const { return end - begin; }
};

// Throws nnfleet::Error when global_batch < group_size (nnU-Net refuses that too) or the
// arguments are out of range.
BatchShare batch_share(int global_batch, int group_rank, int group_size);

// Factor for this rank's mean-over-local-samples loss so that the group's averaged gradient
// equals the gradient of the mean over the whole global batch: local * size / global.
// It is 1 when the batch divides evenly. (nnU-Net v2 itself does not scale, so its uneven splits
// weight samples slightly unequally; with the factor, 1-rank and N-rank runs match.)
double loss_scale(int global_batch, int group_rank, int group_size);

// The fold's final validation shared out over the group as nnU-Net v2 does (val_keys[rank::size]):
// indices rank, rank + size, ... of `count` items. Ranks may get different counts, so whatever
// follows must not assume equal work (gather results with one collective at the end).
std::vector<std::size_t> round_robin_share(std::size_t count, int group_rank, int group_size);

}  // namespace nnfleet::dist
