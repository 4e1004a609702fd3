#include "dist/nccl_comm.h"

#include <cstring>

#include "common/error.h"

namespace nnfleet::dist {
namespace {

// Sets the CUDA device for the lifetime of the guard and restores the previous one.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    cudaGetDevice(&previous_);
    if (device >= 0 && device != previous_) cudaSetDevice(device);
  }
  ~DeviceGuard() {
    if (previous_ >= 0) cudaSetDevice(previous_);
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;
};

}  // namespace

NcclComm::NcclComm(const Comm& group, int device, CollectiveOptions options)
    : device_(device), mpi_comm_(group.get()), options_(std::move(options)) {
  ncclUniqueId id;
  std::memset(&id, 0, sizeof(id));
  if (group.rank() == 0) check(ncclGetUniqueId(&id), "ncclGetUniqueId");
  // The id travels over MPI with the group's timeout: a member that never arrives ends the run.
  group.ibroadcast(&id, sizeof(id), MPI_BYTE, 0, "MPI_Ibcast(ncclUniqueId)").wait();
  init(id, group.rank(), group.size());
}

NcclComm NcclComm::single(int device, CollectiveOptions options) {
  NcclComm comm;
  comm.device_ = device;
  comm.options_ = std::move(options);
  ncclUniqueId id;
  comm.check(ncclGetUniqueId(&id), "ncclGetUniqueId");
  comm.init(id, 0, 1);
  return comm;
}

void NcclComm::init(const ncclUniqueId& id, int rank, int size) {
  DeviceGuard guard(device_);
  const auto started = std::chrono::steady_clock::now();
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  std::string name = options_.job.empty() ? "nnfleet" : options_.job;
  config.commName = name.c_str();
  size_ = size;
  const ncclResult_t result = ncclCommInitRankConfig(&comm_, size, id, rank, &config);
  if (result != ncclInProgress) check(result, "ncclCommInitRankConfig");
  wait_ready("ncclCommInitRankConfig", started);
}

NcclComm::~NcclComm() { release(); }

NcclComm::NcclComm(NcclComm&& other) noexcept
    : comm_(other.comm_),
      device_(other.device_),
      size_(other.size_),
      mpi_comm_(other.mpi_comm_),
      options_(std::move(other.options_)) {
  other.comm_ = nullptr;
}

NcclComm& NcclComm::operator=(NcclComm&& other) noexcept {
  if (this != &other) {
    release();
    comm_ = other.comm_;
    device_ = other.device_;
    size_ = other.size_;
    mpi_comm_ = other.mpi_comm_;
    options_ = std::move(other.options_);
    other.comm_ = nullptr;
  }
  return *this;
}

void NcclComm::release() noexcept {
  if (comm_ == nullptr) return;
  DeviceGuard guard(device_);
  ncclResult_t state = ncclSuccess;
  ncclCommGetAsyncError(comm_, &state);
  bool healthy = state == ncclSuccess;
  if (healthy) {
    // Finalize flushes outstanding work; on a non-blocking communicator it is polled, with a
    // bounded wait: a communicator that cannot finish is aborted instead.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    const ncclResult_t result = ncclCommFinalize(comm_);
    if (result != ncclSuccess && result != ncclInProgress) healthy = false;
    PollBackoff backoff;
    while (healthy) {
      ncclCommGetAsyncError(comm_, &state);
      if (state == ncclSuccess) break;
      if (state != ncclInProgress || std::chrono::steady_clock::now() > deadline) healthy = false;
      backoff.pause();
    }
  }
  if (healthy)
    ncclCommDestroy(comm_);
  else
    ncclCommAbort(comm_);
  comm_ = nullptr;
}

void NcclComm::check(ncclResult_t result, const std::string& operation) {
  if (result == ncclSuccess) return;
  std::string detail = ncclGetErrorString(result);
  if (comm_ != nullptr) {
    const char* last = ncclGetLastError(comm_);
    if (last != nullptr && *last) detail += " (" + std::string(last) + ")";
  }
  throw Error("[dist] " + describe_rank(options_, mpi_comm_) + ": " + operation +
              " failed: " + detail);
}

void NcclComm::abort_on_timeout(const std::string& operation,
                                std::chrono::steady_clock::time_point started) {
  // Abort first, so this rank's kernels stop spinning and the device is released.
  if (comm_ != nullptr) ncclCommAbort(comm_);
  comm_ = nullptr;
  fail_collective_timeout(options_, mpi_comm_, operation + " (NCCL)",
                          std::chrono::steady_clock::now() - started);
}

void NcclComm::wait_ready(const std::string& operation,
                          std::chrono::steady_clock::time_point started) {
  PollBackoff backoff;
  for (;;) {
    ncclResult_t state = ncclSuccess;
    const ncclResult_t result = ncclCommGetAsyncError(comm_, &state);
    if (result != ncclSuccess) check(result, "ncclCommGetAsyncError after " + operation);
    if (state == ncclSuccess) return;
    if (state != ncclInProgress) check(state, operation);
    if (std::chrono::steady_clock::now() - started > options_.timeout)
      abort_on_timeout(operation, started);
    backoff.pause();
  }
}

void NcclComm::all_reduce(void* data, size_t count, ncclDataType_t type, ncclRedOp_t op,
                          cudaStream_t stream, const std::string& operation) {
  const auto started = std::chrono::steady_clock::now();
  const ncclResult_t result = ncclAllReduce(data, data, count, type, op, comm_, stream);
  if (result != ncclInProgress) check(result, operation);
  wait_ready(operation, started);
}

void NcclComm::broadcast(void* data, size_t count, ncclDataType_t type, int root,
                         cudaStream_t stream, const std::string& operation) {
  const auto started = std::chrono::steady_clock::now();
  const ncclResult_t result = ncclBroadcast(data, data, count, type, root, comm_, stream);
  if (result != ncclInProgress) check(result, operation);
  wait_ready(operation, started);
}

void NcclComm::wait_event(cudaEvent_t event, std::chrono::steady_clock::time_point started,
                          const std::string& operation) {
  PollBackoff backoff;
  for (;;) {
    const cudaError_t status = cudaEventQuery(event);
    if (status == cudaSuccess) return;
    if (status != cudaErrorNotReady)
      throw Error("[dist] " + describe_rank(options_, mpi_comm_) + ": " + operation +
                  " failed on the GPU: " + cudaGetErrorString(status));
    ncclResult_t state = ncclSuccess;
    ncclCommGetAsyncError(comm_, &state);
    if (state != ncclSuccess && state != ncclInProgress) check(state, operation);
    if (std::chrono::steady_clock::now() - started > options_.timeout)
      abort_on_timeout(operation, started);
    backoff.pause();
  }
}

}  // namespace nnfleet::dist
