#include "dist/device_map.h"

#include <torch/cuda.h>

#include "common/error.h"

#ifdef NNFLEET_HAVE_NCCL
#include <cuda_runtime_api.h>
#endif

namespace nnfleet::dist {

int visible_gpu_count() { return torch::cuda::is_available() ? torch::cuda::device_count() : 0; }

torch::Device device_for_rank(const std::string& request, int local_rank) {
  if (request == "cpu") return torch::Device(torch::kCPU);
  const int gpus = visible_gpu_count();
  if (request == "auto") {
    if (gpus == 0) return torch::Device(torch::kCPU);
  } else if (request != "cuda") {
    throw Error("unknown device '" + request + "': use cpu, cuda or auto");
  }
  if (gpus == 0)
    throw Error("--device cuda was requested but no CUDA GPU is visible to this process "
                "(CUDA_VISIBLE_DEVICES='" +
                std::string(std::getenv("CUDA_VISIBLE_DEVICES") ? std::getenv("CUDA_VISIBLE_DEVICES")
                                                                : "") +
                "'); use --device cpu");
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank % gpus));
}

std::string device_identity(const torch::Device& device) {
  if (!device.is_cuda()) return "cpu";
  const int index = device.has_index() ? device.index() : 0;
#ifdef NNFLEET_HAVE_NCCL
  char bus_id[64] = {};
  if (cudaDeviceGetPCIBusId(bus_id, sizeof(bus_id), index) == cudaSuccess) return bus_id;
#endif
  return "cuda:" + std::to_string(index);
}

}  // namespace nnfleet::dist
