#include "worker/optim.h"

#include <torch/nn/utils/clip_grad.h>

#include <cmath>
#include <string>

#include "common/error.h"

namespace nnfleet::worker {

double poly_lr(int epoch, int max_epochs, double initial, double exponent) {
  if (max_epochs < 1 || epoch < 0 || epoch > max_epochs)
    throw Error("[optim] poly learning rate: epoch " + std::to_string(epoch) + " outside [0, " +
                std::to_string(max_epochs) + "]");
  return initial * std::pow(1.0 - static_cast<double>(epoch) / max_epochs, exponent);
}

std::unique_ptr<torch::optim::SGD> make_sgd(const std::vector<torch::Tensor>& parameters,
                                            const OptimConfig& config) {
  auto options = torch::optim::SGDOptions(config.initial_lr)
                     .momentum(config.momentum)
                     .weight_decay(config.weight_decay)
                     .nesterov(true);
  return std::make_unique<torch::optim::SGD>(parameters, options);
}

void set_learning_rate(torch::optim::SGD& optimizer, double lr) {
  for (auto& group : optimizer.param_groups())
    static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
}

double learning_rate(const torch::optim::SGD& optimizer) {
  return static_cast<const torch::optim::SGDOptions&>(optimizer.param_groups().front().options())
      .lr();
}

double clip_gradients(const std::vector<torch::Tensor>& parameters, double max_norm) {
  return torch::nn::utils::clip_grad_norm_(parameters, max_norm);
}

}  // namespace nnfleet::worker
