#pragma once
// Logging: one spdlog logger per process whose every line carries the world rank and, inside a
// sweep job, the job name ("[r3 3d_fullres/fold_2]"). Levels: debug (details a developer wants),
// info (what was decided and progress), warn (suspicious input we continue with), error.

#include <spdlog/spdlog.h>

#include <string>

namespace nnfleet::log {

// Sets the rank shown on every line; call once after MPI is initialised. Thread-safe afterwards.
void set_rank(int world_rank, int world_size);
// Sets (or clears with "") the job tag shown on every line of this process.
void set_job(const std::string& job);
// "debug", "info", "warn", "error".
void set_level(const std::string& level);

}  // namespace nnfleet::log
