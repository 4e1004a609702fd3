// Hidden `bench-train-step`: the C++ side of scripts/bench/bench_train_iter.sh. Times full
// training iterations (forward, deep-supervised Dice + CE, backward, clipping, SGD step) of a
// randomly initialised U-Net on random batches, with data loading left out.

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>

#include "dist/device_map.h"
#include "launcher/command_registry.h"
#include "models/unet.h"
#include "worker/amp.h"
#include "worker/loss.h"
#include "worker/optim.h"
#include "worker/train_setup.h"

namespace nnfleet::launcher {
namespace {

struct BenchTrainOptions {
  std::string arch;
  int threads = 2, batch = 8, iterations = 10, warmup = 2;
  bool batch_dice = false, amp = false;
  std::string device = "cpu";
};

models::UNetConfig config_from_arch(const nlohmann::json& a) {
  nlohmann::json plans;
  plans["configurations"]["c"]["architecture"]["arch_kwargs"] = a;
  return models::unet_config_from_plans(plans, "c", a.at("input_channels").get<int>(),
                                        a.at("num_classes").get<int>());
}

// Random data and labels at every deep-supervision scale.
std::pair<torch::Tensor, std::vector<torch::Tensor>> random_batch(
    const models::UNetConfig& c, const std::vector<int64_t>& patch, int batch,
    torch::Device device) {
  std::vector<int64_t> shape{batch, c.input_channels};
  shape.insert(shape.end(), patch.begin(), patch.end());
  const auto data = torch::randn(shape, device);
  std::vector<torch::Tensor> targets;
  for (const auto& scale : worker::deep_supervision_scales(c.strides)) {
    std::vector<int64_t> t{batch, 1};
    for (size_t a = 0; a < patch.size(); ++a)
      t.push_back(static_cast<int64_t>(std::lround(patch[a] * scale[a])));
    targets.push_back(torch::randint(0, c.num_classes, t, device).to(torch::kFloat));
  }
  return {data, targets};
}

int run_bench(const BenchTrainOptions& o) {
  torch::set_num_threads(o.threads);
  const nlohmann::json arch = nlohmann::json::parse(std::ifstream(o.arch));
  const auto patch = arch.at("patch_size").get<std::vector<int64_t>>();
  const auto config = config_from_arch(arch);
  const torch::Device device = dist::device_for_rank(o.device, 0);
  const bool amp = o.amp && device.is_cuda();
  torch::manual_seed(0);
  models::UNet net(config);
  net->to(device);
  auto sgd = worker::make_sgd(net->parameters());
  worker::GradScaler scaler(amp, device);
  const worker::DeepSupervisionLoss loss(config.n_stages() - 1, worker::DiceOptions{o.batch_dice});
  const auto [data, targets] = random_batch(config, patch, o.batch, device);
  std::vector<double> seconds;
  for (int i = 0; i < o.warmup + o.iterations; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    sgd->zero_grad(true);
    torch::Tensor l;
    {
      worker::AutocastGuard autocast(amp);
      l = loss(net->forward(data), targets);
    }
    scaler.scale(l).backward();
    scaler.unscale(net->parameters());
    worker::clip_gradients(net->parameters(), 12.0);
    scaler.step(*sgd);
    scaler.update();
    l.item<double>();  // synchronises like nnU-Net's loss.detach().cpu()
    if (i >= o.warmup)
      seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::vector<double> sorted = seconds;
  std::sort(sorted.begin(), sorted.end());
  std::cout << nlohmann::json{{"impl", "nnfleet"}, {"threads", o.threads}, {"batch", o.batch},
                              {"patch", patch}, {"device", device.str()}, {"seconds", seconds},
                              {"median_s", sorted[sorted.size() / 2]}, {"best_s", sorted.front()}}
                   .dump()
            << std::endl;
  return 0;
}

std::function<int()> install_bench(CLI::App& app, const GlobalOptions&) {
  app.description("benchmark helper for scripts/bench/bench_train_iter.sh");
  app.group("");  // hidden from --help
  auto o = std::make_shared<BenchTrainOptions>();
  app.add_option("--arch", o->arch, "architecture JSON (scripts/bench/*_arch.json)")->required();
  app.add_option("--threads", o->threads);
  app.add_option("--batch", o->batch);
  app.add_option("--iterations", o->iterations);
  app.add_option("--warmup", o->warmup);
  app.add_option("--batch-dice", o->batch_dice);
  app.add_option("--amp", o->amp);
  app.add_option("--device", o->device);
  return [o] { return run_bench(*o); };
}

const CommandRegistrar bench_registrar({"bench-train-step", 991, install_bench});

}  // namespace
}  // namespace nnfleet::launcher
