// A rank that stops responding inside a collective: the others must give up after the (short)
// timeout, print which job, rank and operation, and end the run with a non-zero status instead of
// hanging. Registered in tests/CMakeLists.txt through expect_failure.cmake, which checks the exit
// status, the message and the elapsed time.
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "dist/grad_sync.h"
#include "dist/job_group.h"

int main(int argc, char** argv) {
  using namespace nnfleet::dist;
  MpiSession mpi(&argc, &argv);
  const Comm& world = mpi.world();
  if (world.size() < 2) {
    std::fprintf(stderr, "needs at least 2 ranks\n");
    return 2;
  }
  std::vector<int> everyone;
  for (int r = 0; r < world.size(); ++r) everyone.push_back(r);
  JobGroup group(world, everyone, 0, {"hang-test", std::chrono::seconds(2)});
  auto w = torch::ones({1000}, torch::requires_grad());
  GradientSync sync(group.comm(), {w}, 25u << 20, std::chrono::seconds(2), "hang-test");

  // One healthy step: everybody takes part.
  (w * static_cast<float>(world.rank())).sum().backward();
  sync.synchronize();

  // The last rank stops responding (a stuck data loader, a deadlock, ...) instead of joining the
  // next all-reduce; it would sleep far longer than the test's limit.
  if (world.rank() == world.size() - 1) {
    std::this_thread::sleep_for(std::chrono::seconds(120));
    return 0;
  }
  w.mutable_grad().zero_();
  (w * 2).sum().backward();
  sync.synchronize();  // must not return: the timeout ends the run
  std::fprintf(stderr, "synchronize() returned although a peer never joined\n");
  return 0;
}
