#pragma once
// The architecture of one configuration, read from a plan's
// configurations.<c>.architecture.arch_kwargs (nnU-Net v2 field names).

#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

namespace nnfleet::models {

struct UNetConfig {
  int dims = 3;                                   // 2 or 3
  int input_channels = 1;
  int num_classes = 2;                            // output channels, background included
  std::vector<int64_t> features_per_stage;        // n_stages entries
  std::vector<std::vector<int64_t>> kernel_sizes; // per stage, dims entries
  std::vector<std::vector<int64_t>> strides;      // per stage (stage 0 is all ones)
  std::vector<int> n_conv_per_stage;              // encoder
  std::vector<int> n_conv_per_stage_decoder;      // n_stages - 1 entries
  bool conv_bias = true;
  bool deep_supervision = true;

  int n_stages() const { return static_cast<int>(features_per_stage.size()); }
};

// Reads arch_kwargs of `configuration` in `plans`; throws nnfleet::Error naming the missing field.
UNetConfig unet_config_from_plans(const nlohmann::json& plans, const std::string& configuration,
                                  int input_channels, int num_classes);

}  // namespace nnfleet::models
