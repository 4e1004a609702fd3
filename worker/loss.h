#pragma once
// nnU-Net v2's training loss (method reference 5.2): soft Dice without background plus
// cross-entropy, weights 1:1, summed over the deep-supervision outputs with weights 1/2^i
// normalised to 1 and the lowest-resolution output weighted 0.
//
// Shapes: logits [b, K, *spatial] (K classes incl. background, 2 or 3 spatial axes); target
// [b, 1, *spatial] float or integer label values in [0, K) (the data loader has already mapped -1
// to 0). The loss is computed in float32 for float32 or fp16 logits (autocast-safe), in double for
// double logits.
//
// Batch Dice over a group: with batch_dice, the per-class statistics (intersection, predicted
// sum, reference sum) are summed over the batch axis and, when a StatsReducer is set, over the
// group's ranks (soft_dice_loss: one differentiable collective per call; DeepSupervisionLoss: one
// per step for all its outputs together). See Note [batch dice gradient] in loss.cpp.

#include <torch/types.h>

#include <functional>
#include <vector>

namespace nnfleet::worker {

// Sums a statistics tensor over the group, differentiably: forward returns the group sum,
// backward passes the group-summed gradient (dist::allreduce_sum_differentiable). Empty = one rank.
using StatsReducer = std::function<torch::Tensor(const torch::Tensor&)>;

struct DiceOptions {
  bool batch_dice = false;  // the configuration's batch_dice
  double smooth = 1e-5;
  bool do_bg = false;
};

// MemoryEfficientSoftDiceLoss: softmax, one-hot target, per class (I, P, G) summed over spatial
// axes (and batch if batch_dice), dc = (2I + smooth) / max(G + P + smooth, 1e-8); returns -mean(dc).
torch::Tensor soft_dice_loss(const torch::Tensor& logits, const torch::Tensor& target,
                             const DiceOptions& options, const StatsReducer& reduce = {});

// Mean cross-entropy over all voxels of the batch.
torch::Tensor cross_entropy_loss(const torch::Tensor& logits, const torch::Tensor& target);

// CE + Dice for one output scale.
torch::Tensor dice_ce_loss(const torch::Tensor& logits, const torch::Tensor& target,
                           const DiceOptions& options, const StatsReducer& reduce = {});

// v2 weights for `n_outputs` deep-supervision outputs: 1/2^i, the last (lowest resolution) 0,
// normalised to sum 1. n_outputs == 1 gives {1}. Throws nnfleet::Error if n_outputs < 1.
std::vector<double> deep_supervision_weights(int n_outputs);

// Deep-supervision loss: sum_i w_i * dice_ce_loss(outputs[i], targets[i]); outputs with weight 0
// are not evaluated (as nnunetv2's DeepSupervisionWrapper). With batch Dice and a StatsReducer,
// the statistics of all outputs are reduced in one collective. Throws nnfleet::Error on a count
// mismatch.
class DeepSupervisionLoss {
 public:
  DeepSupervisionLoss(int n_outputs, DiceOptions dice, StatsReducer reduce = {});
  torch::Tensor operator()(const std::vector<torch::Tensor>& outputs,
                           const std::vector<torch::Tensor>& targets) const;
  const std::vector<double>& weights() const { return weights_; }

 private:
  std::vector<double> weights_;
  DiceOptions dice_;
  StatsReducer reduce_;
};

}  // namespace nnfleet::worker
