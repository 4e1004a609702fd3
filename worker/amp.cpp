#include "worker/amp.h"

#include <ATen/autocast_mode.h>
#include <ATen/ops/_amp_foreach_non_finite_check_and_unscale.h>
#include <ATen/ops/_amp_update_scale.h>

#include "common/error.h"

namespace nnfleet::worker {

AutocastGuard::AutocastGuard(bool enabled) : enabled_(enabled) {
  if (!enabled_) return;
  previous_ = at::autocast::is_autocast_enabled(at::kCUDA);
  at::autocast::set_autocast_enabled(at::kCUDA, true);
  at::autocast::set_autocast_dtype(at::kCUDA, at::kHalf);
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (!enabled_) return;
  // Leaving the outermost autocast region frees the cached fp16 weight copies.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(at::kCUDA, previous_);
}

GradScaler::GradScaler(bool enabled, torch::Device device) : enabled_(enabled) {
  const auto options = torch::TensorOptions().dtype(torch::kFloat).device(device);
  scale_ = torch::full({1}, kInitialScale, options);
  growth_tracker_ = torch::zeros({1}, options.dtype(torch::kInt));
  found_inf_ = torch::zeros({1}, options);
}

torch::Tensor GradScaler::scale(const torch::Tensor& loss) const {
  return enabled_ ? loss * scale_.to(loss.dtype()) : loss;
}

void GradScaler::unscale(const std::vector<torch::Tensor>& parameters) {
  if (!enabled_) return;
  found_inf_.zero_();
  std::vector<torch::Tensor> grads;
  for (const auto& p : parameters)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return;
  const torch::Tensor inv_scale = scale_.to(torch::kDouble).reciprocal().to(torch::kFloat);
  at::_amp_foreach_non_finite_check_and_unscale_(grads, found_inf_, inv_scale);
}

bool GradScaler::step(torch::optim::Optimizer& optimizer) {
  if (enabled_ && found_inf_.item<float>() != 0.0f) return false;
  optimizer.step();
  return true;
}

void GradScaler::update() {
  if (!enabled_) return;
  at::_amp_update_scale_(scale_, growth_tracker_, found_inf_, kGrowthFactor, kBackoffFactor,
                         kGrowthInterval);
}

double GradScaler::current_scale() const { return scale_.item<double>(); }

std::vector<torch::Tensor> GradScaler::state() const {
  return {scale_.to(torch::kCPU).clone(), growth_tracker_.to(torch::kCPU, torch::kFloat).clone()};
}

void GradScaler::load_state(const std::vector<torch::Tensor>& state) {
  if (state.size() != 2 || state[0].numel() != 1 || state[1].numel() != 1)
    throw Error("[amp] grad scaler state must be [scale, growth_tracker]");
  scale_.copy_(state[0]);
  growth_tracker_.copy_(state[1].to(torch::kInt));
}

}  // namespace nnfleet::worker
