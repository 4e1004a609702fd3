// GPU check of the NCCL path (run by scripts/gpu-check.sh on a GPU machine): forms a one-rank
// NCCL communicator, runs the bucketed gradient all-reduce of a nnU-Net-sized parameter set
// (~31.2 M fp32 parameters in 108 tensors, the default 3d_fullres U-Net) through GradientSync
// with buckets and with one call per parameter, checks the result, and prints timings.
//
//   nnfleet_nccl_check [--device 0] [--repeats 20] [--bucket-mb 25]
//
// Exit status 0 when every check passed, 1 on a wrong result, 2 when no GPU is visible.
// Under mpirun with several ranks (one GPU each) it runs the same on the world group.

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "dist/grad_sync.h"
#include "dist/job_group.h"
#include "dist/nccl_comm.h"

namespace {

using Clock = std::chrono::steady_clock;

// Shapes of the default 6-stage 3d_fullres PlainConvUNet (features 32..320, 3 classes).
std::vector<std::vector<int64_t>> default_unet_shapes() {
  const std::vector<int64_t> f{32, 64, 128, 256, 320, 320};
  std::vector<std::vector<int64_t>> shapes;
  auto conv = [&](int64_t in, int64_t out, int64_t k) {
    shapes.push_back({out, in, k, k, k});
    shapes.push_back({out});  // bias
    shapes.push_back({out});  // norm weight
    shapes.push_back({out});  // norm bias
  };
  int64_t in = 1;
  for (int64_t c : f) {
    conv(in, c, 3);
    conv(c, c, 3);
    in = c;
  }
  for (int s = static_cast<int>(f.size()) - 2; s >= 0; --s) {
    shapes.push_back({f[s + 1], f[s], 2, 2, 2});  // transposed conv weight
    shapes.push_back({f[s]});
    conv(2 * f[s], f[s], 3);
    conv(f[s], f[s], 3);
    shapes.push_back({3, f[s], 1, 1, 1});  // head
    shapes.push_back({3});
  }
  return shapes;
}

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

int main(int argc, char** argv) {
  using namespace nnfleet::dist;
  MpiSession mpi(&argc, &argv);
  int device = -1, repeats = 20;
  double bucket_mb = 25;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() { return std::string(i + 1 < argc ? argv[++i] : "0"); };
    if (a == "--device") device = std::stoi(next());
    else if (a == "--repeats") repeats = std::stoi(next());
    else if (a == "--bucket-mb") bucket_mb = std::stod(next());
  }
  if (!torch::cuda::is_available()) {
    std::printf("nccl_check: no CUDA device visible; nothing to check\n");
    return 2;
  }
  if (device < 0) device = mpi.local_rank() % static_cast<int>(torch::cuda::device_count());
  int nccl_version = 0;
  ncclGetVersion(&nccl_version);
  const Comm& world = mpi.world();
  std::vector<int> everyone;
  for (int r = 0; r < world.size(); ++r) everyone.push_back(r);
  JobGroup group(world, everyone, 0, {"nccl-check", std::chrono::minutes(2)});

  // 1. A bare communicator made without MPI (1 rank), then torn down.
  if (world.size() == 1) {
    const auto t0 = Clock::now();
    NcclComm single = NcclComm::single(device, {"nccl-check", std::chrono::minutes(2)});
    std::printf("nccl_check: NCCL %d, one-rank communicator on cuda:%d formed in %.1f ms\n",
                nccl_version, device, ms(Clock::now() - t0));
  }

  // 2. Bucketed gradient all-reduce through GradientSync.
  const auto options = torch::TensorOptions().device(torch::Device(torch::kCUDA, device));
  std::vector<torch::Tensor> params;
  int64_t numel = 0;
  for (const auto& shape : default_unet_shapes()) {
    params.push_back(torch::zeros(shape, options).requires_grad_());
    numel += params.back().numel();
  }
  int failures = 0;
  for (bool per_parameter : {false, true}) {
    const std::size_t cap = per_parameter ? 0 : static_cast<std::size_t>(bucket_mb * (1 << 20));
    const auto f0 = Clock::now();
    GradientSync sync(group.comm(), params, cap, std::chrono::seconds(120), "nccl-check");
    const double form_ms = ms(Clock::now() - f0);
    sync.broadcast_parameters();
    const float value = static_cast<float>(group.rank() + 1);
    for (auto& p : params) p.mutable_grad() = torch::full_like(p, value);
    sync.synchronize();  // warm-up
    torch::cuda::synchronize();
    const auto t0 = Clock::now();
    for (int i = 0; i < repeats; ++i) {
      for (auto& p : params) p.mutable_grad().fill_(value);
      sync.synchronize();
    }
    torch::cuda::synchronize();
    const double per_step = ms(Clock::now() - t0) / repeats;
    const float expected = (group.size() + 1) / 2.0f;
    double worst = 0;
    for (auto& p : params)
      worst = std::max(worst, (p.grad() - expected).abs().max().item<double>());
    const bool ok = worst < 1e-5;
    failures += ok ? 0 : 1;
    if (group.rank() == 0)
      std::printf(
          "nccl_check: %s ranks=%d params=%lld tensors=%zu buckets=%zu bytes=%.1fMB "
          "comm_init_ms=%.1f allreduce_ms=%.3f (fill + all-reduce + copy back, mean of %d) "
          "algbw=%.1fGB/s result=%s (max error %.2g)\n",
          per_parameter ? "per-parameter" : "bucketed", group.size(),
          static_cast<long long>(numel), params.size(), sync.buckets().size(),
          sync.bytes_per_step() / 1e6, form_ms, per_step, repeats,
          sync.bytes_per_step() / 1e9 / (per_step / 1e3), ok ? "ok" : "WRONG", worst);
  }

  // 3. Overlap: buckets start during a real backward.
  {
    GradientSync sync(group.comm(), params, 4u << 20, std::chrono::seconds(120), "nccl-check");
    for (auto& p : params) p.mutable_grad().reset();
    torch::Tensor loss = torch::zeros({}, options);
    for (auto& p : params) loss = loss + p.sum() * (group.rank() + 1);
    const auto t0 = Clock::now();
    loss.backward();
    sync.synchronize();
    torch::cuda::synchronize();
    const float expected = (group.size() + 1) / 2.0f;
    double worst = 0;
    for (auto& p : params)
      worst = std::max(worst, (p.grad() - expected).abs().max().item<double>());
    failures += worst < 1e-5 ? 0 : 1;
    if (group.rank() == 0)
      std::printf("nccl_check: backward+sync %.3f ms, %d of %zu buckets started during backward, "
                  "result=%s\n",
                  ms(Clock::now() - t0), sync.buckets_started_in_backward(), sync.buckets().size(),
                  worst < 1e-5 ? "ok" : "WRONG");
  }

  // 4. allreduce_sum on a CUDA tensor (batch-Dice statistics) over the group's NCCL comm.
  {
    GradientSync sync(group.comm(), params, 25u << 20, std::chrono::seconds(120), "nccl-check");
    torch::Tensor stats = torch::ones({3, 3}, options);
    const auto t0 = Clock::now();
    allreduce_sum(group.comm(), stats);
    const double took = ms(Clock::now() - t0);
    const bool ok = torch::allclose(stats.cpu(), torch::full({3, 3}, float(group.size())));
    failures += ok ? 0 : 1;
    if (group.rank() == 0)
      std::printf("nccl_check: allreduce_sum of 9 floats %.3f ms result=%s\n", took,
                  ok ? "ok" : "WRONG");
  }
  group.dissolve();
  if (group.rank() == 0 || world.size() == 1)
    std::printf("nccl_check: %s\n", failures == 0 ? "ALL OK" : "FAILED");
  return failures == 0 ? 0 : 1;
}
