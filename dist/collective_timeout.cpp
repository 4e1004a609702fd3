#include "dist/collective_timeout.h"

#include <cstdio>
#include <thread>

namespace nnfleet::dist {

std::string describe_rank(const CollectiveOptions& options, MPI_Comm comm) {
  int world_rank = -1, initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  std::string text = "job '" + (options.job.empty() ? std::string("(no job)") : options.job) + "'";
  if (!initialized || finalized) return text;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  text += ", world rank " + std::to_string(world_rank);
  if (comm != MPI_COMM_NULL && comm != MPI_COMM_WORLD) {
    int rank = -1, size = 0;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    text += " (rank " + std::to_string(rank) + " of " + std::to_string(size) + " in its group)";
  }
  return text;
}

void fail_collective_timeout(const CollectiveOptions& options, MPI_Comm comm,
                             const std::string& operation,
                             std::chrono::steady_clock::duration waited) {
  const double seconds = std::chrono::duration<double>(waited).count();
  const double limit = std::chrono::duration<double>(options.timeout).count();
  std::fflush(stdout);
  std::fprintf(stderr,
               "[dist] TIMEOUT: %s: %s did not complete within %.1f s (waited %.1f s); a peer "
               "rank has stopped responding. Aborting the communicator and the run (exit %d); "
               "resume the job from its last checkpoint.\n",
               describe_rank(options, comm).c_str(), operation.c_str(), limit, seconds,
               kCollectiveTimeoutExitCode);
  std::fflush(stderr);
  MPI_Abort(comm != MPI_COMM_NULL ? comm : MPI_COMM_WORLD, kCollectiveTimeoutExitCode);
  std::_Exit(kCollectiveTimeoutExitCode);  // MPI_Abort does not return; satisfies [[noreturn]].
}

void PollBackoff::pause() {
  if (++spins_ < 64) {
    std::this_thread::yield();
    return;
  }
  sleep_ = std::min(std::chrono::microseconds(1000),
                    sleep_.count() == 0 ? std::chrono::microseconds(10) : sleep_ * 2);
  std::this_thread::sleep_for(sleep_);
}

}  // namespace nnfleet::dist
