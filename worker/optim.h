#pragma once
// nnU-Net's optimiser and learning-rate schedule (method reference 5.1): SGD with Nesterov
// momentum 0.99, weight decay 3e-5 on every parameter, initial learning rate 1e-2, poly decay set
// at the start of each epoch, gradient clipping to global L2 norm 12.

#include <torch/optim/sgd.h>

#include <memory>
#include <vector>

namespace nnfleet::worker {

struct OptimConfig {
  double initial_lr = 1e-2;
  double momentum = 0.99;
  double weight_decay = 3e-5;
  double poly_exponent = 0.9;
  double clip_norm = 12.0;
};

// lr(e) = initial * (1 - e / max_epochs)^exponent, for 0 <= epoch <= max_epochs (v2 PolyLRScheduler,
// stepped with the current epoch at the start of every epoch). Throws nnfleet::Error for
// max_epochs < 1 or an epoch outside [0, max_epochs].
double poly_lr(int epoch, int max_epochs, double initial = 1e-2, double exponent = 0.9);

// SGD(nesterov) over `parameters` with the config's momentum, weight decay and initial LR.
std::unique_ptr<torch::optim::SGD> make_sgd(const std::vector<torch::Tensor>& parameters,
                                            const OptimConfig& config = {});

// Sets the learning rate of every parameter group.
void set_learning_rate(torch::optim::SGD& optimizer, double lr);
double learning_rate(const torch::optim::SGD& optimizer);

// Scales the gradients of `parameters` so their global L2 norm is at most max_norm; returns the
// norm before clipping (may be inf/NaN after an fp16 overflow; gradients are then left for the
// grad scaler to discard).
double clip_gradients(const std::vector<torch::Tensor>& parameters, double max_norm);

}  // namespace nnfleet::worker
