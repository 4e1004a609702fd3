#pragma once
// nnU-Net v2's PlainConvUNet (dynamic_network_architectures), built from a UNetConfig.
//
// Encoder: n_stages stages; stage s is n_conv_per_stage[s] blocks of
//   Conv(kernel_sizes[s], padding (k-1)/2, bias) -> InstanceNorm(affine, eps 1e-5) -> LeakyReLU(0.01),
// the first conv of stage s having stride strides[s] (downsampling by strided convolution).
// Decoder, from the bottleneck up, for s = n_stages-2 .. 0: ConvTranspose(kernel = stride =
// strides[s+1], F[s+1] -> F[s]), concatenation with the skip of stage s, n_conv_per_stage_decoder
// blocks with kernel_sizes[s], and a 1x1 segmentation head F[s] -> num_classes. Every head exists
// whether or not deep supervision is on, so weights load either way.
//
// Parameter names equal nnunetv2's state_dict keys (encoder.stages.<s>.0.convs.<i>.conv.weight,
// decoder.transpconvs.<j>.weight, decoder.seg_layers.<j>.bias, ...), and the parameter count equals
// nnunetv2's for the same plan (tests/models/unet_test.cpp).
//
// Initialisation (the method's): Kaiming normal with a = 1e-2 on conv and transposed-conv weights,
// biases 0, norm weight 1. Draws from the global LibTorch generator: seed it first for
// reproducible weights.
//
// Tensors are [b, C, *spatial] with 2 or 3 spatial axes in array order (z, y, x). Spatial sizes
// must be divisible by the product of the strides on each axis (the plan's patch sizes are).
// Not thread-safe: one forward at a time per instance.

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "models/unet_config.h"

namespace nnfleet::models {

// A convolution (or transposed convolution) of any dimensionality: parameters "weight" and
// (optionally) "bias", shaped like torch.nn.ConvNd / ConvTransposeNd.
class ConvImpl : public torch::nn::Module {
 public:
  ConvImpl(int dims, int64_t in_channels, int64_t out_channels, std::vector<int64_t> kernel,
           std::vector<int64_t> stride, bool bias, bool transposed);
  torch::Tensor forward(const torch::Tensor& x);

  torch::Tensor weight, bias;

 private:
  std::vector<int64_t> stride_, padding_;
  bool transposed_;
};
TORCH_MODULE(Conv);

// Instance normalisation with affine weight and bias (no running statistics), eps 1e-5.
class InstanceNormImpl : public torch::nn::Module {
 public:
  explicit InstanceNormImpl(int64_t channels);
  torch::Tensor forward(const torch::Tensor& x);

  torch::Tensor weight, bias;
};
TORCH_MODULE(InstanceNorm);

// Conv -> InstanceNorm -> LeakyReLU(0.01): nnunetv2's ConvDropoutNormReLU without dropout.
class ConvNormNonlinImpl : public torch::nn::Module {
 public:
  ConvNormNonlinImpl(int dims, int64_t in_channels, int64_t out_channels,
                     const std::vector<int64_t>& kernel, const std::vector<int64_t>& stride,
                     bool bias);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  Conv conv_{nullptr};
  InstanceNorm norm_{nullptr};
};
TORCH_MODULE(ConvNormNonlin);

// `n` ConvNormNonlin blocks; only the first has `first_stride` (nnunetv2's StackedConvBlocks).
class StackedConvBlocksImpl : public torch::nn::Module {
 public:
  StackedConvBlocksImpl(int n, int dims, int64_t in_channels, int64_t out_channels,
                        const std::vector<int64_t>& kernel,
                        const std::vector<int64_t>& first_stride, bool bias);
  torch::Tensor forward(torch::Tensor x);

 private:
  torch::nn::ModuleList convs_;
};
TORCH_MODULE(StackedConvBlocks);

class UNetImpl : public torch::nn::Module {
 public:
  // Throws nnfleet::Error when the config is inconsistent (lengths, dims, empty stages).
  explicit UNetImpl(const UNetConfig& config);

  // Logits at full resolution first, then the lower deep-supervision scales (n_stages - 1 maps in
  // all) when deep supervision is on; else only the full-resolution map.
  std::vector<torch::Tensor> forward(const torch::Tensor& x);

  void set_deep_supervision(bool on) { config_.deep_supervision = on; }
  const UNetConfig& config() const { return config_; }

 private:
  std::vector<torch::Tensor> encode(torch::Tensor x);

  UNetConfig config_;
  torch::nn::ModuleList encoder_stages_;
  torch::nn::ModuleList transpconvs_, decoder_stages_, seg_layers_;
};
TORCH_MODULE(UNet);

// Number of trainable scalars (sum of numel over parameters).
int64_t parameter_count(const torch::nn::Module& module);

// Checks a config before building (same checks the constructor runs).
void validate_config(const UNetConfig& config);

}  // namespace nnfleet::models
