#pragma once
// Model selection on cross-validation predictions (method reference 9.2, nnU-Net v2's
// find_best_configuration), cluster-wide.
//
// Inputs: results/<dataset>/<config>/fold_<k>/validation/<case>.h5 (probability files, see
// docs/formats.md) for every configuration and fold, and the reference segmentations.
// Candidates: every configuration (the union of its folds' validation cases = the
// cross-validation) and, unless disabled, every unordered pair (probabilities averaged per case
// in float32, then argmax). Score: mean foreground Dice before postprocessing. Best: the highest
// score; ties go to the first candidate in evaluation order (configurations in the given order,
// then pairs (i, j), i < j). Postprocessing (7.1) is then decided on the winner.
//
// Distribution (Note [selection sharding]): the sorted case list is shared out round robin over
// the ranks of `world`; each rank reads only its cases' probability files and references, and
// only per-case count tables travel (gathered at rank 0, all-gathered during the postprocessing
// rounds). Every output is computed from the case-sorted tables, so 1 and N ranks write
// identical files.
//
// Outputs (rank 0, atomic) in `output_folder` (default results/<dataset>/selection):
//   ranking.csv, decision.json, postprocessing.json, inference_instructions.txt,
//   <candidate>/summary.json (+ .csv) for every candidate, <winner>/summary_postprocessed.json,
//   summary.csv (the `nnfleet summarize` table of this dataset).

#include <filesystem>
#include <string>
#include <vector>

#include "dist/mpi_world.h"
#include "evaluation/labels.h"
#include "evaluation/postprocessing.h"
#include "evaluation/summary.h"

namespace nnfleet::evaluation {

struct SelectionOptions {
  std::filesystem::path results_dataset_folder;  // results/<dataset>
  std::filesystem::path reference_folder;        // <case><file_ending> reference segmentations
  LabelSet labels;
  std::string file_ending = ".nii.gz";
  // Candidate configurations in evaluation order; empty = those of 2d, 3d_fullres, 3d_lowres,
  // 3d_cascade_fullres that have a folder under results_dataset_folder.
  std::vector<std::string> configurations;
  std::vector<int> folds{0, 1, 2, 3, 4};
  bool allow_ensembling = true;
  std::string dataset_name;                      // as written in the commands (-d)
  std::filesystem::path output_folder;           // empty = results_dataset_folder / "selection"
};

struct Candidate {
  std::string name;                  // "3d_fullres" or "2d+3d_fullres"
  std::vector<std::string> members;  // configurations
  Summary summary;                   // on rank 0 only (empty elsewhere)
  double score = 0;                  // foreground-mean Dice, identical on every rank
};

struct SelectionResult {
  std::vector<Candidate> candidates;  // evaluation order
  size_t best = 0;                    // index into candidates
  PostprocessingDecision postprocessing;
  std::filesystem::path output_folder;
};

// Collective over `world`. Throws nnfleet::Error (on every rank that detects it) naming the
// configuration, fold or case when inputs are missing or inconsistent.
SelectionResult select_model(const SelectionOptions& options, const dist::Comm& world);

// The configurations select_model evaluates when options.configurations is empty.
std::vector<std::string> default_configurations(const std::filesystem::path& results_dataset_folder);

// Writes the selection files (rank 0 calls this inside select_model).
void write_selection_outputs(const SelectionOptions& options, const SelectionResult& result);
// The text of inference_instructions.txt.
std::string inference_instructions(const SelectionOptions& options, const SelectionResult& result);

}  // namespace nnfleet::evaluation
