#pragma once
// Internals of GradientSync shared by the MPI path (grad_sync.cpp) and the NCCL path
// (nccl_grad_sync.cpp). Not for use outside dist/.

#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include "dist/grad_sync.h"
#include "dist/mpi_request.h"

namespace nnfleet::dist {

struct Bucket {
  BucketLayout layout;
  torch::Tensor buffer;  // flat, layout.numel elements, on the parameters' device
  int missing = 0;       // gradients of this bucket not yet ready in this step
  bool started = false;
  bool from_hook = false;
  MpiRequest request;    // CPU path only
};

// What is copied into / out of the bucket buffers.
enum class Payload { kGradient, kParameter };

// Copies the bucket's gradients (an undefined gradient as zeros) or parameter values into the
// buffer, on the current stream.
void pack(Bucket& bucket, const std::vector<torch::Tensor>& parameters, Payload payload);
// Copies the buffer back (creating undefined gradients), on the current stream.
void unpack(const Bucket& bucket, const std::vector<torch::Tensor>& parameters, Payload payload);

// The collective backend: MPI on CPU tensors, NCCL on CUDA tensors. Every call is made in bucket
// order with the State's mutex held.
class SyncBackend {
 public:
  virtual ~SyncBackend() = default;
  // Packs the bucket's gradients and starts its averaging all-reduce.
  virtual void start_allreduce(Bucket& bucket, const std::vector<torch::Tensor>& parameters) = 0;
  // Waits for every started bucket, and writes the averages back into the gradients.
  virtual void finish_allreduce(std::vector<Bucket>& buckets,
                                const std::vector<torch::Tensor>& parameters) = 0;
  // Broadcasts the parameter values bucket by bucket from `root`, and waits.
  virtual void broadcast(std::vector<Bucket>& buckets,
                         const std::vector<torch::Tensor>& parameters, int root) = 0;
  virtual bool is_nccl() const = 0;
};

std::unique_ptr<SyncBackend> make_mpi_backend(const Comm& group, CollectiveOptions options);
#ifdef NNFLEET_HAVE_NCCL
// Forms the group's NCCL communicator (collective over `group`) on `device`.
std::unique_ptr<SyncBackend> make_nccl_backend(const Comm& group, CollectiveOptions options,
                                               torch::Device device);
// Sums a CUDA tensor over `group` on the NCCL communicator of a live GradientSync for it;
// false when there is none.
bool nccl_allreduce_sum(const Comm& group, torch::Tensor& t);
#endif

struct GradientSync::State {
  const Comm* group = nullptr;
  CollectiveOptions options;
  std::vector<torch::Tensor> parameters;
  std::vector<Bucket> buckets;
  std::vector<BucketLayout> layouts;   // buckets[i].layout, for GradientSync::buckets()
  std::vector<std::size_t> bucket_of;  // parameter index -> bucket index
  std::vector<char> ready;             // parameter index -> gradient ready in this step
  std::size_t next_to_start = 0;
  bool overlap = true;
  int started_in_backward = 0;       // in the current step
  int started_in_backward_last = 0;  // in the last finished step
  std::unique_ptr<SyncBackend> backend;
  std::mutex mutex;  // guards everything above against the autograd threads running the hooks

  void on_gradient_ready(std::size_t parameter);  // from a hook
  void start_ready_buckets(bool from_hook);       // mutex held
  void reset_step();                              // mutex held
};

}  // namespace nnfleet::dist
