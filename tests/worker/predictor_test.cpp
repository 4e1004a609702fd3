// Sliding-window prediction with stand-in networks: identities, pointwise convolutions and
// position-dependent maps whose exact sliding-window result is known.
#include "worker/predictor.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace nnfleet::worker {
namespace {

PredictorOptions options(std::vector<int64_t> patch, bool mirror, std::vector<int> axes = {0, 1, 2}) {
  PredictorOptions o;
  o.patch_size = std::move(patch);
  o.mirror = mirror;
  o.mirror_axes = std::move(axes);
  return o;
}

NetworkFn identity() {
  return [](const torch::Tensor& x) { return x.clone(); };
}

// A pointwise (1x1x1) convolution: translation equivariant, so tiling must not change it.
NetworkFn pointwise(int64_t in, int64_t out, uint64_t seed) {
  torch::manual_seed(seed);
  auto weight = torch::randn({out, in});
  auto bias = torch::randn({out});
  return [weight, bias](const torch::Tensor& x) {
    auto y = torch::einsum("kc,bc...->bk...", {weight, x});
    std::vector<int64_t> shape(static_cast<size_t>(x.dim()), 1);
    shape[1] = bias.size(0);
    return y + bias.view(shape);
  };
}

TEST(Predictor, MirroredIdentityNetworkGivesBackTheInput) {
  torch::manual_seed(0);
  const auto data = torch::randn({2, 23, 37, 30});  // padded on axis 0 and 1, tiled on axis 2
  const auto logits = predict_logits_with({identity()}, data, options({32, 40, 16}, true));
  ASSERT_EQ(logits.sizes(), data.sizes());
  EXPECT_TRUE(torch::allclose(logits, data, 1e-5, 1e-5));
}

TEST(Predictor, IdentityIn2DSlicesAlongTheFirstAxis) {
  torch::manual_seed(1);
  const auto data = torch::randn({1, 3, 50, 21});
  const auto logits = predict_logits_with({identity()}, data, options({32, 32}, true, {0, 1}));
  ASSERT_EQ(logits.sizes(), data.sizes());
  EXPECT_TRUE(torch::allclose(logits, data, 1e-5, 1e-5));
}

TEST(Predictor, TilingDoesNotChangeATranslationEquivariantNetwork) {
  torch::manual_seed(2);
  const auto data = torch::randn({2, 41, 19, 66});
  const NetworkFn net = pointwise(2, 3, 7);
  const auto whole = net(data.unsqueeze(0))[0];
  for (double step : {0.5, 1.0, 0.3}) {
    auto o = options({16, 16, 16}, true);
    o.step_size = step;
    const auto logits = predict_logits_with({net}, data, o);
    EXPECT_TRUE(torch::allclose(logits, whole, 1e-4, 1e-4)) << "step " << step;
  }
}

TEST(Predictor, MirroringAveragesEveryAxisCombination) {
  // net(x) = x * w with a position-dependent w: the mirrored prediction is x times the mean of w
  // flipped over each of the 8 combinations.
  const auto w = torch::arange(24, torch::kFloat32).view({1, 1, 2, 3, 4});
  const NetworkFn net = [w](const torch::Tensor& x) { return x * w; };
  const auto x = torch::ones({1, 1, 2, 3, 4});
  const auto got = mirrored_prediction(net, x, options({2, 3, 4}, true));
  auto expected = torch::zeros_like(w);
  for (std::vector<int64_t> dims : {std::vector<int64_t>{}, {2}, {3}, {4}, {2, 3}, {2, 4}, {3, 4}, {2, 3, 4}})
    expected += dims.empty() ? w : torch::flip(w, dims);
  EXPECT_TRUE(torch::allclose(got, expected / 8));
  // Only axis 2 allowed: mean of w and its flip along x.
  const auto only_x = mirrored_prediction(net, x, options({2, 3, 4}, true, {2}));
  EXPECT_TRUE(torch::allclose(only_x, (w + torch::flip(w, {4})) / 2));
  const auto none = mirrored_prediction(net, x, options({2, 3, 4}, false));
  EXPECT_TRUE(torch::allclose(none, w));
}

TEST(Predictor, SingleTileEqualsTheNetworkOutput) {
  torch::manual_seed(3);
  auto conv = torch::nn::Conv3d(torch::nn::Conv3dOptions(1, 2, 3).padding(1));
  const NetworkFn net = [&conv](const torch::Tensor& x) { return conv->forward(x); };
  const auto data = torch::randn({1, 8, 12, 10});
  const auto logits = predict_logits_with({net}, data, options({8, 12, 10}, false));
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(logits, conv->forward(data.unsqueeze(0))[0], 1e-5, 1e-5));
}

TEST(Predictor, AveragesLogitsOverFolds) {
  const auto data = torch::rand({1, 9, 9, 9});
  const NetworkFn once = identity();
  const NetworkFn thrice = [](const torch::Tensor& x) { return x * 3; };
  const auto logits = predict_logits_with({once, thrice}, data, options({8, 8, 8}, true));
  EXPECT_TRUE(torch::allclose(logits, data * 2, 1e-5, 1e-5));
}

TEST(Predictor, ImportanceMapIsPositiveWithPeakTenAtTheCentre) {
  const auto g = importance_map({6, 8, 10}, torch::kCPU);
  EXPECT_EQ(g.sizes(), (std::vector<int64_t>{6, 8, 10}));
  EXPECT_FLOAT_EQ(g.max().item<float>(), 10.0f);
  EXPECT_FLOAT_EQ(g[3][4][5].item<float>(), 10.0f);
  EXPECT_GT(g.min().item<float>(), 0.0f);
}

TEST(Predictor, RejectsBadShapesAxesAndEmptyFoldList) {
  const auto data = torch::rand({1, 9, 9, 9});
  EXPECT_THROW(predict_logits_with({}, data, options({8, 8, 8}, true)), Error);
  EXPECT_THROW(predict_logits_with({identity()}, torch::rand({9, 9, 9}), options({8, 8, 8}, true)), Error);
  EXPECT_THROW(predict_logits_with({identity()}, data, options({8, 8, 8}, true, {3})), Error);
  EXPECT_THROW(predict_logits_with({identity()}, data, options({8}, true, {})), Error);
}

}  // namespace
}  // namespace nnfleet::worker
