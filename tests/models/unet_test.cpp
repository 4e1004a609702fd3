// The U-Net against nnunetv2's PlainConvUNet: parameter names, shapes and counts from
// tests/data/models/plainconvunet_reference.json (made by generate_reference.py beside it).

#include "models/unet.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "common/atomic_file.h"
#include "common/error.h"
#include "tests/support/test_paths.h"

namespace nnfleet::models {
namespace {

nlohmann::json reference_networks() {
  return read_json(test::test_data() / "models" / "plainconvunet_reference.json").at("networks");
}

UNetConfig config_of(const nlohmann::json& entry) {
  nlohmann::json plans;
  plans["configurations"]["c"]["architecture"]["arch_kwargs"] = entry.at("arch_kwargs");
  return unet_config_from_plans(plans, "c", entry.at("input_channels").get<int>(),
                                entry.at("num_classes").get<int>());
}

UNetConfig tiny_config(int dims) {
  UNetConfig c;
  c.dims = dims;
  c.input_channels = 2;
  c.num_classes = 3;
  c.features_per_stage = {4, 8, 16};
  c.kernel_sizes.assign(3, std::vector<int64_t>(dims, 3));
  c.strides = {std::vector<int64_t>(dims, 1), std::vector<int64_t>(dims, 2),
               std::vector<int64_t>(dims, 2)};
  c.n_conv_per_stage = {2, 2, 2};
  c.n_conv_per_stage_decoder = {2, 2};
  return c;
}

TEST(UNet, ParameterCountEqualsNnunetv2ForEveryReferencePlan) {
  for (const auto& entry : reference_networks()) {
    UNet net(config_of(entry));
    EXPECT_EQ(parameter_count(*net), entry.at("parameter_count").get<int64_t>())
        << entry.at("name");
  }
}

TEST(UNet, ParameterNamesAndShapesEqualNnunetv2StateDictKeys) {
  for (const auto& entry : reference_networks()) {
    UNet net(config_of(entry));
    const auto params = net->named_parameters();
    const auto& expected = entry.at("parameters");
    ASSERT_EQ(params.size(), expected.size()) << entry.at("name");
    for (size_t i = 0; i < params.size(); ++i) {
      EXPECT_EQ(params[i].key(), expected[i][0].get<std::string>());
      EXPECT_EQ(params[i].value().sizes().vec(), expected[i][1].get<std::vector<int64_t>>())
          << params[i].key();
    }
  }
}

TEST(UNet, ReturnsOneLogitMapPerDecoderStageHighestResolutionFirst) {
  UNet net(tiny_config(3));
  const auto outputs = net->forward(torch::randn({2, 2, 8, 12, 16}));
  ASSERT_EQ(outputs.size(), 2u);
  EXPECT_EQ(outputs[0].sizes().vec(), (std::vector<int64_t>{2, 3, 8, 12, 16}));
  EXPECT_EQ(outputs[1].sizes().vec(), (std::vector<int64_t>{2, 3, 4, 6, 8}));
}

TEST(UNet, ReturnsOnlyFullResolutionWithoutDeepSupervision) {
  UNet net(tiny_config(2));
  net->set_deep_supervision(false);
  const auto outputs = net->forward(torch::randn({1, 2, 16, 8}));
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].sizes().vec(), (std::vector<int64_t>{1, 3, 16, 8}));
}

TEST(UNet, HandlesAnisotropicStridesAndKernels) {
  UNetConfig c = tiny_config(3);
  c.kernel_sizes = {{1, 3, 3}, {1, 3, 3}, {3, 3, 3}};
  c.strides = {{1, 1, 1}, {1, 2, 2}, {2, 2, 2}};
  UNet net(c);
  const auto outputs = net->forward(torch::randn({1, 2, 4, 8, 8}));
  EXPECT_EQ(outputs[0].sizes().vec(), (std::vector<int64_t>{1, 3, 4, 8, 8}));
  EXPECT_EQ(outputs[1].sizes().vec(), (std::vector<int64_t>{1, 3, 4, 4, 4}));
}

TEST(UNet, InitialisesConvWeightsKaimingNormalWithZeroBias) {
  torch::manual_seed(0);
  UNetConfig c = tiny_config(3);
  c.features_per_stage = {32, 64, 128};
  UNet net(c);
  for (const auto& p : net->named_parameters()) {
    const auto& name = p.key();
    if (name.find("conv.weight") != std::string::npos && p.value().size(1) == 64) {
      // fan_in = 64 * 27; gain^2 = 2 / (1 + 0.01^2).
      const double expected = std::sqrt(2.0 / (1 + 1e-4) / (64 * 27));
      EXPECT_NEAR(p.value().std().item<double>(), expected, 0.05 * expected) << name;
    }
    if (name.size() > 4 && name.substr(name.size() - 4) == "bias")
      EXPECT_EQ(p.value().abs().max().item<double>(), 0.0) << name;
    if (name.find("norm.weight") != std::string::npos)
      EXPECT_EQ(p.value().min().item<double>(), 1.0) << name;
  }
}

TEST(UNet, SameSeedGivesSameWeights) {
  torch::manual_seed(7);
  UNet a(tiny_config(2));
  torch::manual_seed(7);
  UNet b(tiny_config(2));
  const auto pa = a->parameters(), pb = b->parameters();
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i]));
}

TEST(UNet, RejectsInconsistentConfigWithClearError) {
  UNetConfig c = tiny_config(3);
  c.strides.pop_back();
  try {
    UNet net(c);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("strides"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace nnfleet::models
