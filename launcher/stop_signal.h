#pragma once
// SIGTERM and SIGUSR1 (Slurm preemption, `scancel --signal`, mpirun forwarding) raise one
// process-wide flag; long work polls it, checkpoints and ends with kInterruptedStatus.

#include <atomic>

namespace nnfleet::launcher {

constexpr int kInterruptedStatus = 75;  // EX_TEMPFAIL: interrupted, run the same command again

// Installs the handlers (idempotent) and returns the flag they raise.
const std::atomic<bool>* install_stop_handlers();

}  // namespace nnfleet::launcher
