#pragma once
// RAII owner of an NCCL communicator for one job's group. Compiled only when NCCL is found.
//
// Formation: the group's first rank calls ncclGetUniqueId and broadcasts the 128-byte id over the
// group's MPI communicator; every rank then calls ncclCommInitRankConfig on its device. The
// communicator is *non-blocking* (config.blocking = 0): every NCCL call returns at once and is
// polled with ncclCommGetAsyncError against a deadline, so a peer that never joins or never
// finishes cannot hang us (Note [collective timeouts]); ncclCommAbort may then be called safely.
// Teardown: ncclCommFinalize + ncclCommDestroy when healthy; ncclCommAbort when an error is pending
// or the finalize does not complete in time (as Horovod does).
// Thread safety: one thread at a time (callers serialise).

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <chrono>
#include <string>

#include "dist/mpi_world.h"

namespace nnfleet::dist {

class NcclComm {
 public:
  NcclComm() = default;
  // Collective over `group`. `device` is this rank's CUDA device index.
  NcclComm(const Comm& group, int device, CollectiveOptions options);
  // A communicator of one rank, made without MPI (for the GPU check on one device).
  static NcclComm single(int device, CollectiveOptions options);
  ~NcclComm();
  NcclComm(const NcclComm&) = delete;
  NcclComm& operator=(const NcclComm&) = delete;
  NcclComm(NcclComm&& other) noexcept;
  NcclComm& operator=(NcclComm&& other) noexcept;

  bool valid() const { return comm_ != nullptr; }
  ncclComm_t get() const { return comm_; }
  int device() const { return device_; }
  int size() const { return size_; }
  const CollectiveOptions& options() const { return options_; }

  // Enqueue on `stream` (ordering: after the work already on `stream`). Returns once enqueued;
  // completion is observed through an event on `stream` (wait_event).
  void all_reduce(void* data, size_t count, ncclDataType_t type, ncclRedOp_t op,
                  cudaStream_t stream, const std::string& operation);
  void broadcast(void* data, size_t count, ncclDataType_t type, int root, cudaStream_t stream,
                 const std::string& operation);
  // Polls `event` until it has completed, checking ncclCommGetAsyncError on the way. Past
  // started + timeout: ncclCommAbort, then fail_collective_timeout (does not return). Throws
  // nnfleet::Error on an NCCL or CUDA error.
  void wait_event(cudaEvent_t event, std::chrono::steady_clock::time_point started,
                  const std::string& operation);

 private:
  void init(const ncclUniqueId& id, int rank, int size);
  // Polls until the last call on the non-blocking communicator is no longer in progress.
  void wait_ready(const std::string& operation, std::chrono::steady_clock::time_point started);
  void check(ncclResult_t result, const std::string& operation);
  [[noreturn]] void abort_on_timeout(const std::string& operation,
                                     std::chrono::steady_clock::time_point started);
  void release() noexcept;

  ncclComm_t comm_ = nullptr;
  int device_ = -1;
  int size_ = 0;
  MPI_Comm mpi_comm_ = MPI_COMM_NULL;  // for messages and MPI_Abort; not owned
  CollectiveOptions options_;
};

}  // namespace nnfleet::dist
