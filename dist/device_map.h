#pragma once
// Rank-to-device mapping: device = local rank modulo the visible GPUs (see DESIGN.md section 5).

#include <torch/types.h>

#include <string>

namespace nnfleet::dist {

// "cpu" -> CPU; "cuda" -> cuda:(local_rank % visible GPUs); "auto" -> CUDA when a GPU is visible,
// else CPU. Throws nnfleet::Error when CUDA is requested but no GPU is visible or LibTorch was
// built without CUDA.
torch::Device device_for_rank(const std::string& request, int local_rank);

// Number of CUDA devices visible to this process (0 on CPU-only machines or builds).
int visible_gpu_count();

}  // namespace nnfleet::dist
