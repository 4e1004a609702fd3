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

// The physical identity of `device` for dist::check_gpu_layout: the PCI bus id of a CUDA device
// (the same GPU gives the same id whatever CUDA_VISIBLE_DEVICES numbering a rank sees), or "cpu".
std::string device_identity(const torch::Device& device);

}  // namespace nnfleet::dist
