// nnfleet: the command-line entry point. Parses global flags, brings up MPI (a plain run is a
// world of one), dispatches to the chosen subcommand and turns errors into exit codes.

#include <CLI/CLI.hpp>

#include <algorithm>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/log.h"
#include "common/version.h"
#include "dist/mpi_world.h"
#include "launcher/command_registry.h"

namespace nnfleet::launcher {

std::vector<Command>& command_registry() {
  static std::vector<Command> commands;
  return commands;
}

namespace {

// nnU-Net spells many long flags with one dash (`-np 8`, `-chk best`, `-num_epochs 10`); CLI11
// takes only one character after a single dash, so the subcommands register these names with two
// dashes and a token `-name` is rewritten to `--name` when some subcommand has an option `--name`.
std::vector<std::string> normalise_single_dash_flags(const CLI::App& app, int argc, char** argv) {
  std::set<std::string> long_names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    for (const CLI::Option* option : sub->get_options()) {
      for (const auto& name : option->get_lnames()) long_names.insert(name);
    }
  }
  std::vector<std::string> args(argv, argv + argc);
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.size() > 2 && a[0] == '-' && a[1] != '-' && long_names.count(a.substr(1))) {
      args[i] = "-" + a;
    }
  }
  return args;
}

int run(int argc, char** argv) {
  CLI::App app{"nnfleet " + version() +
               ": the nnU-Net method (self-configuring U-Net segmentation) as one distributed job.\n"
               "Run under mpirun/srun to shard preprocessing, train every fold of every "
               "configuration at once and select the best model."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "nnfleet " + version());
  GlobalOptions global;
  app.add_option("--raw", global.raw_flag, "raw datasets folder (else NNFLEET_RAW, nnUNet_raw)");
  app.add_option("--preprocessed", global.preprocessed_flag,
                 "preprocessed data folder (else NNFLEET_PREPROCESSED, nnUNet_preprocessed)");
  app.add_option("--results", global.results_flag,
                 "results folder (else NNFLEET_RESULTS, nnUNet_results)");
  app.add_option("--collective-timeout", global.collective_timeout_s,
                 "seconds a rank waits in a collective (gradient all-reduce, barrier...) before it "
                 "aborts the run naming the job and the rank, instead of hanging forever")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--log-level", global.log_level, "debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));

  auto& commands = command_registry();
  std::sort(commands.begin(), commands.end(),
            [](const Command& a, const Command& b) { return a.order < b.order; });
  std::vector<std::pair<CLI::App*, std::function<int()>>> installed;
  for (const auto& c : commands) {
    auto* sub = app.add_subcommand(c.name);
    installed.emplace_back(sub, c.install(*sub, global));
  }

  try {
    const auto args = normalise_single_dash_flags(app, argc, argv);
    std::vector<const char*> pointers;
    for (const auto& a : args) pointers.push_back(a.c_str());
    app.parse(argc, pointers.data());
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  log::set_level(global.log_level);
  for (auto& [sub, fn] : installed)
    if (sub->parsed()) return fn();
  return 2;
}

}  // namespace
}  // namespace nnfleet::launcher

int main(int argc, char** argv) {
  nnfleet::dist::MpiSession mpi(&argc, &argv);
  nnfleet::log::set_rank(mpi.world().rank(), mpi.world().size());
  int status = 1;
  try {
    status = nnfleet::launcher::run(argc, argv);
  } catch (const nnfleet::Error& e) {
    spdlog::error("{}", e.what());
    status = 1;
  } catch (const std::exception& e) {
    spdlog::error("unexpected failure: {}", e.what());
    status = 3;
  }
  // A failing rank must not leave its peers waiting in a collective forever.
  if (status != 0 && mpi.world().size() > 1) mpi.abort(status);
  return status;
}
