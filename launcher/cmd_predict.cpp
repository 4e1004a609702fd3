// `nnfleet predict`: predicts new cases with a trained configuration (worker/predict_run.h).
// Also registers the hidden `bench-predict`, the C++ side of scripts/bench/bench_predict.sh.

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <sys/resource.h>

#include "common/error.h"
#include "dist/device_map.h"
#include "launcher/command_registry.h"
#include "models/unet.h"
#include "worker/predict_run.h"
#include "worker/predictor.h"

namespace nnfleet::launcher {
namespace {

std::function<int()> install_predict(CLI::App& app, const GlobalOptions& global) {
  app.description("Predict new cases with a trained configuration (one fold or the ensemble of several)");
  auto r = std::make_shared<worker::PredictRequest>();
  app.add_option("-i,--input", r->input_folder,
                 "folder of images named like the training images: <case>_0000.nii.gz per channel, "
                 "or one (4D) file per case")->required();
  app.add_option("-o,--output", r->output_folder, "output folder: <case>.nii.gz (+ <case>.h5)")->required();
  app.add_option("-d,--dataset", r->dataset, "dataset: id (4), name (Task04_Hippocampus) or path")->required();
  app.add_option("-c,--configuration", r->configuration, "2d, 3d_fullres, 3d_lowres or 3d_cascade_fullres")
      ->capture_default_str();
  app.add_option("-f,--folds", r->folds, "folds to ensemble (logits averaged)")->capture_default_str();
  app.add_option("--chk,--checkpoint", r->checkpoint, "checkpoint to load: final, best or latest")
      ->check(CLI::IsMember({"final", "best", "latest"}))->capture_default_str();
  app.add_flag("--save-probabilities,--npz", r->save_probabilities,
               "also write softmax probabilities <case>.h5 (what ensembling reads)");
  app.add_flag("--no-mirroring,--disable_tta", [r](int64_t) { r->mirror = false; },
               "no mirroring test-time augmentation (8x faster in 3D)");
  app.add_option("--step-size,--step_size", r->step_size, "tile step as a fraction of the patch, (0, 1]")
      ->capture_default_str();
  app.add_option("--prev-stage-predictions,--prev_stage_predictions", r->previous_stage_predictions,
                 "cascade: folder of the 3d_lowres predictions of the same cases");
  app.add_option("--device", r->device, "cpu, cuda or auto")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}))->capture_default_str();
  app.add_flag("--continue,--continue_prediction", r->resume, "skip cases whose outputs already exist");
  app.add_option("--postprocessing,--pp_pkl_file", r->postprocessing_file,
                 "postprocessing.json to apply (from model selection)");
  return [r, &global] {
    const auto world = global.world();
    const auto shared = world.split_shared();
    worker::run_prediction(*r, global.folders(), world, shared.rank());
    return 0;
  };
}

// bench-predict: sliding-window logits of a raw float32 [C, Z, Y, X] file with a randomly
// initialised U-Net described by an architecture JSON (scripts/bench/*_arch.json).
struct BenchOptions {
  std::string input, arch;
  int threads = 2, repeats = 3;
  bool mirror = true;
  std::string device = "cpu";
};

models::UNetConfig config_from_arch(const nlohmann::json& a) {
  models::UNetConfig c;
  c.dims = static_cast<int>(a.at("patch_size").size());
  c.input_channels = a.at("input_channels").get<int>();
  c.num_classes = a.at("num_classes").get<int>();
  c.features_per_stage = a.at("features_per_stage").get<std::vector<int64_t>>();
  c.kernel_sizes = a.at("kernel_sizes").get<std::vector<std::vector<int64_t>>>();
  c.strides = a.at("strides").get<std::vector<std::vector<int64_t>>>();
  c.n_conv_per_stage = a.at("n_conv_per_stage").get<std::vector<int>>();
  c.n_conv_per_stage_decoder = a.at("n_conv_per_stage_decoder").get<std::vector<int>>();
  c.deep_supervision = false;
  return c;
}

int run_bench(const BenchOptions& o) {
  torch::set_num_threads(o.threads);
  const nlohmann::json arch = nlohmann::json::parse(std::ifstream(o.arch));
  const nlohmann::json meta = nlohmann::json::parse(std::ifstream(o.input + ".json"));
  const auto shape = meta.at("shape").get<std::vector<int64_t>>();
  std::vector<float> values(static_cast<size_t>(shape[0] * shape[1] * shape[2] * shape[3]));
  std::ifstream(o.input, std::ios::binary).read(reinterpret_cast<char*>(values.data()),
                                                static_cast<std::streamsize>(values.size() * sizeof(float)));
  const torch::Tensor data = torch::from_blob(values.data(), shape);
  torch::manual_seed(0);
  std::vector<models::UNet> nets{models::UNet(config_from_arch(arch))};
  worker::PredictorOptions p;
  p.patch_size = arch.at("patch_size").get<std::vector<int64_t>>();
  p.mirror = o.mirror;
  p.mirror_axes = {0, 1, 2};
  p.device = dist::device_for_rank(o.device, 0);
  p.amp = p.device.is_cuda();
  std::vector<double> seconds;
  torch::Tensor logits;
  for (int i = 0; i <= o.repeats; ++i) {  // the first run warms up
    const auto t0 = std::chrono::steady_clock::now();
    logits = worker::predict_logits(nets, data, p);
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  seconds.erase(seconds.begin());
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::cout << nlohmann::json{{"impl", "nnfleet"}, {"mirror", o.mirror ? 1 : 0}, {"threads", o.threads},
                              {"shape", shape}, {"seconds", seconds},
                              {"best_s", *std::min_element(seconds.begin(), seconds.end())},
                              {"peak_rss_mb", double(usage.ru_maxrss) / 1024.0},
                              {"logits_shape", logits.sizes().vec()}}.dump()
            << std::endl;
  return 0;
}

std::function<int()> install_bench(CLI::App& app, const GlobalOptions&) {
  app.description("benchmark helper for scripts/bench/bench_predict.sh");
  app.group("");  // hidden from --help
  auto o = std::make_shared<BenchOptions>();
  app.add_option("--input", o->input, "raw float32 [C, Z, Y, X] file (+ .json with its shape)")->required();
  app.add_option("--arch", o->arch, "architecture JSON")->required();
  app.add_option("--threads", o->threads);
  app.add_option("--repeats", o->repeats);
  app.add_option("--mirror", o->mirror);
  app.add_option("--device", o->device);
  return [o] { return run_bench(*o); };
}

const CommandRegistrar predict_registrar({"predict", 60, install_predict});
const CommandRegistrar bench_registrar({"bench-predict", 990, install_bench});

}  // namespace
}  // namespace nnfleet::launcher
