#pragma once
// Mixed precision on CUDA (method reference 5.1): fp16 autocast for the forward pass and loss,
// and a gradient scaler with PyTorch's GradScaler defaults (initial scale 2^16, growth x2 every
// 2000 clean steps, back-off x0.5 on an overflow, the step skipped when a gradient is inf/NaN).
// A disabled scaler (CPU, or --amp off) is a no-op pass-through, so the training step has one path.

#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include <vector>

namespace nnfleet::worker {

// RAII: fp16 autocast for CUDA ops on this thread while alive (no-op when !enabled).
// Not nestable with other autocast users on the same thread.
class AutocastGuard {
 public:
  explicit AutocastGuard(bool enabled);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool enabled_;
  bool previous_ = false;
};

class GradScaler {
 public:
  // `device` holds the scale tensors (the gradients' device).
  GradScaler(bool enabled, torch::Device device);

  bool enabled() const { return enabled_; }
  // loss * scale (loss unchanged when disabled).
  torch::Tensor scale(const torch::Tensor& loss) const;
  // Divides the gradients by the scale in place and records whether any is inf/NaN.
  void unscale(const std::vector<torch::Tensor>& parameters);
  // Runs optimizer.step() unless unscale() found an inf/NaN; returns whether it stepped.
  bool step(torch::optim::Optimizer& optimizer);
  // Adjusts the scale for the next iteration (after step()).
  void update();

  double current_scale() const;
  // [scale, growth_tracker] as CPU float tensors, for checkpoints; restore with load_state().
  std::vector<torch::Tensor> state() const;
  void load_state(const std::vector<torch::Tensor>& state);

  static constexpr double kInitialScale = 65536.0;
  static constexpr double kGrowthFactor = 2.0, kBackoffFactor = 0.5;
  static constexpr int64_t kGrowthInterval = 2000;

 private:
  bool enabled_;
  torch::Tensor scale_, growth_tracker_, found_inf_;
};

}  // namespace nnfleet::worker
