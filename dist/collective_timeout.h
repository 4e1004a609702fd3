#pragma once
// What a collective needs to know to fail loudly instead of hanging: the job it serves and how
// long it may take. No LibTorch and no NCCL here (used by the MPI-only library).
//
// Note [collective timeouts]: every collective in dist/ is started non-blocking (MPI_I*, or NCCL
// enqueued on a stream) and then waited for by polling against a deadline (start + timeout).
// A rank that dies makes mpirun/srun end the step within seconds, but a rank that *hangs* (stuck
// loader, mismatched collective, deadlock) would leave its peers waiting forever. When the deadline
// passes, the waiting rank aborts its communicator (ncclCommAbort for NCCL, MPI_Abort for MPI),
// prints one line naming the job, the rank and the operation, and ends the process with
// kCollectiveTimeoutExitCode; MPI_Abort makes the launcher stop every other rank. This is the one
// place where library code ends the process: the alternative (a hang) cannot be handled by any
// caller, and an exception would leave a half-finished collective behind.

#include <mpi.h>

#include <chrono>
#include <string>

namespace nnfleet::dist {

// Exit status of a process that gave up on a collective (the same as coreutils' timeout(1)).
inline constexpr int kCollectiveTimeoutExitCode = 124;

struct CollectiveOptions {
  std::string job;  // shown in messages, e.g. "3d_fullres/fold_2"; empty = "(no job)"
  std::chrono::milliseconds timeout = std::chrono::minutes(10);
};

// "job '3d_fullres/fold_2', world rank 3 (rank 1 of 2 in its group)". `comm` may be MPI_COMM_NULL.
std::string describe_rank(const CollectiveOptions& options, MPI_Comm comm);

// Prints "[dist] TIMEOUT: <describe_rank>: <operation> did not complete within <timeout>; ..."
// to stderr, then MPI_Abort(comm or world, kCollectiveTimeoutExitCode). Never returns. Callers
// abort their NCCL communicator (if any) before calling this.
[[noreturn]] void fail_collective_timeout(const CollectiveOptions& options, MPI_Comm comm,
                                          const std::string& operation,
                                          std::chrono::steady_clock::duration waited);

// Polling back-off for waits: a few yields first (small collectives finish within microseconds),
// then sleeps doubling up to 1 ms (a large CPU all-reduce takes milliseconds to seconds, and
// oversubscribed ranks must leave the cores to the ranks doing the work).
class PollBackoff {
 public:
  void pause();

 private:
  int spins_ = 0;
  std::chrono::microseconds sleep_{0};
};

}  // namespace nnfleet::dist
