// `nnfleet summarize [-d DATASET ...] -o summary.csv`: one CSV across datasets and configurations
// (evaluation/summary_table.h) from the summary.json files under the results folder.

#include <iostream>

#include "common/atomic_file.h"
#include "common/error.h"
#include "dist/mpi_world.h"
#include "evaluation/summary_table.h"
#include "launcher/command_registry.h"

namespace nnfleet::launcher {
namespace {

// The results folder name of -d: resolved like every command's -d, else taken as given.
std::string results_name(const std::string& spec, const Folders& folders) {
  try {
    return resolve_dataset(spec, folders).canonical;
  } catch (const Error&) {
    return spec;
  }
}

struct SummarizeArgs {
  std::vector<std::string> datasets;
  std::string output;
};

std::function<int()> install_summarize(CLI::App& app, const GlobalOptions& global) {
  app.description("Collect every summary.json under the results folder into one CSV (task, model, "
                  "fold, class, Dice, IoU, counts) to compare runs");
  auto a = std::make_shared<SummarizeArgs>();
  app.add_option("-d,-t,--dataset", a->datasets, "datasets to include (default: all under results)");
  app.add_option("-o,--output", a->output, "CSV file to write")->required();
  return [a, &global] {
    const auto world = global.world();
    if (world.rank() != 0) return 0;
    const Folders folders = global.folders();
    folders.require_results();
    std::vector<std::string> names;
    for (const auto& d : a->datasets) names.push_back(results_name(d, folders));
    const auto rows = evaluation::collect_summary_rows(folders.results, names);
    write_text_atomically(a->output, evaluation::summary_rows_to_csv(rows));
    std::cout << "wrote " << rows.size() << " rows to " << a->output << std::endl;
    return 0;
  };
}

const CommandRegistrar kSummarize{{"summarize", 90, install_summarize}};

}  // namespace
}  // namespace nnfleet::launcher
