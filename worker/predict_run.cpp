#include "worker/predict_run.h"

#include <torch/torch.h>

#include <chrono>
#include <optional>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/log.h"
#include "dist/device_map.h"
#include "evaluation/labels.h"
#include "evaluation/postprocessing.h"
#include "models/unet.h"
#include "models/unet_config.h"
#include "preprocessing/image_io.h"
#include "preprocessing/case_preprocessor.h"
#include "worker/checkpoint.h"
#include "worker/export.h"
#include "worker/predict_inputs.h"
#include "worker/prediction_case.h"
#include "worker/predictor.h"

namespace nnfleet::worker {
namespace {

std::string fold_list(const std::vector<int>& folds) {
  std::string s;
  for (int f : folds) s += (s.empty() ? "" : " ") + std::to_string(f);
  return s;
}

// Input channels of dataset.json: "channel_names" (v2) or "modality" (MSD).
int channel_count_of(const nlohmann::json& dataset_json) {
  for (const char* key : {"channel_names", "modality"})
    if (dataset_json.contains(key) && !dataset_json[key].empty()) return static_cast<int>(dataset_json[key].size());
  throw Error("[predict] dataset.json has neither \"channel_names\" nor \"modality\"");
}

std::string previous_stage_of(const nlohmann::json& plans, const std::string& configuration) {
  const auto& c = plans.at("configurations").at(configuration);
  return c.contains("previous_stage") && c["previous_stage"].is_string() ? c["previous_stage"].get<std::string>()
                                                                         : "";
}

// Everything one rank needs to predict its cases.
struct Session {
  const PredictRequest* request = nullptr;
  TrainedModel model;
  preprocessing::ConfigurationSettings preprocess_settings;
  ExportSettings export_settings;
  PredictorOptions predictor;
  std::vector<models::UNet> networks;
  std::optional<evaluation::PostprocessingRule> postprocessing;
  std::vector<int> foreground;  // label values appended as one-hot channels in the cascade
};

std::vector<models::UNet> load_networks(const TrainedModel& m, const std::string& configuration,
                                        int input_channels, int num_classes, torch::Device device) {
  std::vector<models::UNet> nets;
  for (const auto& file : m.checkpoints) {
    models::UNet net(models::unet_config_from_plans(m.plans, configuration, input_channels, num_classes));
    load_network_weights(file, *net);
    net->to(device);
    nets.push_back(net);
  }
  return nets;
}

Session open_session(const PredictRequest& r, const Folders& folders, int local_rank) {
  const DatasetRef dataset = resolve_dataset(r.dataset, folders);
  Session s;
  s.request = &r;
  s.model = find_trained_model(r, folders.results / dataset.canonical);
  s.preprocess_settings = preprocessing::ConfigurationSettings::from_plans(s.model.plans, r.configuration, s.model.dataset_json);
  s.export_settings = export_settings_from_plans(s.model.plans, r.configuration, s.model.dataset_json);
  const auto& labels = s.export_settings.channel_labels;  // background first, then foreground
  int channels = channel_count_of(s.model.dataset_json);
  if (!s.model.previous_stage.empty()) {
    s.foreground.assign(labels.begin() + 1, labels.end());
    channels += static_cast<int>(s.foreground.size());
  }
  s.predictor = predictor_options_from_plans(s.model.plans, r.configuration);
  s.predictor.mirror = r.mirror;
  s.predictor.step_size = r.step_size;
  s.predictor.device = dist::device_for_rank(r.device, local_rank);
  s.predictor.amp = s.predictor.device.is_cuda();
  s.networks = load_networks(s.model, r.configuration, channels, static_cast<int>(labels.size()), s.predictor.device);
  if (!r.postprocessing_file.empty()) s.postprocessing = evaluation::read_postprocessing(r.postprocessing_file);
  return s;
}

preprocessing::LoadedCase load_input(const InputCase& c, const Session& s) {
  preprocessing::LoadedCase loaded;
  loaded.id = c.id;
  loaded.image = c.files.size() == 1 ? preprocessing::read_image(c.files[0]) : preprocessing::read_channels(c.files);
  if (s.model.previous_stage.empty()) return loaded;
  // The cascade: the low-resolution segmentation goes through the same crop, transpose and
  // resampling as a training label (method reference 6.6).
  const auto prev = s.request->previous_stage_predictions / (c.id + ".nii.gz");
  if (!std::filesystem::exists(prev))
    throw Error("[predict] case " + c.id + ": no previous-stage prediction " + prev.string() + "; predict it with " +
                s.model.previous_stage + " first");
  loaded.label = preprocessing::read_label(prev);
  if (loaded.label->geometry.size_xyz != loaded.image.geometry.size_xyz)
    throw Error("[predict] case " + c.id + ": previous-stage prediction " + prev.string() +
                " does not have the image's size");
  return loaded;
}

// Appends the one-hot foreground channels of the preprocessed previous-stage segmentation.
void append_previous_stage(worker::PreprocessedCase& c, const std::vector<int8_t>& seg,
                           const std::vector<int>& foreground) {
  const size_t n = seg.size();
  const size_t old = c.data.size();
  c.data.resize(old + foreground.size() * n, 0.0f);
  for (size_t k = 0; k < foreground.size(); ++k)
    for (size_t i = 0; i < n; ++i)
      if (seg[i] == foreground[k]) c.data[old + k * n + i] = 1.0f;
  c.channels += static_cast<int64_t>(foreground.size());
}

bool already_done(const InputCase& c, const PredictRequest& r) {
  const bool seg = std::filesystem::exists(r.output_folder / (c.id + ".nii.gz"));
  const bool probs = !r.save_probabilities || std::filesystem::exists(r.output_folder / (c.id + ".h5"));
  return seg && probs;
}

void predict_one(const InputCase& input, const Session& s) {
  preprocessing::PreprocessedCase pre = preprocessing::preprocess_case(load_input(input, s), s.preprocess_settings);
  worker::PreprocessedCase c;
  c.case_id = input.id;
  c.channels = pre.channels;
  c.shape = pre.shape;
  c.data = std::move(pre.data);
  c.properties = parse_case_properties(pre.properties, input.id);
  c.properties.case_id = input.id;
  if (!s.model.previous_stage.empty()) append_previous_stage(c, pre.seg, s.foreground);

  const torch::Tensor data = torch::from_blob(c.data.data(), {c.channels, c.shape[0], c.shape[1], c.shape[2]});
  std::vector<models::UNet> networks = s.networks;
  const std::vector<float> logits = tensor_values(predict_logits(networks, data, s.predictor));
  ExportedCase exported = export_logits(logits, c.shape, c.properties, s.export_settings,
                                        s.request->save_probabilities);
  if (s.postprocessing) evaluation::apply_postprocessing(exported.segmentation, *s.postprocessing);
  write_exported_case(s.request->output_folder, exported);
}

void predict_share(const std::vector<InputCase>& mine, const Session& s) {
  size_t done = 0;
  for (const InputCase& c : mine) {
    ++done;
    if (s.request->resume && already_done(c, *s.request)) {
      spdlog::info("[predict] case {} already predicted, skipped (--continue)", c.id);
      continue;
    }
    const auto t0 = std::chrono::steady_clock::now();
    predict_one(c, s);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    spdlog::info("[predict] case {} done in {:.1f} s ({} of {} on this rank)", c.id, seconds, done, mine.size());
  }
}

}  // namespace

void run_prediction(const PredictRequest& request, const Folders& folders, const dist::Comm& world,
                    int local_rank) {
  folders.require_results();
  const Session s = open_session(request, folders, local_rank);
  const auto cases = find_input_cases(request.input_folder, channel_count_of(s.model.dataset_json));
  std::filesystem::create_directories(request.output_folder);
  if (world.rank() == 0) {
    write_json_atomically(request.output_folder / "dataset.json", s.model.dataset_json);
    write_json_atomically(request.output_folder / "plans.json", s.model.plans);
  }
  spdlog::info("[predict] {} case(s) with {} fold(s) of {} on {}, mirroring {}, step {}; {} case(s) on this rank",
               cases.size(), s.model.checkpoints.size(), request.configuration, s.predictor.device.str(),
               request.mirror ? "on" : "off", request.step_size,
               cases_of_rank(cases, world.rank(), world.size()).size());
  predict_share(cases_of_rank(cases, world.rank(), world.size()), s);
  world.barrier();
}

TrainedModel find_trained_model(const PredictRequest& r, const std::filesystem::path& results_dataset) {
  if (!(r.step_size > 0 && r.step_size <= 1))
    throw Error("[predict] --step-size " + std::to_string(r.step_size) + " must be in (0, 1]");
  TrainedModel m;
  m.folder = results_dataset / r.configuration;
  if (!std::filesystem::exists(m.folder / "plans.json"))
    throw Error("[predict] configuration " + r.configuration + " was not trained: " +
                (m.folder / "plans.json").string() + " does not exist. Train it first (nnfleet train) or " +
                "pick a trained configuration with -c");
  m.plans = read_json(m.folder / "plans.json");
  m.dataset_json = read_json(m.folder / "dataset.json");
  if (!m.plans.contains("configurations") || !m.plans["configurations"].contains(r.configuration))
    throw Error("[predict] " + (m.folder / "plans.json").string() + " has no configuration " + r.configuration);
  if (r.folds.empty()) throw Error("[predict] no fold given (-f)");

  std::vector<int> missing;
  for (int fold : r.folds) {
    const auto file = m.folder / ("fold_" + std::to_string(fold)) / ("checkpoint_" + r.checkpoint + ".pt");
    if (std::filesystem::exists(file)) m.checkpoints.push_back(file);
    else missing.push_back(fold);
  }
  if (!missing.empty())
    throw Error("[predict] configuration " + r.configuration + ": fold(s) " + fold_list(missing) +
                " have no checkpoint_" + r.checkpoint + ".pt under " + m.folder.string() +
                ". Finish their training or choose the folds that exist with -f");

  m.previous_stage = previous_stage_of(m.plans, r.configuration);
  if (!m.previous_stage.empty() && r.previous_stage_predictions.empty())
    throw Error("[predict] " + r.configuration + " is a cascade stage: predict the cases with " + m.previous_stage +
                " first and pass that output folder with --prev-stage-predictions");
  if (!m.previous_stage.empty() && !std::filesystem::is_directory(r.previous_stage_predictions))
    throw Error("[predict] --prev-stage-predictions " + r.previous_stage_predictions.string() +
                " is not a folder");
  return m;
}

}  // namespace nnfleet::worker
