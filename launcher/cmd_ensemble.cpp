// `nnfleet ensemble -i F1 F2 [...] -o OUT [--save-probabilities] [--postprocessing FILE]`: averages
// the probability files of the same cases from several prediction folders (evaluation/ensemble.h).
// Cases are shared out over the MPI world.

#include <iostream>

#include "dist/mpi_world.h"
#include "evaluation/ensemble.h"
#include "launcher/command_registry.h"

namespace nnfleet::launcher {
namespace {

struct EnsembleArgs {
  std::vector<std::string> inputs;
  std::string output, postprocessing;
  bool save_probabilities = false;
};

std::function<int()> install_ensemble(CLI::App& app, const GlobalOptions& global) {
  app.description("Average the probabilities (<case>.h5) of several prediction folders, write the "
                  "argmax segmentations and optionally apply postprocessing");
  auto a = std::make_shared<EnsembleArgs>();
  app.add_option("-i,--input", a->inputs, "prediction folders made with --save-probabilities (two or more)")
      ->required()->expected(2, -1);
  app.add_option("-o,--output", a->output, "output folder")->required();
  app.add_flag("--save-probabilities,--save_npz,--npz", a->save_probabilities,
               "also write the averaged probabilities <case>.h5");
  app.add_option("--postprocessing,--pp,--pp_pkl_file", a->postprocessing,
                 "postprocessing.json from `nnfleet select` to apply to each segmentation");
  return [a, &global] {
    const auto world = global.world();
    evaluation::EnsembleOptions o;
    for (const auto& i : a->inputs) o.input_folders.emplace_back(i);
    o.output_folder = a->output;
    o.save_probabilities = a->save_probabilities;
    if (!a->postprocessing.empty()) o.postprocessing = evaluation::read_postprocessing(a->postprocessing);
    const auto mine = evaluation::ensemble_folders(o, world);
    std::vector<double> count{double(mine.size())};
    world.allreduce_sum(count);
    if (world.rank() == 0)
      std::cout << "ensembled " << count[0] << " cases into " << a->output << std::endl;
    return 0;
  };
}

const CommandRegistrar kEnsemble{{"ensemble", 70, install_ensemble}};

}  // namespace
}  // namespace nnfleet::launcher
