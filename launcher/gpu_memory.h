#pragma once
// The planner's GPU memory target as `plan-preprocess` and `sweep` choose it: the flag when given
// (> 0), else the smallest visible GPU's memory (nvidia-smi), else nnU-Net's default of 8 GB.

#include <string>

namespace nnfleet::launcher {

struct GpuMemoryTarget {
  double gb = 8;
  std::string source;  // "--gpu-memory", "visible GPU" or "default (no GPU visible)"
};

GpuMemoryTarget planner_gpu_memory(double flag_gb);

}  // namespace nnfleet::launcher
