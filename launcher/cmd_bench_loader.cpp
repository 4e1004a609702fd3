// Hidden `bench-loader`: the C++ side of scripts/bench/bench_dataloader.sh. Times augmented
// training batches of one configuration from the HDF5 case store with a given number of loader
// workers and prints one JSON line (batches per second, peak resident memory).

#include <sys/resource.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "launcher/command_registry.h"
#include "worker/data_loader.h"
#include "worker/train_setup.h"

namespace nnfleet::launcher {
namespace {

struct BenchLoaderOptions {
  std::string dataset_dir;  // <preprocessed>/DatasetNNN_Name
  std::string configuration = "3d_fullres";
  int workers = 1, batches = 50, warmup = 5;
  int batch = 0;  // 0 = the plan's batch size
  uint64_t seed = 12345;
};

nlohmann::json read_json(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw Error("[bench-loader] cannot read " + file.string());
  return nlohmann::json::parse(in);
}

std::vector<std::string> cases_in(const std::filesystem::path& folder) {
  std::vector<std::string> cases;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    if (entry.path().extension() == ".h5") cases.push_back(entry.path().stem().string());
  }
  std::sort(cases.begin(), cases.end());
  if (cases.empty()) throw Error("[bench-loader] no .h5 case files in " + folder.string());
  return cases;
}

worker::LoaderOptions loader_options(const BenchLoaderOptions& o) {
  const std::filesystem::path dir = o.dataset_dir;
  const auto plans = read_json(dir / "nnUNetPlans.json");
  const auto& c = plans.at("configurations").at(o.configuration);
  worker::LoaderOptions l;
  l.case_folder = dir / c.value("data_identifier", "nnUNetPlans_" + o.configuration);
  l.cases = cases_in(l.case_folder);
  l.patch_size = c.at("patch_size").get<std::vector<int64_t>>();
  l.global_batch_size = o.batch > 0 ? o.batch : c.at("batch_size").get<int>();
  l.ds_scales = worker::deep_supervision_scales(c.at("architecture")
                                                    .at("arch_kwargs")
                                                    .at("strides")
                                                    .get<std::vector<std::vector<int64_t>>>());
  for (size_t a = 0; a < l.patch_size.size(); ++a) l.mirror_axes.push_back(static_cast<int>(a));
  l.labels = worker::label_values(read_json(dir / "dataset.json"));
  l.num_workers = o.workers;
  l.seed = o.seed;
  return l;
}

int run_bench(const BenchLoaderOptions& o) {
  torch::set_num_threads(1);
  const worker::LoaderOptions options = loader_options(o);
  worker::DataLoader loader(options);
  for (int i = 0; i < o.warmup; ++i) loader.next();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < o.batches; ++i) loader.next();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::cout << nlohmann::json{{"impl", "nnfleet"},
                              {"workers", loader.num_workers()},
                              {"batch", options.global_batch_size},
                              {"patch", options.patch_size},
                              {"initial_patch", loader.spatial_setup().initial_patch},
                              {"batches", o.batches},
                              {"seconds", seconds},
                              {"batches_per_s", o.batches / seconds},
                              {"peak_rss_mb", usage.ru_maxrss / 1024.0}}
                   .dump()
            << std::endl;
  return 0;
}

std::function<int()> install_bench(CLI::App& app, const GlobalOptions&) {
  app.description("benchmark helper for scripts/bench/bench_dataloader.sh");
  app.group("");  // hidden from --help
  auto o = std::make_shared<BenchLoaderOptions>();
  app.add_option("--dataset-dir", o->dataset_dir, "<preprocessed>/DatasetNNN_Name")->required();
  app.add_option("-c,--configuration", o->configuration);
  app.add_option("--workers", o->workers);
  app.add_option("--batches", o->batches);
  app.add_option("--warmup", o->warmup);
  app.add_option("--batch", o->batch, "batch size (default: the plan's)");
  app.add_option("--seed", o->seed);
  return [o] { return run_bench(*o); };
}

const CommandRegistrar bench_registrar({"bench-loader", 992, install_bench});

}  // namespace
}  // namespace nnfleet::launcher
