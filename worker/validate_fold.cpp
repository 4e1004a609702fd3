// validate_fold (declared in worker/predictor.h): the end-of-training validation of one fold.
#include <torch/torch.h>

#include "common/error.h"
#include "common/log.h"
#include "evaluation/evaluate.h"
#include "evaluation/labels.h"
#include "evaluation/summary.h"
#include "models/unet.h"
#include "worker/export.h"
#include "worker/prediction_case.h"
#include "worker/predictor.h"

namespace nnfleet::worker {
namespace {

// The configurations that take this one's predictions as input (v2 "next_stage": a name or a list).
std::vector<std::string> next_stages(const nlohmann::json& plans, const std::string& configuration) {
  const auto& c = plans.at("configurations").at(configuration);
  if (!c.contains("next_stage") || c["next_stage"].is_null()) return {};
  if (c["next_stage"].is_string()) return {c["next_stage"].get<std::string>()};
  return c["next_stage"].get<std::vector<std::string>>();
}

std::string data_identifier(const nlohmann::json& plans, const std::string& configuration) {
  std::string name = configuration;
  for (int depth = 0; depth < 8; ++depth) {
    const auto& c = plans.at("configurations").at(name);
    if (c.contains("data_identifier")) return c["data_identifier"].get<std::string>();
    if (!c.contains("inherits_from")) break;
    name = c["inherits_from"].get<std::string>();
  }
  return "nnUNetPlans_" + name;
}

Spacing3 spacing3(const std::vector<double>& s, double first_axis) {
  if (s.size() == 3) return {s[0], s[1], s[2]};
  return {first_axis, s[0], s[1]};
}

// Writes the cascade input of `next` for one case: the lowres logits resampled to the next
// stage's preprocessed shape (read from its case file), argmax, as seg_prev.
void write_next_stage(const std::vector<float>& logits, const PreprocessedCase& c,
                      const ExportSettings& settings, const nlohmann::json& plans,
                      const nlohmann::json& dataset_json, const std::string& next,
                      const std::filesystem::path& preprocessed_dataset) {
  const auto target_file = preprocessed_dataset / data_identifier(plans, next) / (c.case_id + ".h5");
  if (!std::filesystem::exists(target_file)) {
    spdlog::warn("[validate] case {}: no preprocessed file {} for the next stage {}; run its "
                 "preprocessing first. Skipping its cascade input.", c.case_id, target_file.string(), next);
    return;
  }
  const Shape3 target_shape = case_file_spatial_shape(target_file);
  const ExportSettings next_settings = export_settings_from_plans(plans, next, dataset_json);
  const auto& fwd = settings.transpose_forward;
  const double first = c.properties.spacing[static_cast<size_t>(fwd[0])];
  const auto seg = segmentation_for_next_stage(
      logits, c.shape, spacing3(settings.configuration_spacing, first), target_shape,
      spacing3(next_settings.configuration_spacing, first), settings);
  write_next_stage_file(preprocessed_dataset / "predicted_next_stage" / next / (c.case_id + ".h5"),
                        c.case_id, seg, target_shape);
}

void summarize_fold(const nlohmann::json& dataset_json, const std::filesystem::path& validation_dir,
                    const std::filesystem::path& gt_folder) {
  evaluation::EvaluateOptions eval;
  eval.reference_folder = gt_folder;
  eval.prediction_folder = validation_dir;
  eval.labels = evaluation::parse_labels(dataset_json, "dataset.json");
  eval.file_ending = ".nii.gz";
  eval.chill = true;  // the reference folder holds every case, the fold only its validation share
  const evaluation::Summary summary = evaluation::evaluate_folders(eval);
  evaluation::write_summary(validation_dir / "summary.json", summary);
  spdlog::info("[validate] {}: mean foreground Dice {:.4f} over {} cases", validation_dir.string(),
               summary.foreground_mean.dice, summary.cases.size());
}

}  // namespace

void validate_fold(models::UNet& network, const nlohmann::json& plans, const nlohmann::json& dataset_json,
                   const std::string& configuration, const std::filesystem::path& case_folder,
                   const std::vector<std::string>& cases, const std::filesystem::path& validation_dir,
                   const std::filesystem::path& gt_folder, const dist::Comm& group,
                   const PredictorOptions& options) {
  const ExportSettings settings = export_settings_from_plans(plans, configuration, dataset_json);
  const auto nexts = next_stages(plans, configuration);
  const auto preprocessed_dataset = case_folder.parent_path();
  std::filesystem::create_directories(validation_dir);
  std::vector<models::UNet> networks{network};

  // Round-robin share of this rank; an error is kept until every rank has reached the barrier.
  std::string failure;
  for (size_t i = static_cast<size_t>(group.rank()); i < cases.size(); i += static_cast<size_t>(group.size())) {
    try {
      const PreprocessedCase c = read_preprocessed_case(case_folder / (cases[i] + ".h5"));
      const torch::Tensor data = torch::from_blob(const_cast<float*>(c.data.data()),
                                                  {c.channels, c.shape[0], c.shape[1], c.shape[2]});
      const std::vector<float> logits = tensor_values(predict_logits(networks, data, options));
      write_exported_case(validation_dir, export_logits(logits, c.shape, c.properties, settings, true));
      for (const auto& next : nexts)
        write_next_stage(logits, c, settings, plans, dataset_json, next, preprocessed_dataset);
      spdlog::info("[validate] case {} ({} of {})", c.case_id, i + 1, cases.size());
    } catch (const std::exception& e) {
      failure = "case " + cases[i] + ": " + e.what();
      break;
    }
  }

  // Every rank's exports are complete after this collective; rank 0 then evaluates and tells the
  // others whether that worked, so no rank waits for a failed peer.
  std::vector<long long> failed{failure.empty() ? 0LL : 1LL};
  group.allreduce_sum(failed);
  if (!failure.empty()) throw Error("[validate] " + failure);
  if (failed[0] > 0) throw Error("[validate] validation failed on another rank of the group; see its log");
  std::string summary_error;
  if (group.rank() == 0) {
    try {
      summarize_fold(dataset_json, validation_dir, gt_folder);
    } catch (const std::exception& e) {
      summary_error = std::string("summary: ") + e.what();
    }
  }
  group.broadcast(summary_error, 0);
  if (!summary_error.empty()) throw Error("[validate] " + summary_error);
}

}  // namespace nnfleet::worker
