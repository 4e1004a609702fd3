#include "dist/mpi_request.h"

#include "common/error.h"
#include "dist/mpi_world.h"

namespace nnfleet::dist {

MpiRequest::MpiRequest(MPI_Request request, MPI_Comm comm, std::string operation,
                       const CollectiveOptions& options)
    : request_(request),
      comm_(comm),
      operation_(std::move(operation)),
      options_(options),
      started_(std::chrono::steady_clock::now()) {}

MpiRequest::~MpiRequest() {
  if (!pending()) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  try {
    wait();
  } catch (...) {
    // An MPI error while unwinding: nothing more can be done for this request.
  }
}

MpiRequest::MpiRequest(MpiRequest&& other) noexcept
    : request_(other.request_),
      comm_(other.comm_),
      operation_(std::move(other.operation_)),
      options_(std::move(other.options_)),
      started_(other.started_) {
  other.request_ = MPI_REQUEST_NULL;
}

MpiRequest& MpiRequest::operator=(MpiRequest&& other) noexcept {
  if (this != &other) {
    if (pending()) {
      try {
        wait();
      } catch (...) {
      }
    }
    request_ = other.request_;
    comm_ = other.comm_;
    operation_ = std::move(other.operation_);
    options_ = std::move(other.options_);
    started_ = other.started_;
    other.request_ = MPI_REQUEST_NULL;
  }
  return *this;
}

bool MpiRequest::test() {
  if (!pending()) return true;
  int done = 0;
  const int code = MPI_Test(&request_, &done, MPI_STATUS_IGNORE);
  if (code != MPI_SUCCESS) {
    request_ = MPI_REQUEST_NULL;
    try {
      check_mpi(code, operation_.c_str());
    } catch (const Error& e) {
      throw Error(describe_rank(options_, comm_) + ": " + e.what());
    }
  }
  return done != 0;
}

void MpiRequest::wait() {
  const auto deadline = started_ + options_.timeout;
  PollBackoff backoff;
  while (!test()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) fail_collective_timeout(options_, comm_, operation_, now - started_);
    backoff.pause();
  }
}

void wait_all(std::vector<MpiRequest>& requests) {
  for (auto& request : requests) request.wait();
}

}  // namespace nnfleet::dist
