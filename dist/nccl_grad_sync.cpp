// The NCCL path of GradientSync and allreduce_sum for CUDA tensors (Note [streams and ordering]
// in dist/grad_sync.h). Compiled only when NCCL is found.

#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <map>

#include "common/error.h"
#include "dist/grad_sync_internal.h"
#include "dist/nccl_comm.h"

namespace nnfleet::dist {
namespace {

ncclDataType_t nccl_type(torch::ScalarType type, const CollectiveOptions& options) {
  switch (type) {
    case torch::kFloat: return ncclFloat32;
    case torch::kDouble: return ncclFloat64;
    case torch::kHalf: return ncclFloat16;
    case torch::kBFloat16: return ncclBfloat16;
    case torch::kInt: return ncclInt32;
    case torch::kLong: return ncclInt64;
    default:
      throw Error("[dist] job '" + options.job + "': NCCL collectives do not support " +
                  std::string(c10::toString(type)) + " tensors");
  }
}

// A group's NCCL communicator and the stream its collectives run on. The mutex serialises the
// users (the gradient buckets and allreduce_sum), so collectives are issued in one order.
struct NcclContext {
  NcclContext(NcclComm c, c10::cuda::CUDAStream s) : comm(std::move(c)), stream(s) {}
  NcclComm comm;
  c10::cuda::CUDAStream stream;
  std::mutex mutex;
};

// MPI communicator -> the NCCL context of a live GradientSync on it (for allreduce_sum).
std::mutex g_registry_mutex;
std::map<MPI_Comm, std::weak_ptr<NcclContext>> g_registry;

// Marks `t`'s memory as used on `stream`, so the caching allocator does not hand it out again
// before the work queued there has finished.
void record_stream(const torch::Tensor& t, const c10::cuda::CUDAStream& stream) {
  if (t.defined() && t.is_cuda())
    c10::cuda::CUDACachingAllocator::recordStream(t.storage().data_ptr(), stream);
}

// `waiter` waits for everything queued on `producer` so far (no host synchronisation).
void order_after(const c10::cuda::CUDAStream& producer, const c10::cuda::CUDAStream& waiter) {
  at::cuda::CUDAEvent event;
  event.record(producer);
  event.block(waiter);
}

class NcclBackend final : public SyncBackend {
 public:
  NcclBackend(const Comm& group, CollectiveOptions options, torch::Device device)
      : group_handle_(group.get()), options_(options), device_(device.index()) {
    c10::cuda::CUDAGuard guard(device_);
    context_ = std::make_shared<NcclContext>(NcclComm(group, device_, options_),
                                             c10::cuda::getStreamFromPool(true, device_));
    std::lock_guard<std::mutex> lock(g_registry_mutex);
    g_registry[group_handle_] = context_;
  }

  ~NcclBackend() override {
    std::lock_guard<std::mutex> lock(g_registry_mutex);
    auto it = g_registry.find(group_handle_);
    if (it != g_registry.end() && it->second.lock() == context_) g_registry.erase(it);
  }

  void start_allreduce(Bucket& bucket, const std::vector<torch::Tensor>& parameters) override {
    std::lock_guard<std::mutex> lock(context_->mutex);
    if (!step_started_) {
      step_start_ = std::chrono::steady_clock::now();
      step_started_ = true;
    }
    const auto compute = c10::cuda::getCurrentCUDAStream(device_);
    order_after(compute, context_->stream);
    {
      c10::cuda::CUDAStreamGuard on_comm(context_->stream);
      pack(bucket, parameters, Payload::kGradient);
    }
    record_stream(bucket.buffer, context_->stream);
    for (std::size_t k : bucket.layout.params) record_stream(parameters[k].grad(), context_->stream);
    context_->comm.all_reduce(bucket.buffer.data_ptr(), static_cast<size_t>(bucket.layout.numel),
                              nccl_type(bucket.layout.dtype, options_), ncclAvg,
                              context_->stream.stream(),
                              "gradient all-reduce (ncclAllReduce of " +
                                  std::to_string(bucket.layout.numel) + " elements)");
  }

  void finish_allreduce(std::vector<Bucket>& buckets,
                        const std::vector<torch::Tensor>& parameters) override {
    std::lock_guard<std::mutex> lock(context_->mutex);
    const auto compute = c10::cuda::getCurrentCUDAStream(device_);
    // Gradients that backward did not produce are made on the compute stream, where the
    // optimizer will use them, and only then written on the communication stream.
    {
      torch::NoGradGuard no_grad;
      for (auto p : parameters)
        if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    }
    order_after(compute, context_->stream);
    {
      c10::cuda::CUDAStreamGuard on_comm(context_->stream);
      for (const Bucket& bucket : buckets) unpack(bucket, parameters, Payload::kGradient);
    }
    for (const auto& p : parameters) record_stream(p.grad(), context_->stream);
    wait_for_comm_stream(compute, "gradient all-reduce");
  }

  void broadcast(std::vector<Bucket>& buckets, const std::vector<torch::Tensor>& parameters,
                 int root) override {
    std::lock_guard<std::mutex> lock(context_->mutex);
    step_start_ = std::chrono::steady_clock::now();
    step_started_ = true;
    const auto compute = c10::cuda::getCurrentCUDAStream(device_);
    order_after(compute, context_->stream);
    for (Bucket& bucket : buckets) {
      {
        c10::cuda::CUDAStreamGuard on_comm(context_->stream);
        pack(bucket, parameters, Payload::kParameter);
      }
      record_stream(bucket.buffer, context_->stream);
      context_->comm.broadcast(bucket.buffer.data_ptr(), static_cast<size_t>(bucket.layout.numel),
                               nccl_type(bucket.layout.dtype, options_), root,
                               context_->stream.stream(), "parameter broadcast (ncclBroadcast)");
      c10::cuda::CUDAStreamGuard on_comm(context_->stream);
      unpack(bucket, parameters, Payload::kParameter);
    }
    for (const auto& p : parameters) record_stream(p, context_->stream);
    wait_for_comm_stream(compute, "parameter broadcast");
  }

  bool is_nccl() const override { return true; }

 private:
  // The compute stream waits for the communication stream, then the host waits (with the
  // deadline) so that a hung peer ends the run instead of the next step.
  void wait_for_comm_stream(const c10::cuda::CUDAStream& compute, const std::string& operation) {
    at::cuda::CUDAEvent done;
    done.record(context_->stream);
    done.block(compute);
    const auto started = step_started_ ? step_start_ : std::chrono::steady_clock::now();
    step_started_ = false;
    context_->comm.wait_event(done.event(), started, operation);
  }

  MPI_Comm group_handle_;
  CollectiveOptions options_;
  c10::DeviceIndex device_;
  std::shared_ptr<NcclContext> context_;
  bool step_started_ = false;
  std::chrono::steady_clock::time_point step_start_{};
};

}  // namespace

std::unique_ptr<SyncBackend> make_nccl_backend(const Comm& group, CollectiveOptions options,
                                               torch::Device device) {
  return std::make_unique<NcclBackend>(group, std::move(options), device);
}

bool nccl_allreduce_sum(const Comm& group, torch::Tensor& t) {
  std::shared_ptr<NcclContext> context;
  {
    std::lock_guard<std::mutex> lock(g_registry_mutex);
    auto it = g_registry.find(group.get());
    if (it != g_registry.end()) context = it->second.lock();
  }
  if (!context || context->comm.device() != t.device().index()) return false;
  std::lock_guard<std::mutex> lock(context->mutex);
  const auto started = std::chrono::steady_clock::now();
  const auto compute = c10::cuda::getCurrentCUDAStream(t.device().index());
  torch::Tensor work = t.is_contiguous() ? t : t.contiguous();
  order_after(compute, context->stream);
  record_stream(work, context->stream);
  const std::string operation = "allreduce_sum (ncclAllReduce of " +
                                std::to_string(work.numel()) + " elements)";
  context->comm.all_reduce(work.data_ptr(), static_cast<size_t>(work.numel()),
                           nccl_type(work.scalar_type(), group.collective_options()), ncclSum,
                           context->stream.stream(), operation);
  at::cuda::CUDAEvent done;
  done.record(context->stream);
  done.block(compute);
  context->comm.wait_event(done.event(), started, operation);
  if (!work.is_same(t)) t.copy_(work);
  return true;
}

}  // namespace nnfleet::dist
