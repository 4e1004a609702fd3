#pragma once
// Data-parallel gradient synchronisation for one job's group of ranks, and the small tensor
// collectives a trainer needs (batch-Dice statistics).
//
// Note [gradient bucket order]: the gradients are flattened into buckets of about `bucket_bytes`
// (a parameter larger than that gets a bucket of its own; bucket_bytes = 0 means one bucket per
// parameter). Buckets are filled in *reverse* parameter order, because backward produces the
// last layers' gradients first, so bucket 0 is ready first (PyTorch DDP does the same). The layout
// depends only on the parameters' shapes, dtypes and order, so it is identical on every rank.
// Buckets are started strictly in bucket-index order on every rank, whatever order the gradients
// become ready in: MPI and NCCL both require every rank to issue collectives in the same order.
//
// Note [overlap with backward]: a post-accumulate-grad hook on every parameter counts the
// gradients of its bucket; when a bucket is complete (and all buckets before it have started),
// its all-reduce starts while backward continues. synchronize() starts what is left (parameters
// without a gradient count as zero), waits, averages and writes the results back to .grad.
// One backward per synchronize(): a second gradient for a parameter whose bucket has already
// started is an error (call set_overlap(false) for gradient accumulation).
//
// Note [streams and ordering] (CUDA parameters, NCCL): every bucket waits on an event recorded on
// the stream that produced the gradient (the current stream of the autograd thread), then copies
// the gradients into its buffer and runs ncclAllReduce(ncclAvg) on a dedicated communication
// stream, so communication overlaps with the rest of backward. synchronize() copies the averaged
// buckets back on the communication stream, makes the caller's current stream wait on it, and
// then waits on the host (polling the event and ncclCommGetAsyncError against the deadline;
// Note [collective timeouts]). Gradients used on the communication stream are recorded with the
// caching allocator (recordStream) so their memory is not reused early.
// CPU parameters use MPI_Iallreduce on the bucket buffers and divide by the group size.

#include <torch/types.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "dist/mpi_world.h"

namespace nnfleet::dist {

// One bucket: which parameters (indices into the parameter list) and where each starts in the
// flat buffer (in elements).
struct BucketLayout {
  std::vector<std::size_t> params;
  std::vector<int64_t> offsets;
  int64_t numel = 0;
  torch::ScalarType dtype = torch::kFloat;
  torch::Device device = torch::kCPU;
};

// The layout of Note [gradient bucket order]. A bucket never mixes dtypes or devices.
std::vector<BucketLayout> plan_buckets(const std::vector<torch::Tensor>& parameters,
                                       std::size_t bucket_bytes);

class GradientSync {
 public:
  // Buckets the parameters' gradients (order fixed: parameter order, identical on every rank).
  // Parameters that do not require grad are left out. All parameters must live on one device
  // (CPU: MPI; CUDA: NCCL, whose communicator is formed here: collective over `group`).
  // `group` must outlive this object. An empty job_name takes the group's job name.
  GradientSync(const Comm& group, std::vector<torch::Tensor> parameters,
               size_t bucket_bytes = 25u << 20,
               std::chrono::seconds timeout = std::chrono::minutes(10),
               std::string job_name = "");
  ~GradientSync();
  GradientSync(const GradientSync&) = delete;
  GradientSync& operator=(const GradientSync&) = delete;
  GradientSync(GradientSync&&) noexcept;
  GradientSync& operator=(GradientSync&&) noexcept;

  void broadcast_parameters(int root = 0);  // initial weights from the group's first rank
  void synchronize();  // after backward: all-reduce + average, copy back (blocking)

  // Start buckets during backward (default on). Off: everything runs in synchronize().
  void set_overlap(bool on);
  const std::vector<BucketLayout>& buckets() const;
  // Bytes of gradient each rank hands to the all-reduce per step (the sum of the bucket sizes).
  int64_t bytes_per_step() const;
  // Buckets of the last synchronize() that had started during backward (Note [overlap ...]).
  int buckets_started_in_backward() const;
  bool uses_nccl() const;

  struct State;  // implementation detail (dist/grad_sync_internal.h)

 private:
  std::shared_ptr<State> state_;
};

// Sums a tensor over the group in place (batch-Dice statistics: one collective per step).
// CPU tensors: MPI; CUDA tensors: NCCL on the group's communicator when a GradientSync on CUDA
// exists for `group`, else through host memory. Uses the group's collective options.
void allreduce_sum(const Comm& group, torch::Tensor& t);

// Differentiable sum over the group: the result is the sum of every rank's `t`; backward sums the
// incoming gradients over the group (the adjoint of the sum), like nnU-Net's AllGatherGrad. With
// the group's gradient averaging afterwards, a batch-Dice loss computed from summed statistics
// gets exactly the single-process gradient (no extra scaling by the group size).
torch::Tensor allreduce_sum_differentiable(const Comm& group, const torch::Tensor& t);

}  // namespace nnfleet::dist
