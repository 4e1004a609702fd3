#include "models/unet_config.h"

#include "common/error.h"

namespace nnfleet::models {

UNetConfig unet_config_from_plans(const nlohmann::json& plans, const std::string& configuration,
                                  int input_channels, int num_classes) {
  const auto& configs = plans.at("configurations");
  if (!configs.contains(configuration))
    throw Error("plans have no configuration '" + configuration + "'");
  const nlohmann::json* cfg = &configs.at(configuration);
  // A configuration may inherit from another (3d_cascade_fullres inherits 3d_fullres).
  while (!cfg->contains("architecture") && cfg->contains("inherits_from"))
    cfg = &configs.at(cfg->at("inherits_from").get<std::string>());
  if (!cfg->contains("architecture"))
    throw Error("plans configuration '" + configuration + "' has no architecture");
  const auto& kw = cfg->at("architecture").at("arch_kwargs");
  UNetConfig c;
  c.input_channels = input_channels;
  c.num_classes = num_classes;
  c.features_per_stage = kw.at("features_per_stage").get<std::vector<int64_t>>();
  c.kernel_sizes = kw.at("kernel_sizes").get<std::vector<std::vector<int64_t>>>();
  c.strides = kw.at("strides").get<std::vector<std::vector<int64_t>>>();
  c.n_conv_per_stage = kw.at("n_conv_per_stage").get<std::vector<int>>();
  c.n_conv_per_stage_decoder = kw.at("n_conv_per_stage_decoder").get<std::vector<int>>();
  c.conv_bias = kw.value("conv_bias", true);
  c.dims = static_cast<int>(c.kernel_sizes.front().size());
  if (static_cast<int>(c.kernel_sizes.size()) != c.n_stages() ||
      static_cast<int>(c.strides.size()) != c.n_stages())
    throw Error("plans configuration '" + configuration +
                "': kernel_sizes, strides and features_per_stage differ in length");
  return c;
}

}  // namespace nnfleet::models
