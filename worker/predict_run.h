#pragma once
// `nnfleet predict`: predicts a folder of raw images with a trained configuration (one fold or an
// ensemble of folds), sharded over the ranks of the world. Each rank preprocesses its cases in
// memory with the plan, predicts (worker/predictor.h), exports to the original geometry
// (worker/export.h) and applies the optional postprocessing.

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/folders.h"
#include "dist/mpi_world.h"

namespace nnfleet::worker {

struct PredictRequest {
  std::filesystem::path input_folder, output_folder;
  std::string dataset;                      // -d as given (id, name or path)
  std::string configuration = "3d_fullres";
  std::vector<int> folds{0, 1, 2, 3, 4};
  std::string checkpoint = "final";         // final, best or latest
  bool save_probabilities = false;
  bool mirror = true;
  double step_size = 0.5;
  bool resume = false;                      // --continue: skip cases whose outputs exist
  std::filesystem::path previous_stage_predictions;  // cascade: the 3d_lowres segmentations
  std::string device = "auto";              // cpu, cuda, auto
  std::filesystem::path postprocessing_file;
};

// A trained configuration as prediction needs it.
struct TrainedModel {
  std::filesystem::path folder;                   // <results>/<dataset>/<configuration>
  nlohmann::json plans, dataset_json;
  std::vector<std::filesystem::path> checkpoints; // one per requested fold, in fold order
  std::string previous_stage;                     // the cascade's low-resolution configuration
};

// Checks the request before any heavy work and throws nnfleet::Error with what to do for: a
// configuration that was not trained (no folder or plans.json), folds without the requested
// checkpoint (all listed), a cascade without previous-stage predictions, a bad step size.
TrainedModel find_trained_model(const PredictRequest& request, const std::filesystem::path& results_dataset);

// Runs the prediction. Collective over `world` (cases are shared round-robin; a final barrier).
void run_prediction(const PredictRequest& request, const Folders& folders, const dist::Comm& world,
                    int local_rank);

}  // namespace nnfleet::worker
