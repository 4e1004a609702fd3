#include "worker/loss.h"

#include <ATen/ops/cat.h>
#include <ATen/ops/cross_entropy_loss.h>
#include <ATen/ops/softmax.h>
#include <ATen/ops/stack.h>
#include <torch/types.h>

#include <numeric>
#include <string>

#include "common/error.h"

namespace nnfleet::worker {
namespace {

std::vector<int64_t> spatial_axes(const torch::Tensor& t) {
  std::vector<int64_t> axes(t.dim() - 2);
  std::iota(axes.begin(), axes.end(), 2);
  return axes;
}

// float32 for float32 and lower precisions (autocast outputs), double stays double.
torch::ScalarType compute_type(const torch::Tensor& t) {
  return t.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
}

void check_shapes(const torch::Tensor& logits, const torch::Tensor& target) {
  if (logits.dim() < 3 || target.dim() != logits.dim() || target.size(1) != 1 ||
      target.size(0) != logits.size(0) ||
      target.sizes().slice(2) != logits.sizes().slice(2))
    throw Error("[loss] target " + c10::str(target.sizes()) + " does not match logits " +
                c10::str(logits.sizes()) + " (expected [b, 1, *spatial])");
}

}  // namespace

// Note [batch dice gradient]: nnU-Net v2 (DDP) all-gathers the Dice statistics with a gradient
// (AllGatherGrad) so every rank computes the Dice of the global batch; its backward sums the
// gradient over ranks, and DDP then averages the parameter gradients. The StatsReducer has the
// same forward/backward (sum over the group; dist::allreduce_sum_differentiable), so with
// GradientSync's averaging an N-rank step equals a 1-rank step on the whole batch.
namespace {

// [3, K'] (batch Dice: summed over the batch) or [3, B, K'] of intersection, prediction sum and
// reference sum of the softmax of `logits` against `target`.
torch::Tensor dice_statistics(const torch::Tensor& logits, const torch::Tensor& target,
                              const DiceOptions& options) {
  check_shapes(logits, target);
  torch::Tensor probs = at::softmax(logits.to(compute_type(logits)), 1);
  torch::Tensor onehot;
  {
    torch::NoGradGuard no_grad;
    onehot = torch::zeros_like(probs).scatter_(1, target.to(torch::kLong), 1.0);
  }
  if (!options.do_bg) {
    probs = probs.slice(1, 1);
    onehot = onehot.slice(1, 1);
  }
  const auto axes = spatial_axes(probs);
  torch::Tensor stats = at::stack({(probs * onehot).sum(axes), probs.sum(axes), onehot.sum(axes)});
  return options.batch_dice ? stats.sum(1) : stats;
}

torch::Tensor dice_loss_from_statistics(const torch::Tensor& stats, const DiceOptions& options) {
  const torch::Tensor intersect = stats[0], pred = stats[1], gt = stats[2];
  const torch::Tensor dc =
      (2 * intersect + options.smooth) / (gt + pred + options.smooth).clamp_min(1e-8);
  return -dc.mean();
}

}  // namespace

torch::Tensor soft_dice_loss(const torch::Tensor& logits, const torch::Tensor& target,
                             const DiceOptions& options, const StatsReducer& reduce) {
  torch::Tensor stats = dice_statistics(logits, target, options);
  if (options.batch_dice && reduce) stats = reduce(stats);
  return dice_loss_from_statistics(stats, options);
}

torch::Tensor cross_entropy_loss(const torch::Tensor& logits, const torch::Tensor& target) {
  check_shapes(logits, target);
  return at::cross_entropy_loss(logits.to(compute_type(logits)),
                               target.select(1, 0).to(torch::kLong));
}

torch::Tensor dice_ce_loss(const torch::Tensor& logits, const torch::Tensor& target,
                           const DiceOptions& options, const StatsReducer& reduce) {
  return worker::cross_entropy_loss(logits, target) + soft_dice_loss(logits, target, options, reduce);
}

std::vector<double> deep_supervision_weights(int n_outputs) {
  if (n_outputs < 1)
    throw Error("[loss] deep supervision needs at least one output, got " +
                std::to_string(n_outputs));
  if (n_outputs == 1) return {1.0};
  std::vector<double> w(n_outputs);
  for (int i = 0; i < n_outputs; ++i) w[i] = 1.0 / static_cast<double>(1LL << i);
  w.back() = 0.0;
  const double sum = std::accumulate(w.begin(), w.end(), 0.0);
  for (double& x : w) x /= sum;
  return w;
}

DeepSupervisionLoss::DeepSupervisionLoss(int n_outputs, DiceOptions dice, StatsReducer reduce)
    : weights_(deep_supervision_weights(n_outputs)), dice_(dice), reduce_(std::move(reduce)) {}

torch::Tensor DeepSupervisionLoss::operator()(const std::vector<torch::Tensor>& outputs,
                                              const std::vector<torch::Tensor>& targets) const {
  if (outputs.size() != weights_.size() || targets.size() < outputs.size())
    throw Error("[loss] " + std::to_string(outputs.size()) + " outputs and " +
                std::to_string(targets.size()) + " targets for " +
                std::to_string(weights_.size()) + " deep-supervision weights");
  std::vector<size_t> active;
  for (size_t i = 0; i < outputs.size(); ++i) {
    if (weights_[i] != 0.0) active.push_back(i);
  }
  // Batch Dice over a group: the statistics of every output go through one collective per step
  // (flattened, reduced, split back) instead of one per deep-supervision output.
  std::vector<torch::Tensor> stats;
  for (size_t i : active) stats.push_back(dice_statistics(outputs[i], targets[i], dice_));
  if (dice_.batch_dice && reduce_ && !stats.empty()) {
    std::vector<torch::Tensor> flat;
    std::vector<int64_t> sizes;
    for (const auto& s : stats) {
      flat.push_back(s.reshape({-1}));
      sizes.push_back(s.numel());
    }
    const auto reduced = reduce_(at::cat(flat)).split_with_sizes(sizes);
    for (size_t j = 0; j < stats.size(); ++j) stats[j] = reduced[j].view(stats[j].sizes());
  }
  torch::Tensor total;
  for (size_t j = 0; j < active.size(); ++j) {
    const size_t i = active[j];
    torch::Tensor term = weights_[i] * (worker::cross_entropy_loss(outputs[i], targets[i]) +
                                        dice_loss_from_statistics(stats[j], dice_));
    total = total.defined() ? total + term : term;
  }
  return total;
}

}  // namespace nnfleet::worker
