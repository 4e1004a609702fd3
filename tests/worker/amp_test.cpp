// The gradient scaler (PyTorch GradScaler semantics), exercised on CPU tensors; autocast itself
// only acts on CUDA and is checked by the GPU run.

#include "worker/amp.h"

#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>

#include "common/error.h"

namespace nnfleet::worker {
namespace {

TEST(GradScaler, DisabledScalerPassesEverythingThrough) {
  GradScaler scaler(false, torch::kCPU);
  auto p = torch::ones({1}).requires_grad_(true);
  const auto loss = (p * 3).sum();
  EXPECT_TRUE(torch::equal(scaler.scale(loss), loss));
  scaler.scale(loss).backward();
  scaler.unscale({p});
  EXPECT_DOUBLE_EQ(p.grad().item<double>(), 3.0);
}

TEST(GradScaler, ScalesTheLossAndUnscalesTheGradients) {
  GradScaler scaler(true, torch::kCPU);
  auto p = torch::ones({1}).requires_grad_(true);
  torch::optim::SGD sgd({p}, torch::optim::SGDOptions(0.1));
  const auto loss = (p * 3).sum();
  EXPECT_DOUBLE_EQ(scaler.scale(loss).item<double>(), 3.0 * GradScaler::kInitialScale);
  scaler.scale(loss).backward();
  scaler.unscale({p});
  EXPECT_DOUBLE_EQ(p.grad().item<double>(), 3.0);
  EXPECT_TRUE(scaler.step(sgd));
  EXPECT_NEAR(p.item<double>(), 1.0 - 0.3, 1e-6);
  scaler.update();
  EXPECT_DOUBLE_EQ(scaler.current_scale(), GradScaler::kInitialScale);
}

TEST(GradScaler, SkipsTheStepAndBacksOffOnOverflow) {
  GradScaler scaler(true, torch::kCPU);
  auto p = torch::ones({1}).requires_grad_(true);
  torch::optim::SGD sgd({p}, torch::optim::SGDOptions(0.1));
  p.mutable_grad() = torch::full({1}, std::numeric_limits<float>::infinity());
  scaler.unscale({p});
  EXPECT_FALSE(scaler.step(sgd));
  EXPECT_DOUBLE_EQ(p.item<double>(), 1.0);
  scaler.update();
  EXPECT_DOUBLE_EQ(scaler.current_scale(), GradScaler::kInitialScale * 0.5);
}

TEST(GradScaler, StateRoundTrips) {
  GradScaler a(true, torch::kCPU), b(true, torch::kCPU);
  auto p = torch::ones({1}).requires_grad_(true);
  p.mutable_grad() = torch::full({1}, std::numeric_limits<float>::quiet_NaN());
  a.unscale({p});
  a.update();
  b.load_state(a.state());
  EXPECT_DOUBLE_EQ(b.current_scale(), a.current_scale());
  EXPECT_THROW(b.load_state({torch::ones({1})}), Error);
}

TEST(AutocastGuard, DisabledGuardLeavesAutocastOff) {
  {
    AutocastGuard guard(false);
    EXPECT_FALSE(at::autocast::is_autocast_enabled(at::kCUDA));
  }
  {
    AutocastGuard guard(true);
    EXPECT_TRUE(at::autocast::is_autocast_enabled(at::kCUDA));
  }
  EXPECT_FALSE(at::autocast::is_autocast_enabled(at::kCUDA));
}

}  // namespace
}  // namespace nnfleet::worker
