// `nnfleet validate -d DATASET`: checks a raw dataset and prints every problem of every case at once
// (../shared/reference/bad-inputs.md). Cases are sharded over the MPI world.

#include <iostream>

#include "common/error.h"
#include "dist/mpi_world.h"
#include "launcher/command_registry.h"
#include "preprocessing/validate.h"

namespace nnfleet::launcher {
namespace {

std::function<int()> install_validate(CLI::App& app, const GlobalOptions& global) {
  app.description("Check a raw dataset (dataset.json, every image and label) and list all problems");
  auto dataset = std::make_shared<std::string>();
  app.add_option("-d,-t,--dataset", *dataset,
                 "dataset: id (4), name (Task04_Hippocampus, Dataset004_Hippocampus) or path")
      ->required();
  return [dataset, &global] {
    const auto world = global.world();
    const DatasetRef ref = resolve_dataset(*dataset, global.folders());
    if (ref.raw_folder.empty()) throw nnfleet::Error("dataset " + *dataset + ": no raw folder found");
    const auto problems = preprocessing::validate_dataset(ref.raw_folder, world);
    if (world.rank() == 0) {
      if (problems.empty()) {
        std::cout << "dataset " << ref.raw_folder.string() << ": no problems found" << std::endl;
      } else {
        std::cout << preprocessing::format_problems(ref.raw_folder, problems) << std::endl;
      }
    }
    return problems.empty() ? 0 : 1;
  };
}

const CommandRegistrar kValidate{{"validate", 10, install_validate}};

}  // namespace
}  // namespace nnfleet::launcher
