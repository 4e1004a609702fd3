#pragma once
// RAII owner of one pending non-blocking MPI operation (MPI_Iallreduce, MPI_Ibcast, ...), with a
// wait that gives up at a deadline (Note [collective timeouts] in dist/collective_timeout.h).
//
// Buffer rule: the buffers handed to the MPI_I* call belong to MPI until wait() returns. MPI
// forbids MPI_Cancel and MPI_Request_free on collective requests, so the destructor of a request
// that is still pending waits for it (with the same deadline): destroy requests before buffers.
// Thread safety: one request is used by one thread at a time.

#include <mpi.h>

#include <chrono>
#include <string>
#include <vector>

#include "dist/collective_timeout.h"

namespace nnfleet::dist {

class MpiRequest {
 public:
  MpiRequest() = default;
  // Takes `request` as returned by an MPI_I* call on `comm`. The deadline is now + options.timeout.
  MpiRequest(MPI_Request request, MPI_Comm comm, std::string operation,
             const CollectiveOptions& options);
  ~MpiRequest();
  MpiRequest(const MpiRequest&) = delete;
  MpiRequest& operator=(const MpiRequest&) = delete;
  MpiRequest(MpiRequest&& other) noexcept;
  MpiRequest& operator=(MpiRequest&& other) noexcept;

  bool pending() const { return request_ != MPI_REQUEST_NULL; }
  // Non-blocking check; drives MPI progress. True when complete (or never started).
  bool test();
  // Polls until complete. Past the deadline: fail_collective_timeout (does not return).
  // Throws nnfleet::Error naming the operation if MPI reports an error.
  void wait();
  const std::string& operation() const { return operation_; }

 private:
  MPI_Request request_ = MPI_REQUEST_NULL;
  MPI_Comm comm_ = MPI_COMM_NULL;
  std::string operation_;
  CollectiveOptions options_;
  std::chrono::steady_clock::time_point started_{};
};

// Waits for every request, in order.
void wait_all(std::vector<MpiRequest>& requests);

}  // namespace nnfleet::dist
