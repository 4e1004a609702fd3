#include "worker/train_setup.h"

#include <algorithm>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/log.h"
#include "worker/checkpoint.h"
#include "worker/trainer.h"

namespace nnfleet::worker {
namespace fs = std::filesystem;
namespace {

nlohmann::json read_required(const fs::path& file, const std::string& what_to_run) {
  if (!fs::exists(file))
    throw Error("[train] " + file.string() + " is missing; " + what_to_run);
  return read_json(file);
}

nlohmann::json resolve_configuration(const nlohmann::json& plans, const std::string& name,
                                     const fs::path& plans_file, int depth = 0) {
  const auto& configs = plans.at("configurations");
  if (!configs.contains(name) || depth > 8) {
    std::string known;
    for (const auto& [key, value] : configs.items()) known += (known.empty() ? "" : ", ") + key;
    throw Error("[train] " + plans_file.string() + " has no configuration '" + name +
                "' (it has: " + known + ")");
  }
  nlohmann::json merged = nlohmann::json::object();
  const auto& own = configs.at(name);
  if (own.contains("inherits_from"))
    merged = resolve_configuration(plans, own.at("inherits_from").get<std::string>(), plans_file,
                                   depth + 1);
  for (const auto& [key, value] : own.items())
    if (key != "inherits_from") merged[key] = value;
  return merged;
}

std::vector<std::string> list_cases(const fs::path& case_folder, const std::string& dataset) {
  if (!fs::is_directory(case_folder))
    throw Error("[train] no preprocessed data at " + case_folder.string() +
                "; run `nnfleet preprocess -d " + dataset + "` first");
  std::vector<std::string> cases;
  for (const auto& entry : fs::directory_iterator(case_folder))
    if (entry.path().extension() == ".h5") cases.push_back(entry.path().stem().string());
  std::sort(cases.begin(), cases.end());
  if (cases.empty())
    throw Error("[train] " + case_folder.string() + " holds no <case>.h5 files; run `nnfleet "
                "preprocess -d " + dataset + "` first");
  return cases;
}

void check_fold_cases(const Fold& fold, const std::vector<std::string>& cases,
                      const fs::path& splits_file, int k) {
  for (const auto* list : {&fold.train, &fold.val})
    for (const auto& c : *list)
      if (!std::binary_search(cases.begin(), cases.end(), c))
        throw Error("[train] fold " + std::to_string(k) + " of " + splits_file.string() +
                    " names case '" + c + "', which has no preprocessed file");
}

std::vector<Fold> splits_for_group(const JobSetup& s, const dist::Comm& group) {
  if (group.rank() == 0) load_or_create_splits(s.splits_file.parent_path(), s.cases);
  if (group.size() > 1) group.barrier();
  return read_splits(s.splits_file);
}

void derive_network_settings(JobSetup& s, const TrainOptions& o) {
  const auto& c = s.configuration_json;
  s.patch_size = c.at("patch_size").get<std::vector<int64_t>>();
  s.batch_size = c.at("batch_size").get<int>();
  s.batch_dice = c.value("batch_dice", false);
  s.labels = label_values(s.dataset_json);
  int channels = channel_count(s.dataset_json);
  if (c.contains("previous_stage")) {
    channels += static_cast<int>(s.labels.size()) - 1;
    s.previous_stage_folder =
        !o.previous_stage_folder.empty()
            ? o.previous_stage_folder
            : o.preprocessed_dataset / "predicted_next_stage" / s.configuration;
  }
  s.network = models::unet_config_from_plans(s.plans, s.configuration, channels,
                                             static_cast<int>(s.labels.size()));
  s.ds_scales = deep_supervision_scales(s.network.strides);
  s.mirror_axes.resize(s.patch_size.size());
  for (size_t a = 0; a < s.mirror_axes.size(); ++a) s.mirror_axes[a] = static_cast<int>(a);
}

}  // namespace

std::vector<int> label_values(const nlohmann::json& dataset_json) {
  if (!dataset_json.contains("labels")) throw Error("[train] dataset.json has no \"labels\"");
  std::vector<int> values;
  for (const auto& [key, value] : dataset_json.at("labels").items()) {
    if (value.is_number_integer()) values.push_back(value.get<int>());
    else if (value.is_string()) values.push_back(std::stoi(key));  // MSD: "1": "Anterior"
    else throw Error("[train] dataset.json label '" + key + "' is a region (" + value.dump() +
                     "); region-based training is not supported");
  }
  std::sort(values.begin(), values.end());
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i] != static_cast<int>(i))
      throw Error("[train] dataset.json labels must be 0..K-1 without gaps; got value " +
                  std::to_string(values[i]) + " at position " + std::to_string(i));
  if (values.size() < 2) throw Error("[train] dataset.json declares no foreground label");
  return values;
}

int channel_count(const nlohmann::json& dataset_json) {
  for (const char* key : {"channel_names", "modality"})
    if (dataset_json.contains(key)) return static_cast<int>(dataset_json.at(key).size());
  throw Error("[train] dataset.json has neither \"channel_names\" nor \"modality\"");
}

std::vector<std::vector<double>> deep_supervision_scales(
    const std::vector<std::vector<int64_t>>& strides) {
  std::vector<std::vector<double>> scales;
  std::vector<double> product(strides.front().size(), 1.0);
  for (size_t s = 0; s + 1 < strides.size(); ++s) {
    for (size_t a = 0; a < product.size(); ++a) product[a] *= static_cast<double>(strides[s][a]);
    std::vector<double> scale(product.size());
    for (size_t a = 0; a < product.size(); ++a) scale[a] = 1.0 / product[a];
    scales.push_back(scale);
  }
  return scales;
}

JobSetup prepare_job(const TrainOptions& o, const dist::Comm& group) {
  JobSetup s;
  const std::string dataset = o.preprocessed_dataset.filename().string();
  const auto plans_file = o.preprocessed_dataset / "nnUNetPlans.json";
  s.plans = read_required(plans_file, "run `nnfleet plan -d " + dataset + "` (or preprocess) first");
  s.dataset_json = read_required(o.preprocessed_dataset / "dataset.json",
                                 "run `nnfleet preprocess -d " + dataset + "` first");
  s.configuration = o.configuration;
  s.configuration_json = resolve_configuration(s.plans, o.configuration, plans_file);
  s.plan_hash = plan_hash(s.plans, o.configuration);
  s.case_folder = o.preprocessed_dataset /
                  s.configuration_json.value("data_identifier", "nnUNetPlans_" + o.configuration);
  s.gt_folder = o.preprocessed_dataset / "gt_segmentations";
  s.cases = list_cases(s.case_folder, dataset);
  s.splits_file = o.preprocessed_dataset / "splits_final.json";
  const auto splits = splits_for_group(s, group);
  s.fold = select_fold(splits, o.fold, s.splits_file);
  check_fold_cases(s.fold, s.cases, s.splits_file, o.fold);
  derive_network_settings(s, o);
  s.paths = job_paths(o.results_dataset.parent_path(), o.results_dataset.filename().string(),
                      o.configuration, o.fold);
  return s;
}

}  // namespace nnfleet::worker
