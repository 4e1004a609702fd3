// Dice + CE loss and deep-supervision weights: hand-computed cases and nnunetv2's values
// (tests/data/worker/dc_ce_loss_reference.json, made by tests/data/models/generate_reference.py).

#include "worker/loss.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "common/atomic_file.h"
#include "common/error.h"
#include "tests/support/test_paths.h"

namespace nnfleet::worker {
namespace {

constexpr double kSmooth = 1e-5;

torch::Tensor formula(std::vector<int64_t> shape, bool target) {
  int64_t n = 1;
  for (auto s : shape) n *= s;
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i)
    v[i] = target ? static_cast<double>((i * 7 + i / 5) % 3) : 2.0 * std::sin(0.37 * i);
  return torch::tensor(v, torch::kDouble).reshape(shape);
}

TEST(Loss, SoftDiceOfUniformPredictionMatchesHandComputation) {
  // softmax(0, 0) = 0.5 everywhere; class 1 present in one of two voxels: I = 0.5, P = 1, G = 1.
  const auto logits = torch::zeros({1, 2, 1, 2});
  const auto target = torch::tensor({0.f, 1.f}).reshape({1, 1, 1, 2});
  const double dc = (2 * 0.5 + kSmooth) / (1 + 1 + kSmooth);
  EXPECT_NEAR(soft_dice_loss(logits, target, {}).item<double>(), -dc, 1e-7);
  EXPECT_NEAR(worker::cross_entropy_loss(logits, target).item<double>(), std::log(2.0), 1e-6);
  EXPECT_NEAR(dice_ce_loss(logits, target, {}).item<double>(), std::log(2.0) - dc, 1e-6);
}

TEST(Loss, BatchDiceSumsStatisticsOverTheBatchBeforeTheRatio) {
  // Sample 0: class 1 everywhere (I 1, P 1, G 2); sample 1: background only (I 0, P 1, G 0).
  const auto logits = torch::zeros({2, 2, 1, 2});
  const auto target = torch::tensor({1.f, 1.f, 0.f, 0.f}).reshape({2, 1, 1, 2});
  const double per_sample = ((2 + kSmooth) / (3 + kSmooth) + kSmooth / (1 + kSmooth)) / 2;
  const double batch = (2 + kSmooth) / (4 + kSmooth);
  EXPECT_NEAR(soft_dice_loss(logits, target, {false}).item<double>(), -per_sample, 1e-7);
  EXPECT_NEAR(soft_dice_loss(logits, target, {true}).item<double>(), -batch, 1e-7);
}

TEST(Loss, IncludesBackgroundWhenAsked) {
  const auto logits = torch::zeros({1, 2, 1, 2});
  const auto target = torch::tensor({0.f, 1.f}).reshape({1, 1, 1, 2});
  DiceOptions o;
  o.do_bg = true;
  const double dc = (2 * 0.5 + kSmooth) / (2 + kSmooth);  // both classes alike
  EXPECT_NEAR(soft_dice_loss(logits, target, o).item<double>(), -dc, 1e-7);
}

TEST(Loss, MatchesNnunetv2DcAndCeLossOnReferenceInputs) {
  const auto ref = read_json(test::test_data() / "worker" / "dc_ce_loss_reference.json");
  const auto logits = formula({2, 3, 4, 4}, false).to(torch::kFloat);
  const auto target = formula({2, 1, 4, 4}, true).to(torch::kFloat);
  for (const auto& c : ref.at("cases")) {
    const DiceOptions o{c.at("batch_dice").get<bool>()};
    EXPECT_NEAR(dice_ce_loss(logits, target, o).item<double>(), c.at("loss").get<double>(), 1e-5);
    EXPECT_NEAR(soft_dice_loss(logits, target, o).item<double>(), c.at("dice_loss").get<double>(),
                1e-5);
  }
}

TEST(Loss, DeepSupervisionMatchesNnunetv2Wrapper) {
  const auto ref = read_json(test::test_data() / "worker" / "dc_ce_loss_reference.json");
  const auto logits = formula({2, 3, 4, 4}, false).to(torch::kFloat);
  const auto target = formula({2, 1, 4, 4}, true).to(torch::kFloat);
  std::vector<torch::Tensor> outputs, targets;
  for (int64_t step : {1, 2, 4}) {
    using torch::indexing::None;
    using torch::indexing::Slice;
    outputs.push_back(logits.index({Slice(), Slice(), Slice(0, None, step), Slice(0, None, step)}));
    targets.push_back(target.index({Slice(), Slice(), Slice(0, None, step), Slice(0, None, step)}));
  }
  DeepSupervisionLoss loss(3, DiceOptions{false});
  EXPECT_NEAR(loss(outputs, targets).item<double>(),
              ref.at("deep_supervision").at("loss").get<double>(), 1e-5);
}

TEST(Loss, DeepSupervisionWeightsHalveAndDropTheLowestScale) {
  const auto w3 = deep_supervision_weights(3);
  EXPECT_NEAR(w3[0], 2.0 / 3, 1e-12);
  EXPECT_NEAR(w3[1], 1.0 / 3, 1e-12);
  EXPECT_EQ(w3[2], 0.0);
  const auto w5 = deep_supervision_weights(5);
  const double sum = 1 + 0.5 + 0.25 + 0.125;
  EXPECT_NEAR(w5[0], 1 / sum, 1e-12);
  EXPECT_NEAR(w5[3], 0.125 / sum, 1e-12);
  EXPECT_EQ(w5[4], 0.0);
  EXPECT_EQ(deep_supervision_weights(1), std::vector<double>{1.0});
  EXPECT_THROW(deep_supervision_weights(0), Error);
}

TEST(Loss, GroupReducerGivesTheWholeBatchDiceAndGradient) {
  // Two "ranks" each hold half of a batch; the reducer adds the other half's statistics.
  torch::manual_seed(3);
  const auto logits = torch::randn({4, 3, 4, 4}, torch::kDouble).requires_grad_(true);
  const auto target = torch::randint(0, 3, {4, 1, 4, 4}).to(torch::kDouble);
  const DiceOptions o{true};
  const auto whole = soft_dice_loss(logits, target, o);
  whole.backward();
  const auto whole_grad = logits.grad().slice(0, 0, 2).clone();

  const auto half = logits.detach().slice(0, 0, 2).clone().requires_grad_(true);
  torch::Tensor other;
  const StatsReducer capture = [&](const torch::Tensor& t) { other = t.detach(); return t; };
  soft_dice_loss(logits.detach().slice(0, 2, 4), target.slice(0, 2, 4), o, capture);
  const StatsReducer add_other = [&](const torch::Tensor& t) { return t + other; };
  const auto mine = soft_dice_loss(half, target.slice(0, 0, 2), o, add_other);
  EXPECT_NEAR(mine.item<double>(), whole.item<double>(), 1e-12);
  mine.backward();
  EXPECT_TRUE(torch::allclose(half.grad(), whole_grad, 1e-10, 1e-12));
}

TEST(Loss, DeepSupervisionReducesBatchDiceStatisticsOnceForAllOutputs) {
  // A reducer that doubles (as a 2-rank group holding the same batch twice would) and counts calls.
  int calls = 0;
  const StatsReducer twice = [&calls](const torch::Tensor& t) {
    ++calls;
    return t * 2;
  };
  const DiceOptions dice{/*batch_dice=*/true};
  std::vector<torch::Tensor> outputs, targets;
  for (int64_t s : {8, 4, 2}) {
    outputs.push_back(formula({2, 3, s, s}, false).requires_grad_());
    targets.push_back(formula({2, 1, s, s}, true));
  }
  const DeepSupervisionLoss loss(3, dice, twice);
  const torch::Tensor together = loss(outputs, targets);
  EXPECT_EQ(calls, 1);  // the third output has weight 0 and is not evaluated; two go in one call
  // The same as reducing each output's statistics on its own.
  const auto w = deep_supervision_weights(3);
  double expected = 0;
  for (int i = 0; i < 2; ++i) {
    expected += w[i] * dice_ce_loss(outputs[i], targets[i], dice, twice).item<double>();
  }
  EXPECT_EQ(calls, 3);
  EXPECT_NEAR(together.item<double>(), expected, 1e-12);
}

TEST(Loss, RejectsTargetOfAnotherShape) {
  const auto logits = torch::zeros({1, 2, 4, 4});
  EXPECT_THROW(dice_ce_loss(logits, torch::zeros({1, 1, 4, 3}), {}), Error);
  DeepSupervisionLoss loss(2, {});
  EXPECT_THROW(loss({logits}, {torch::zeros({1, 1, 4, 4})}), Error);
}

}  // namespace
}  // namespace nnfleet::worker
