#pragma once
// One CSV table across datasets and configurations / ensembles, built from the summary.json files
// under a results folder, for comparing runs (`nnfleet summarize`):
//   results/<dataset>/<config>/fold_<k>/validation/summary.json   -> model <config>, fold k
//   results/<dataset>/selection/<candidate>/summary.json          -> model <candidate>, fold all
//   results/<dataset>/selection/<candidate>/summary_postprocessed.json
//                                                   -> model "<candidate> (postprocessed)", fold all
// Columns: task, model, fold, class, class_name, Dice, IoU, TP, FP, FN, n_pred, n_ref (means over
// cases, as in the summary's "mean"; class "foreground_mean" is the summary's foreground mean).

#include <filesystem>
#include <string>
#include <vector>

namespace nnfleet::evaluation {

struct SummaryRow {
  std::string task, model, fold, label, label_name;
  double dice, iou, tp, fp, fn, n_pred, n_ref;
};

// Rows of every summary found for `datasets` (folder names under results_folder; empty = every
// dataset folder), sorted by task, model, fold, then class as in the file. Throws naming the
// file when a summary.json is malformed.
std::vector<SummaryRow> collect_summary_rows(const std::filesystem::path& results_folder,
                                             const std::vector<std::string>& datasets);
std::string summary_rows_to_csv(const std::vector<SummaryRow>& rows);

}  // namespace nnfleet::evaluation
