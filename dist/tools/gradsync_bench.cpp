// Gradient-synchronisation benchmark (scripts/bench/bench_gradsync.sh runs it under mpirun):
// trains the nnU-Net v2 PlainConvUNet of a plan on random data, data-parallel over the world,
// and reports the share of step time spent in gradient synchronisation, the bytes all-reduced
// per step, and the pure all-reduce time of the gradient set, with buckets or one call per
// parameter.
//
//   nnfleet_gradsync_bench [--network hippocampus|default6] [--bucket-mb 25 | --per-parameter]
//                          [--steps 3] [--sync-repeats 10] [--no-overlap]
//
// The network: nnU-Net's PlainConvUNet (Conv-InstanceNorm-LeakyReLU, transposed-conv upsampling,
// 1x1 heads at every decoder stage), built here with torch::nn so the benchmark does not depend
// on models/. "hippocampus" is the Dataset004 3d_fullres plan (4 stages 32..256, patch 40x56x40,
// batch 9: 5,603,177 parameters in 68 tensors, the same count as dynamic_network_architectures);
// "default6" is the 6-stage 32..320 network (31,196,399 parameters, 108 tensors) at patch
// 64x64x64 (smaller than nnU-Net's 128^3 to fit a CPU benchmark), batch 2.

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "dist/batch_split.h"
#include "dist/grad_sync.h"
#include "dist/job_group.h"

namespace {

using Clock = std::chrono::steady_clock;

struct NetSpec {
  std::vector<int64_t> features;
  std::vector<int64_t> patch;
  int global_batch;
  int classes = 3;
};

// Appends Conv(3x3x3) + InstanceNorm(affine, eps 1e-5) + LeakyReLU(0.01) to `stage`.
void conv_block(torch::nn::Sequential& stage, int64_t in, int64_t out, int64_t stride) {
  stage->push_back(
      torch::nn::Conv3d(torch::nn::Conv3dOptions(in, out, 3).stride(stride).padding(1)));
  stage->push_back(
      torch::nn::InstanceNorm3d(torch::nn::InstanceNormOptions(out).eps(1e-5).affine(true)));
  stage->push_back(
      torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.01).inplace(true)));
}

struct PlainUNetImpl : torch::nn::Module {
  explicit PlainUNetImpl(const NetSpec& spec) {
    const int n = static_cast<int>(spec.features.size());
    int64_t in = 1;
    for (int s = 0; s < n; ++s) {
      torch::nn::Sequential stage;
      conv_block(stage, in, spec.features[s], s == 0 ? 1 : 2);
      conv_block(stage, spec.features[s], spec.features[s], 1);
      encoder.push_back(register_module("enc" + std::to_string(s), stage));
      in = spec.features[s];
    }
    for (int s = n - 2; s >= 0; --s) {
      const int64_t f = spec.features[s];
      up.push_back(register_module(
          "up" + std::to_string(s),
          torch::nn::ConvTranspose3d(torch::nn::ConvTranspose3dOptions(spec.features[s + 1], f, 2)
                                         .stride(2))));
      torch::nn::Sequential stage;
      conv_block(stage, 2 * f, f, 1);
      conv_block(stage, f, f, 1);
      decoder.push_back(register_module("dec" + std::to_string(s), stage));
      heads.push_back(register_module(
          "head" + std::to_string(s),
          torch::nn::Conv3d(torch::nn::Conv3dOptions(f, spec.classes, 1))));
    }
  }
  std::vector<torch::Tensor> forward(torch::Tensor x) {
    std::vector<torch::Tensor> skips;
    for (auto& stage : encoder) skips.push_back(x = stage->forward(x));
    std::vector<torch::Tensor> outputs;
    for (std::size_t d = 0; d < decoder.size(); ++d) {
      x = up[d]->forward(x);
      x = decoder[d]->forward(torch::cat({x, skips[skips.size() - 2 - d]}, 1));
      outputs.insert(outputs.begin(), heads[d]->forward(x));  // full resolution first
    }
    return outputs;
  }
  std::vector<torch::nn::Sequential> encoder, decoder;
  std::vector<torch::nn::ConvTranspose3d> up;
  std::vector<torch::nn::Conv3d> heads;
};
TORCH_MODULE(PlainUNet);

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

int main(int argc, char** argv) {
  using namespace nnfleet::dist;
  MpiSession mpi(&argc, &argv);
  std::string network = "hippocampus";
  double bucket_mb = 25;
  bool per_parameter = false, overlap = true;
  int steps = 3, sync_repeats = 10;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() { return std::string(i + 1 < argc ? argv[++i] : ""); };
    if (a == "--network") network = next();
    else if (a == "--bucket-mb") bucket_mb = std::stod(next());
    else if (a == "--per-parameter") per_parameter = true;
    else if (a == "--steps") steps = std::stoi(next());
    else if (a == "--sync-repeats") sync_repeats = std::stoi(next());
    else if (a == "--no-overlap") overlap = false;
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  const NetSpec spec = network == "default6"
                           ? NetSpec{{32, 64, 128, 256, 320, 320}, {64, 64, 64}, 2}
                           : NetSpec{{32, 64, 128, 256}, {40, 56, 40}, 9};
  torch::set_num_threads(1);
  const Comm& world = mpi.world();
  std::vector<int> everyone;
  for (int r = 0; r < world.size(); ++r) everyone.push_back(r);
  JobGroup group(world, everyone, 0, {"bench/" + network, std::chrono::minutes(10)});

  torch::manual_seed(1);
  PlainUNet net(spec);
  const auto params = net->parameters();
  int64_t numel = 0;
  for (const auto& p : params) numel += p.numel();
  const std::size_t bucket_bytes =
      per_parameter ? 0 : static_cast<std::size_t>(bucket_mb * (1 << 20));
  GradientSync sync(group.comm(), params, bucket_bytes, std::chrono::minutes(10));
  sync.set_overlap(overlap);
  sync.broadcast_parameters();
  torch::optim::SGD sgd(params, torch::optim::SGDOptions(0.01).momentum(0.99).nesterov(true));

  const BatchShare share = batch_share(spec.global_batch, group.rank(), group.size());
  std::vector<int64_t> shape{share.size(), 1};
  shape.insert(shape.end(), spec.patch.begin(), spec.patch.end());
  torch::Tensor x = torch::randn(shape);
  torch::Tensor y = torch::randint(0, spec.classes, {share.size(), 1, spec.patch[0], spec.patch[1],
                                                     spec.patch[2]});

  // Training steps: forward + backward + synchronize + SGD. The first step is a warm-up.
  double step_total = 0, sync_total = 0;
  for (int step = 0; step <= steps; ++step) {
    group.comm().barrier();
    const auto t0 = Clock::now();
    sgd.zero_grad();
    auto outputs = net->forward(x);
    torch::Tensor loss = torch::cross_entropy_loss(outputs[0], y.squeeze(1));
    loss.backward();
    const auto t1 = Clock::now();
    sync.synchronize();
    const auto t2 = Clock::now();
    sgd.step();
    const auto t3 = Clock::now();
    if (step == 0) continue;
    step_total += seconds(t3 - t0);
    sync_total += seconds(t2 - t1);
  }
  // The all-reduce of the gradient set alone (no compute), averaged over repeats.
  sync.set_overlap(false);
  group.comm().barrier();
  const auto s0 = Clock::now();
  for (int i = 0; i < sync_repeats; ++i) sync.synchronize();
  const double pure_sync = seconds(Clock::now() - s0) / sync_repeats;

  const double max_step = group.comm().allreduce_max(step_total / steps);
  const double max_sync = group.comm().allreduce_max(sync_total / steps);
  const double max_pure = group.comm().allreduce_max(pure_sync);
  if (group.rank() == 0) {
    const int n = group.size();
    char mode[64];
    std::snprintf(mode, sizeof(mode), per_parameter ? "per-parameter" : "buckets-%gMB", bucket_mb);
    const double bytes = static_cast<double>(sync.bytes_per_step());
    // A ring all-reduce sends (and receives) 2 (n - 1) / n times the buffer per rank.
    const double wire = n > 1 ? bytes * 2.0 * (n - 1) / n : 0.0;
    std::printf(
        "network=%s params=%lld tensors=%zu ranks=%d local_batch=%d mode=%s buckets=%zu "
        "overlap=%s step_s=%.3f sync_in_step_s=%.4f sync_share=%.1f%% allreduce_only_s=%.4f "
        "bytes_per_step=%.1fMB wire_bytes_per_rank=%.1fMB\n",
        network.c_str(), static_cast<long long>(numel), params.size(), n, share.size(),
        mode,
        sync.buckets().size(), overlap ? "on" : "off", max_step, max_sync,
        100.0 * max_sync / max_step, max_pure, bytes / 1e6, wire / 1e6);
  }
  group.dissolve();
  return 0;
}
