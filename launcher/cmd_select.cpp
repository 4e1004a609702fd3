// `nnfleet select -d DATASET [-c CONFIG ...]`: model selection on the cross-validation predictions
// (evaluation/selection.h), cluster-wide: cases are shared out over the MPI world.

#include <iostream>

#include "common/error.h"
#include "dist/mpi_world.h"
#include "evaluation/dataset_files.h"
#include "evaluation/evaluate.h"
#include "evaluation/selection.h"
#include "launcher/command_registry.h"

namespace nnfleet::launcher {
namespace {

struct SelectArgs {
  std::string dataset, output;
  std::vector<std::string> configurations;
  std::vector<int> folds{0, 1, 2, 3, 4};
  bool disable_ensembling = false;
};

evaluation::SelectionOptions selection_options(const SelectArgs& a, const Folders& folders) {
  folders.require_results();
  const auto files = evaluation::locate_dataset_files(a.dataset, folders);
  if (files.reference_folder.empty()) {
    throw Error("[selection] dataset " + files.canonical + ": no reference segmentations "
                "(preprocessed gt_segmentations or raw labelsTr)");
  }
  evaluation::SelectionOptions o;
  o.results_dataset_folder = files.results_dataset_folder;
  o.reference_folder = files.reference_folder;
  o.labels = evaluation::read_labels(files.dataset_json);
  o.file_ending = evaluation::file_ending_of(files.dataset_json);
  o.configurations = a.configurations;
  o.folds = a.folds;
  o.allow_ensembling = !a.disable_ensembling;
  o.dataset_name = files.canonical;
  o.output_folder = a.output;
  return o;
}

std::function<int()> install_select(CLI::App& app, const GlobalOptions& global) {
  app.description("Rank every trained configuration and every pair on the cross-validation, decide "
                  "postprocessing and write the inference commands (nnUNetv2_find_best_configuration)");
  auto a = std::make_shared<SelectArgs>();
  app.add_option("-d,-t,--dataset", a->dataset, "dataset: id (4), name or path")->required();
  app.add_option("-c,--configurations", a->configurations,
                 "configurations to consider (default: every trained one of 2d, 3d_fullres, 3d_lowres, "
                 "3d_cascade_fullres)");
  app.add_option("-f,--folds", a->folds, "folds that form the cross-validation")->capture_default_str();
  app.add_flag("--disable-ensembling,--disable_ensembling", a->disable_ensembling,
               "rank single configurations only");
  app.add_option("-o,--output", a->output, "output folder (default RESULTS/<dataset>/selection)");
  return [a, &global] {
    const auto world = global.world();
    const auto result = evaluation::select_model(selection_options(*a, global.folders()), world);
    if (world.rank() == 0) {
      const auto& best = result.candidates[result.best];
      std::cout << "best: " << best.name << " (cross-validation mean foreground Dice " << best.score
                << "); see " << (result.output_folder / "inference_instructions.txt").string() << std::endl;
    }
    return 0;
  };
}

const CommandRegistrar kSelect{{"select", 80, install_select}};

}  // namespace
}  // namespace nnfleet::launcher
