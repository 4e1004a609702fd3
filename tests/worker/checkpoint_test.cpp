// Checkpoints: round trip of weights, optimiser and scaler; refusal of another plan,
// configuration or network; atomic writes.

#include "worker/checkpoint.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/error.h"
#include "tests/support/test_paths.h"
#include "worker/optim.h"

namespace nnfleet::worker {
namespace {

models::UNetConfig tiny(int64_t base = 4) {
  models::UNetConfig c;
  c.dims = 2;
  c.input_channels = 1;
  c.num_classes = 2;
  c.features_per_stage = {base, 2 * base};
  c.kernel_sizes = {{3, 3}, {3, 3}};
  c.strides = {{1, 1}, {2, 2}};
  c.n_conv_per_stage = {1, 1};
  c.n_conv_per_stage_decoder = {1};
  return c;
}

nlohmann::json plans_with_patch(int patch) {
  return {{"configurations",
           {{"2d", {{"patch_size", {patch, patch}}, {"batch_size", 2}}},
            {"3d_cascade_fullres", {{"inherits_from", "2d"}, {"previous_stage", "3d_lowres"}}}}}};
}

// One SGD step so the optimiser has momentum buffers.
void step_once(models::UNet& net, torch::optim::SGD& sgd) {
  sgd.zero_grad();
  net->forward(torch::randn({1, 1, 8, 8}))[0].sum().backward();
  sgd.step();
}

TEST(Checkpoint, RoundTripsWeightsOptimiserAndScaler) {
  const auto dir = test::scratch_dir("checkpoint_roundtrip");
  torch::manual_seed(1);
  models::UNet a(tiny());
  auto sgd_a = make_sgd(a->parameters());
  step_once(a, *sgd_a);
  GradScaler scaler_a(true, torch::kCPU);
  CheckpointMeta meta{1, "2d", plan_hash(plans_with_patch(8), "2d"), {{"epoch", 3}}};
  save_checkpoint(dir / "checkpoint_latest.pt", meta, *a, sgd_a.get(), &scaler_a);

  torch::manual_seed(2);
  models::UNet b(tiny());
  auto sgd_b = make_sgd(b->parameters());
  GradScaler scaler_b(true, torch::kCPU);
  const auto loaded = load_checkpoint(dir / "checkpoint_latest.pt", "2d", meta.plan_hash, *b,
                                      sgd_b.get(), &scaler_b);
  EXPECT_EQ(loaded.training.at("epoch"), 3);
  const auto pa = a->parameters(), pb = b->parameters();
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i]));
  // Same momentum: one more identical step keeps the weights identical.
  torch::manual_seed(5);
  step_once(a, *sgd_a);
  torch::manual_seed(5);
  step_once(b, *sgd_b);
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i]));
  EXPECT_EQ(read_checkpoint_meta(dir / "checkpoint_latest.pt").configuration, "2d");
  for (const auto& e : std::filesystem::directory_iterator(dir))
    EXPECT_EQ(e.path().filename(), "checkpoint_latest.pt");  // no temporary left behind
}

TEST(Checkpoint, RefusesAnotherConfigurationOrPlan) {
  const auto dir = test::scratch_dir("checkpoint_mismatch");
  models::UNet net(tiny());
  const auto file = dir / "checkpoint_final.pt";
  save_checkpoint(file, {1, "2d", plan_hash(plans_with_patch(8), "2d"), {}}, *net, nullptr, nullptr);
  try {
    load_checkpoint(file, "3d_fullres", plan_hash(plans_with_patch(8), "2d"), *net, nullptr, nullptr);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("configuration '2d'"), std::string::npos) << e.what();
  }
  try {
    load_checkpoint(file, "2d", plan_hash(plans_with_patch(16), "2d"), *net, nullptr, nullptr);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("another plan"), std::string::npos) << e.what();
  }
}

TEST(Checkpoint, RefusesWeightsOfAnotherShape) {
  const auto dir = test::scratch_dir("checkpoint_shape");
  models::UNet small(tiny(4)), big(tiny(8));
  save_checkpoint(dir / "c.pt", {1, "2d", "h", {}}, *small, nullptr, nullptr);
  EXPECT_THROW(load_network_weights(dir / "c.pt", *big), Error);
  EXPECT_THROW(load_network_weights(dir / "missing.pt", *big), Error);
}

TEST(Checkpoint, PlanHashResolvesInheritanceAndTracksChanges) {
  const auto plans = plans_with_patch(8);
  EXPECT_EQ(plan_hash(plans, "2d"), plan_hash(plans_with_patch(8), "2d"));
  EXPECT_NE(plan_hash(plans, "2d"), plan_hash(plans_with_patch(16), "2d"));
  EXPECT_NE(plan_hash(plans, "3d_cascade_fullres"), plan_hash(plans, "2d"));
  EXPECT_NE(plan_hash(plans_with_patch(16), "3d_cascade_fullres"),
            plan_hash(plans, "3d_cascade_fullres"));
  EXPECT_THROW(plan_hash(plans, "3d_lowres"), Error);
}

}  // namespace
}  // namespace nnfleet::worker
