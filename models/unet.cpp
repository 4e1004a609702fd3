#include "models/unet.h"

#include <ATen/ops/cat.h>
#include <ATen/ops/convolution.h>
#include <ATen/ops/instance_norm.h>
#include <ATen/ops/leaky_relu.h>
#include <torch/nn/init.h>
#include <torch/types.h>

#include <string>

#include "common/error.h"

namespace nnfleet::models {
namespace {

constexpr double kNegativeSlope = 1e-2;  // LeakyReLU slope and Kaiming's `a`
constexpr double kNormEps = 1e-5;

std::string join(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

void check_per_stage(const std::vector<std::vector<int64_t>>& per_stage, const char* field,
                     const UNetConfig& c) {
  if (static_cast<int>(per_stage.size()) != c.n_stages())
    throw Error("U-Net config: " + std::string(field) + " has " +
                std::to_string(per_stage.size()) + " stages, features_per_stage has " +
                std::to_string(c.n_stages()));
  for (const auto& v : per_stage)
    if (static_cast<int>(v.size()) != c.dims)
      throw Error("U-Net config: " + std::string(field) + " entry " + join(v) + " is not " +
                  std::to_string(c.dims) + "-dimensional");
}

// A plain module that only groups children (nnunetv2's "encoder" and "decoder" name levels).
std::shared_ptr<torch::nn::Module> container() { return std::make_shared<torch::nn::Module>(); }

}  // namespace

void validate_config(const UNetConfig& c) {
  if (c.dims != 2 && c.dims != 3)
    throw Error("U-Net config: dims must be 2 or 3, got " + std::to_string(c.dims));
  if (c.n_stages() < 2) throw Error("U-Net config: needs at least 2 stages");
  if (c.input_channels < 1 || c.num_classes < 1)
    throw Error("U-Net config: input_channels and num_classes must be positive (got " +
                std::to_string(c.input_channels) + ", " + std::to_string(c.num_classes) + ")");
  check_per_stage(c.kernel_sizes, "kernel_sizes", c);
  check_per_stage(c.strides, "strides", c);
  if (static_cast<int>(c.n_conv_per_stage.size()) != c.n_stages() ||
      static_cast<int>(c.n_conv_per_stage_decoder.size()) != c.n_stages() - 1)
    throw Error("U-Net config: n_conv_per_stage needs " + std::to_string(c.n_stages()) +
                " entries and n_conv_per_stage_decoder " + std::to_string(c.n_stages() - 1));
}

ConvImpl::ConvImpl(int dims, int64_t in_channels, int64_t out_channels,
                   std::vector<int64_t> kernel, std::vector<int64_t> stride, bool with_bias,
                   bool transposed)
    : stride_(std::move(stride)), transposed_(transposed) {
  // Conv weights are [out, in, *k]; transposed-conv weights [in, out, *k] (PyTorch's layouts).
  std::vector<int64_t> shape = transposed ? std::vector<int64_t>{in_channels, out_channels}
                                          : std::vector<int64_t>{out_channels, in_channels};
  shape.insert(shape.end(), kernel.begin(), kernel.end());
  weight = register_parameter("weight", torch::empty(shape));
  torch::nn::init::kaiming_normal_(weight, kNegativeSlope, torch::kFanIn, torch::kLeakyReLU);
  if (with_bias) bias = register_parameter("bias", torch::zeros({out_channels}));
  for (int d = 0; d < dims; ++d) padding_.push_back(transposed ? 0 : (kernel[d] - 1) / 2);
}

torch::Tensor ConvImpl::forward(const torch::Tensor& x) {
  const std::vector<int64_t> ones(stride_.size(), 1), zeros(stride_.size(), 0);
  return at::convolution(x, weight, bias, stride_, padding_, ones, transposed_, zeros, 1);
}

InstanceNormImpl::InstanceNormImpl(int64_t channels) {
  weight = register_parameter("weight", torch::ones({channels}));
  bias = register_parameter("bias", torch::zeros({channels}));
}

torch::Tensor InstanceNormImpl::forward(const torch::Tensor& x) {
  return at::instance_norm(x, weight, bias, /*running_mean=*/{}, /*running_var=*/{},
                           /*use_input_stats=*/true, /*momentum=*/0.1, kNormEps,
                           /*cudnn_enabled=*/true);
}

ConvNormNonlinImpl::ConvNormNonlinImpl(int dims, int64_t in_channels, int64_t out_channels,
                                       const std::vector<int64_t>& kernel,
                                       const std::vector<int64_t>& stride, bool bias) {
  conv_ = register_module("conv", Conv(dims, in_channels, out_channels, kernel, stride, bias,
                                       /*transposed=*/false));
  norm_ = register_module("norm", InstanceNorm(out_channels));
}

torch::Tensor ConvNormNonlinImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = norm_->forward(conv_->forward(x));
  at::leaky_relu_(y, kNegativeSlope);  // in place, as nnunetv2 (LeakyReLU(inplace=True))
  return y;
}

StackedConvBlocksImpl::StackedConvBlocksImpl(int n, int dims, int64_t in_channels,
                                             int64_t out_channels,
                                             const std::vector<int64_t>& kernel,
                                             const std::vector<int64_t>& first_stride,
                                             bool bias) {
  const std::vector<int64_t> ones(dims, 1);
  for (int i = 0; i < n; ++i)
    convs_->push_back(ConvNormNonlin(dims, i == 0 ? in_channels : out_channels, out_channels,
                                     kernel, i == 0 ? first_stride : ones, bias));
  register_module("convs", convs_);
}

torch::Tensor StackedConvBlocksImpl::forward(torch::Tensor x) {
  for (const auto& block : *convs_) x = block->as<ConvNormNonlin>()->forward(x);
  return x;
}

UNetImpl::UNetImpl(const UNetConfig& config) : config_(config) {
  validate_config(config_);
  const auto& c = config_;
  const auto& f = c.features_per_stage;

  // Encoder: encoder.stages.<s>.0 is the stage's StackedConvBlocks (nnunetv2 wraps it in a
  // Sequential; the extra ".0" keeps the parameter names equal).
  int64_t in = c.input_channels;
  for (int s = 0; s < c.n_stages(); ++s) {
    torch::nn::ModuleList stage;
    stage->push_back(StackedConvBlocks(c.n_conv_per_stage[s], c.dims, in, f[s],
                                       c.kernel_sizes[s], c.strides[s], c.conv_bias));
    encoder_stages_->push_back(stage);
    in = f[s];
  }
  auto encoder = container();
  encoder->register_module("stages", encoder_stages_);
  register_module("encoder", encoder);

  // Decoder stage j (j = 0 at the bottleneck) restores the resolution of encoder stage
  // s = n_stages - 2 - j.
  for (int j = 0; j + 1 < c.n_stages(); ++j) {
    const int s = c.n_stages() - 2 - j;
    transpconvs_->push_back(Conv(c.dims, f[s + 1], f[s], c.strides[s + 1], c.strides[s + 1],
                                 c.conv_bias, /*transposed=*/true));
    decoder_stages_->push_back(StackedConvBlocks(c.n_conv_per_stage_decoder[j], c.dims, 2 * f[s],
                                                 f[s], c.kernel_sizes[s],
                                                 std::vector<int64_t>(c.dims, 1), c.conv_bias));
    seg_layers_->push_back(Conv(c.dims, f[s], c.num_classes, std::vector<int64_t>(c.dims, 1),
                                std::vector<int64_t>(c.dims, 1), /*bias=*/true,
                                /*transposed=*/false));
  }
  auto decoder = container();
  decoder->register_module("stages", decoder_stages_);
  decoder->register_module("transpconvs", transpconvs_);
  decoder->register_module("seg_layers", seg_layers_);
  register_module("decoder", decoder);
}

std::vector<torch::Tensor> UNetImpl::encode(torch::Tensor x) {
  std::vector<torch::Tensor> skips;
  for (const auto& stage : *encoder_stages_) {
    x = stage->as<torch::nn::ModuleList>()->ptr(0)->as<StackedConvBlocks>()->forward(x);
    skips.push_back(x);
  }
  return skips;
}

std::vector<torch::Tensor> UNetImpl::forward(const torch::Tensor& x) {
  const auto skips = encode(x);
  const int n_decoder = config_.n_stages() - 1;
  std::vector<torch::Tensor> outputs;  // lowest resolution first; reversed at the end
  torch::Tensor low = skips.back();
  for (int j = 0; j < n_decoder; ++j) {
    torch::Tensor up = transpconvs_->ptr(j)->as<Conv>()->forward(low);
    up = at::cat({up, skips[n_decoder - 1 - j]}, 1);
    low = decoder_stages_->ptr(j)->as<StackedConvBlocks>()->forward(up);
    if (config_.deep_supervision || j == n_decoder - 1)
      outputs.push_back(seg_layers_->ptr(j)->as<Conv>()->forward(low));
  }
  return {outputs.rbegin(), outputs.rend()};
}

int64_t parameter_count(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

}  // namespace nnfleet::models
