#include "dist/grad_sync.h"

#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include "common/error.h"
#include "dist/grad_sync_internal.h"

namespace nnfleet::dist {

// ---- bucket layout -----------------------------------------------------------------------------

std::vector<BucketLayout> plan_buckets(const std::vector<torch::Tensor>& parameters,
                                       std::size_t bucket_bytes) {
  // Note [gradient bucket order]: reverse parameter order, a new bucket when the next parameter
  // would overflow the current one or has another dtype or device.
  std::vector<BucketLayout> buckets;
  std::size_t current_bytes = 0;
  for (std::size_t k = parameters.size(); k-- > 0;) {
    const torch::Tensor& p = parameters[k];
    const std::size_t bytes = static_cast<std::size_t>(p.numel()) * p.element_size();
    const bool fits = !buckets.empty() && buckets.back().dtype == p.scalar_type() &&
                      buckets.back().device == p.device() &&
                      current_bytes + bytes <= bucket_bytes;
    if (!fits) {
      buckets.emplace_back();
      buckets.back().dtype = p.scalar_type();
      buckets.back().device = p.device();
      current_bytes = 0;
    }
    BucketLayout& b = buckets.back();
    b.params.push_back(k);
    b.offsets.push_back(b.numel);
    b.numel += p.numel();
    current_bytes += bytes;
  }
  return buckets;
}

// ---- packing -----------------------------------------------------------------------------------

void pack(Bucket& bucket, const std::vector<torch::Tensor>& parameters, Payload payload) {
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < bucket.layout.params.size(); ++i) {
    const torch::Tensor& p = parameters[bucket.layout.params[i]];
    torch::Tensor slot = bucket.buffer.narrow(0, bucket.layout.offsets[i], p.numel()).view(p.sizes());
    const torch::Tensor& source = payload == Payload::kGradient ? p.grad() : p;
    if (source.defined())
      slot.copy_(source);
    else
      slot.zero_();
  }
}

void unpack(const Bucket& bucket, const std::vector<torch::Tensor>& parameters, Payload payload) {
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < bucket.layout.params.size(); ++i) {
    torch::Tensor p = parameters[bucket.layout.params[i]];
    torch::Tensor slot = bucket.buffer.narrow(0, bucket.layout.offsets[i], p.numel()).view(p.sizes());
    if (payload == Payload::kParameter) {
      p.copy_(slot);
    } else if (p.grad().defined()) {
      p.mutable_grad().copy_(slot);
    } else {
      p.mutable_grad() = slot.clone();
    }
  }
}

// ---- MPI backend (CPU tensors) -----------------------------------------------------------------

namespace {

MPI_Datatype mpi_type(torch::ScalarType type, const CollectiveOptions& options) {
  switch (type) {
    case torch::kFloat: return MPI_FLOAT;
    case torch::kDouble: return MPI_DOUBLE;
    case torch::kInt: return MPI_INT;
    case torch::kLong: return MPI_LONG_LONG;
    default:
      throw Error("[dist] job '" + options.job + "': MPI collectives support float32, float64, " +
                  "int32 and int64 CPU tensors, got " + std::string(c10::toString(type)));
  }
}

class MpiBackend final : public SyncBackend {
 public:
  MpiBackend(const Comm& group, CollectiveOptions options)
      : group_(group), options_(std::move(options)), size_(group.size()) {}

  void start_allreduce(Bucket& bucket, const std::vector<torch::Tensor>& parameters) override {
    pack(bucket, parameters, Payload::kGradient);
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Iallreduce(MPI_IN_PLACE, bucket.buffer.data_ptr(), count(bucket),
                         mpi_type(bucket.layout.dtype, options_), MPI_SUM, group_.get(), &request),
          "MPI_Iallreduce");
    bucket.request = MpiRequest(request, group_.get(), "gradient all-reduce (MPI_Iallreduce of " +
                                    std::to_string(bucket.layout.numel) + " elements)",
                                options_);
  }

  void finish_allreduce(std::vector<Bucket>& buckets,
                        const std::vector<torch::Tensor>& parameters) override {
    for (Bucket& bucket : buckets) {
      bucket.request.wait();
      if (size_ > 1) bucket.buffer.div_(size_);
      unpack(bucket, parameters, Payload::kGradient);
    }
  }

  void broadcast(std::vector<Bucket>& buckets, const std::vector<torch::Tensor>& parameters,
                 int root) override {
    for (Bucket& bucket : buckets) {
      pack(bucket, parameters, Payload::kParameter);
      MPI_Request request = MPI_REQUEST_NULL;
      check(MPI_Ibcast(bucket.buffer.data_ptr(), count(bucket),
                       mpi_type(bucket.layout.dtype, options_), root, group_.get(), &request),
            "MPI_Ibcast");
      MpiRequest(request, group_.get(), "parameter broadcast (MPI_Ibcast)", options_).wait();
      unpack(bucket, parameters, Payload::kParameter);
    }
  }

  bool is_nccl() const override { return false; }

 private:
  int count(const Bucket& bucket) const {
    if (bucket.layout.numel > std::numeric_limits<int>::max())
      throw Error("[dist] job '" + options_.job + "': a bucket of " +
                  std::to_string(bucket.layout.numel) + " elements is too large for MPI");
    return static_cast<int>(bucket.layout.numel);
  }
  void check(int code, const char* what) const {
    if (code == MPI_SUCCESS) return;
    try {
      check_mpi(code, what);
    } catch (const Error& e) {
      throw Error(describe_rank(options_, group_.get()) + ": " + e.what());
    }
  }

  const Comm& group_;
  CollectiveOptions options_;
  int size_;
};

}  // namespace

std::unique_ptr<SyncBackend> make_mpi_backend(const Comm& group, CollectiveOptions options) {
  return std::make_unique<MpiBackend>(group, std::move(options));
}

// ---- hooks and step state ----------------------------------------------------------------------

namespace {

// Tells the State that a parameter's .grad is final for this backward. Holds the State weakly:
// a hook that outlives its GradientSync does nothing.
class ReadyHook final : public torch::autograd::PostAccumulateGradHook {
 public:
  ReadyHook(std::weak_ptr<GradientSync::State> state, std::size_t parameter)
      : state_(std::move(state)), parameter_(parameter) {}
  void operator()(const torch::autograd::Variable&) override {
    if (auto state = state_.lock()) state->on_gradient_ready(parameter_);
  }
  bool belongs_to(const GradientSync::State* state) const { return state_.lock().get() == state; }

 private:
  std::weak_ptr<GradientSync::State> state_;
  std::size_t parameter_;
};

// Removes this State's hooks (a later GradientSync on the same parameters keeps its own).
void remove_hooks(GradientSync::State& state) {
  for (auto& p : state.parameters) {
    auto& hook = torch::autograd::impl::post_acc_grad_hooks(p);
    const auto* ours = dynamic_cast<const ReadyHook*>(hook.get());
    if (ours != nullptr && ours->belongs_to(&state)) hook.reset();
  }
}

}  // namespace

void GradientSync::State::on_gradient_ready(std::size_t parameter) {
  std::lock_guard<std::mutex> lock(mutex);
  if (!overlap) return;
  Bucket& bucket = buckets[bucket_of[parameter]];
  if (bucket.started)
    throw Error("[dist] " + describe_rank(options, group->get()) + ": parameter #" +
                std::to_string(parameter) +
                " received a second gradient after its bucket's all-reduce started; call "
                "synchronize() after every backward, or set_overlap(false) to accumulate");
  if (ready[parameter]) return;  // accumulated twice before its bucket started: still one bucket
  ready[parameter] = 1;
  if (--bucket.missing == 0) start_ready_buckets(/*from_hook=*/true);
}

void GradientSync::State::start_ready_buckets(bool from_hook) {
  // Note [gradient bucket order]: only in index order.
  while (next_to_start < buckets.size() &&
         (!from_hook || buckets[next_to_start].missing == 0)) {
    Bucket& bucket = buckets[next_to_start++];
    backend->start_allreduce(bucket, parameters);
    bucket.started = true;
    bucket.from_hook = from_hook;
    if (from_hook) ++started_in_backward;
  }
}

void GradientSync::State::reset_step() {
  for (Bucket& bucket : buckets) {
    bucket.missing = static_cast<int>(bucket.layout.params.size());
    bucket.started = false;
    bucket.from_hook = false;
  }
  std::fill(ready.begin(), ready.end(), 0);
  next_to_start = 0;
}

// ---- GradientSync ------------------------------------------------------------------------------

GradientSync::GradientSync(const Comm& group, std::vector<torch::Tensor> parameters,
                           size_t bucket_bytes, std::chrono::seconds timeout,
                           std::string job_name)
    : state_(std::make_shared<State>()) {
  State& s = *state_;
  s.group = &group;
  s.options.job = job_name.empty() ? group.collective_options().job : std::move(job_name);
  s.options.timeout = timeout;
  for (auto& p : parameters)
    if (p.requires_grad()) s.parameters.push_back(p);
  if (s.parameters.empty())
    throw Error("[dist] job '" + s.options.job + "': no parameter requires a gradient");
  const torch::Device device = s.parameters.front().device();
  for (const auto& p : s.parameters)
    if (p.device() != device)
      throw Error("[dist] job '" + s.options.job + "': parameters on " + device.str() + " and " +
                  p.device().str() + "; a GradientSync needs all of them on one device");

  s.layouts = plan_buckets(s.parameters, bucket_bytes);
  for (const BucketLayout& layout : s.layouts) {
    Bucket bucket;
    bucket.layout = layout;
    bucket.buffer = torch::empty({layout.numel},
                                 torch::TensorOptions().dtype(layout.dtype).device(layout.device));
    s.buckets.push_back(std::move(bucket));
  }
  s.bucket_of.assign(s.parameters.size(), 0);
  for (std::size_t b = 0; b < s.buckets.size(); ++b)
    for (std::size_t p : s.buckets[b].layout.params) s.bucket_of[p] = b;
  s.ready.assign(s.parameters.size(), 0);
  s.reset_step();

  if (device.is_cuda()) {
#ifdef NNFLEET_HAVE_NCCL
    s.backend = make_nccl_backend(group, s.options, device);
#else
    throw Error("[dist] job '" + s.options.job +
                "': CUDA parameters need the NCCL path, which this build does not have; "
                "rebuild with NCCL or train with --device cpu");
#endif
  } else {
    s.backend = make_mpi_backend(group, s.options);
  }

  for (std::size_t k = 0; k < s.parameters.size(); ++k)
    torch::autograd::impl::set_post_acc_grad_hooks(
        s.parameters[k], std::make_unique<ReadyHook>(std::weak_ptr<State>(state_), k));
}

GradientSync::~GradientSync() {
  if (state_) remove_hooks(*state_);
}

GradientSync::GradientSync(GradientSync&&) noexcept = default;
GradientSync& GradientSync::operator=(GradientSync&& other) noexcept {
  if (this != &other) {
    if (state_) remove_hooks(*state_);
    state_ = std::move(other.state_);
  }
  return *this;
}

void GradientSync::broadcast_parameters(int root) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->backend->broadcast(state_->buckets, state_->parameters, root);
}

void GradientSync::synchronize() {
  State& s = *state_;
  std::lock_guard<std::mutex> lock(s.mutex);
  s.start_ready_buckets(/*from_hook=*/false);
  s.backend->finish_allreduce(s.buckets, s.parameters);
  s.started_in_backward_last = s.started_in_backward;
  s.started_in_backward = 0;
  s.reset_step();
}

void GradientSync::set_overlap(bool on) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->overlap = on;
}

const std::vector<BucketLayout>& GradientSync::buckets() const { return state_->layouts; }

int64_t GradientSync::bytes_per_step() const {
  int64_t bytes = 0;
  for (const Bucket& b : state_->buckets) bytes += b.buffer.numel() * b.buffer.element_size();
  return bytes;
}

int GradientSync::buckets_started_in_backward() const { return state_->started_in_backward_last; }

bool GradientSync::uses_nccl() const { return state_->backend->is_nccl(); }

// ---- small tensor collectives ------------------------------------------------------------------

void allreduce_sum(const Comm& group, torch::Tensor& t) {
  if (!t.defined() || t.numel() == 0) return;
  torch::NoGradGuard no_grad;
  if (t.is_cuda()) {
#ifdef NNFLEET_HAVE_NCCL
    if (nccl_allreduce_sum(group, t)) return;
#endif
    torch::Tensor host = t.to(torch::kCPU);
    allreduce_sum(group, host);
    t.copy_(host);
    return;
  }
  torch::Tensor work = t.is_contiguous() ? t : t.contiguous();
  const auto& options = group.collective_options();
  group
      .iallreduce_sum(work.data_ptr(), work.numel(), mpi_type(work.scalar_type(), options),
                      "allreduce_sum of a " + std::string(c10::toString(work.scalar_type())) +
                          " tensor of " + std::to_string(work.numel()) + " elements")
      .wait();
  if (!work.is_same(t)) t.copy_(work);
}

namespace {

struct AllReduceSum : torch::autograd::Function<AllReduceSum> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& t,
                               int64_t group_address) {
    ctx->saved_data["group"] = group_address;
    torch::Tensor sum = t.detach().clone();
    allreduce_sum(*reinterpret_cast<const Comm*>(group_address), sum);
    return sum;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto* group = reinterpret_cast<const Comm*>(ctx->saved_data["group"].toInt());
    torch::Tensor grad = grads[0].contiguous().clone();
    allreduce_sum(*group, grad);
    return {grad, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor allreduce_sum_differentiable(const Comm& group, const torch::Tensor& t) {
  return AllReduceSum::apply(t, reinterpret_cast<int64_t>(&group));
}

}  // namespace nnfleet::dist
