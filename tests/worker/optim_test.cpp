// SGD settings, the poly learning-rate schedule and gradient clipping, against hand-computed
// values (the two SGD steps also equal torch.optim.SGD's in Python: 0.990049421787262,
// 0.9901230335235596).

#include "worker/optim.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "common/error.h"

namespace nnfleet::worker {
namespace {

TEST(Optim, PolyScheduleMatchesHandComputedValues) {
  EXPECT_DOUBLE_EQ(poly_lr(0, 1000), 1e-2);
  EXPECT_NEAR(poly_lr(500, 1000), 1e-2 * std::pow(0.5, 0.9), 1e-15);
  EXPECT_NEAR(poly_lr(500, 1000), 0.0053588673, 1e-9);
  EXPECT_NEAR(poly_lr(999, 1000), 1e-2 * std::pow(1e-3, 0.9), 1e-15);
  EXPECT_DOUBLE_EQ(poly_lr(1000, 1000), 0.0);
  EXPECT_NEAR(poly_lr(1, 4, 0.1, 1.0), 0.075, 1e-15);
}

TEST(Optim, PolyScheduleRejectsEpochsOutsideTheRange) {
  EXPECT_THROW(poly_lr(1001, 1000), Error);
  EXPECT_THROW(poly_lr(-1, 1000), Error);
  EXPECT_THROW(poly_lr(0, 0), Error);
}

TEST(Optim, SgdStepsWithNesterovMomentumAndWeightDecay) {
  auto p = torch::ones({1}).requires_grad_(true);
  auto sgd = make_sgd({p});
  // Step 1: d = g + wd p = 0.50003; buf = d; p -= lr (d + 0.99 buf).
  p.mutable_grad() = torch::full({1}, 0.5);
  sgd->step();
  const double d1 = 0.5 + 3e-5;
  const double p1 = 1.0 - 1e-2 * (d1 + 0.99 * d1);
  EXPECT_NEAR(p.item<double>(), p1, 1e-7);
  EXPECT_NEAR(p.item<double>(), 0.990049421787262, 1e-7);
  // Step 2: buf = 0.99 buf + d.
  p.mutable_grad() = torch::full({1}, -0.25);
  sgd->step();
  const double d2 = -0.25 + 3e-5 * p1;
  const double buf = 0.99 * d1 + d2;
  EXPECT_NEAR(p.item<double>(), p1 - 1e-2 * (d2 + 0.99 * buf), 1e-7);
  EXPECT_NEAR(p.item<double>(), 0.9901230335235596, 1e-7);
}

TEST(Optim, SetsTheLearningRateOfEveryGroup) {
  auto p = torch::ones({2}).requires_grad_(true);
  auto sgd = make_sgd({p});
  EXPECT_DOUBLE_EQ(learning_rate(*sgd), 1e-2);
  set_learning_rate(*sgd, poly_lr(10, 100));
  EXPECT_DOUBLE_EQ(learning_rate(*sgd), poly_lr(10, 100));
}

TEST(Optim, ClipsTheGlobalGradientNorm) {
  auto a = torch::zeros({1}).requires_grad_(true);
  auto b = torch::zeros({1}).requires_grad_(true);
  a.mutable_grad() = torch::full({1}, 30.0);
  b.mutable_grad() = torch::full({1}, 40.0);
  EXPECT_NEAR(clip_gradients({a, b}, 12.0), 50.0, 1e-4);
  EXPECT_NEAR(a.grad().item<double>(), 30.0 * 12 / 50, 1e-4);
  EXPECT_NEAR(b.grad().item<double>(), 40.0 * 12 / 50, 1e-4);
  // Below the limit nothing changes.
  EXPECT_NEAR(clip_gradients({a, b}, 100.0), 12.0, 1e-4);
  EXPECT_NEAR(a.grad().item<double>(), 7.2, 1e-4);
}

}  // namespace
}  // namespace nnfleet::worker
