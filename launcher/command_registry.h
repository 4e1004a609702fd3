#pragma once
// Subcommands register themselves: each launcher/cmd_<name>.cpp defines a static
// CommandRegistrar that adds its CLI11 subcommand. The launcher sources are compiled straight into
// the nnfleet executable (not an archive), so the linker keeps every registrar.

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "common/folders.h"
#include "dist/mpi_world.h"

namespace nnfleet::launcher {

// Options every subcommand shares, filled by main() before the subcommand runs.
struct GlobalOptions {
  std::string raw_flag, preprocessed_flag, results_flag;
  std::string log_level = "info";
  double collective_timeout_s = 600;  // a collective not done by then aborts the run
  Folders folders() const { return Folders::resolve(raw_flag, preprocessed_flag, results_flag); }
  // MPI_COMM_WORLD with the collective timeout; groups made from it inherit the timeout.
  dist::Comm world() const {
    dist::Comm w = dist::Comm::borrow(MPI_COMM_WORLD);
    dist::CollectiveOptions o = w.collective_options();
    o.timeout = std::chrono::milliseconds(static_cast<int64_t>(collective_timeout_s * 1000));
    w.set_collective_options(o);
    return w;
  }
};

struct Command {
  std::string name;
  int order;  // position in --help
  // Adds the subcommand to `app` and returns the function to run when it was chosen; the function
  // returns the process exit status.
  std::function<std::function<int()>(CLI::App& app, const GlobalOptions& global)> install;
};

std::vector<Command>& command_registry();

struct CommandRegistrar {
  explicit CommandRegistrar(Command c) { command_registry().push_back(std::move(c)); }
};

}  // namespace nnfleet::launcher
