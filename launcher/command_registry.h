#pragma once
// Subcommands register themselves: each launcher/cmd_<name>.cpp defines a static
// CommandRegistrar that adds its CLI11 subcommand. The launcher sources are compiled straight into
// the nnfleet executable (not an archive), so the linker keeps every registrar.

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "common/folders.h"

namespace nnfleet::launcher {

// Options every subcommand shares, filled by main() before the subcommand runs.
struct GlobalOptions {
  std::string raw_flag, preprocessed_flag, results_flag;
  std::string log_level = "info";
  Folders folders() const { return Folders::resolve(raw_flag, preprocessed_flag, results_flag); }
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
