// `nnfleet evaluate -r REF -p PRED -d DATASET [-o summary.json]`: nnU-Net v2's metrics of a folder
// of predictions (evaluation/evaluate.h), written as summary.json and summary.csv.

#include <iostream>

#include "common/error.h"
#include "dist/mpi_world.h"
#include "evaluation/dataset_files.h"
#include "evaluation/evaluate.h"
#include "launcher/command_registry.h"

namespace nnfleet::launcher {
namespace {

struct EvaluateArgs {
  std::string reference, prediction, dataset, output;
  bool chill = false;
};

std::function<int()> install_evaluate(CLI::App& app, const GlobalOptions& global) {
  app.description("Dice, IoU and voxel counts per case and class of a folder of predictions, as "
                  "nnUNetv2_evaluate_folder computes them");
  auto a = std::make_shared<EvaluateArgs>();
  app.add_option("-r,--reference,--ref", a->reference, "folder of reference segmentations")->required();
  app.add_option("-p,--prediction,--pred", a->prediction, "folder of predicted segmentations")->required();
  app.add_option("-d,-t,--dataset", a->dataset,
                 "dataset whose dataset.json names the labels: id, name or a folder with a dataset.json")
      ->required();
  app.add_option("-o,--output", a->output, "summary.json to write (default: PREDICTION/summary.json); "
                                           "a .csv twin is written beside it");
  app.add_flag("--chill", a->chill, "do not fail when a reference case has no prediction");
  return [a, &global] {
    const auto world = global.world();
    const auto files = evaluation::locate_dataset_files(a->dataset, global.folders());
    evaluation::EvaluateOptions o;
    o.reference_folder = a->reference;
    o.prediction_folder = a->prediction;
    o.labels = evaluation::read_labels(files.dataset_json);
    o.file_ending = evaluation::file_ending_of(files.dataset_json);
    o.chill = a->chill;
    if (world.rank() != 0) return 0;  // small work: rank 0 evaluates, the others idle
    const auto summary = evaluation::evaluate_folders(o);
    const std::filesystem::path out =
        a->output.empty() ? std::filesystem::path(a->prediction) / "summary.json" : std::filesystem::path(a->output);
    evaluation::write_summary(out, summary);
    std::cout << "mean foreground Dice " << summary.foreground_mean.dice << " over "
              << summary.cases.size() << " cases; wrote " << out.string() << std::endl;
    return 0;
  };
}

const CommandRegistrar kEvaluate{{"evaluate", 60, install_evaluate}};

}  // namespace
}  // namespace nnfleet::launcher
