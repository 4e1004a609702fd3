#include "launcher/gpu_memory.h"

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace nnfleet::launcher {
namespace {

// Smallest total memory of the visible GPUs in GB (nvidia-smi), or 0 when there is none.
double visible_gpu_memory_gb() {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(
      ::popen("nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits 2>/dev/null", "r"),
      ::pclose);
  if (!pipe) return 0;
  char line[128];
  double smallest = 0;
  while (std::fgets(line, sizeof line, pipe.get())) {
    const double mib = std::atof(line);
    if (mib > 0 && (smallest == 0 || mib < smallest)) smallest = mib;
  }
  return smallest / 1024.0;
}

}  // namespace

GpuMemoryTarget planner_gpu_memory(double flag_gb) {
  if (flag_gb > 0) return {flag_gb, "--gpu-memory"};
  const double visible = visible_gpu_memory_gb();
  if (visible > 0) return {visible, "visible GPU"};
  return {8, "default (no GPU visible)"};
}

}  // namespace nnfleet::launcher
