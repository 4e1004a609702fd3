#include "preprocessing/plan_and_preprocess.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/atomic_file.h"
#include "common/error.h"
#include "preprocessing/case_preprocessor.h"
#include "preprocessing/dataset.h"
#include "preprocessing/fingerprint.h"
#include "preprocessing/validate.h"

namespace nnfleet::preprocessing {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const char* kStampFile = "nnfleet_preprocessing_stamp.json";

// Runs fn(i) for i in `items` on `threads` threads; the first exception is rethrown.
void parallel_for(const std::vector<size_t>& items, int threads,
                  const std::function<void(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto worker = [&] {
    for (size_t k = next++; k < items.size(); k = next++) {
      try {
        fn(items[k]);
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        next = items.size();
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::max(1, threads); ++t) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
  if (failure) std::rethrow_exception(failure);
}

// Gathers every rank's error text; throws on all ranks when any is non-empty.
void raise_if_any_failed(const dist::Comm& world, const std::string& my_error,
                         const std::string& what) {
  const auto all = world.allgather(my_error);
  std::string message;
  for (size_t r = 0; r < all.size(); ++r) {
    if (!all[r].empty()) message += "\n  rank " + std::to_string(r) + ": " + all[r];
  }
  if (!message.empty()) throw Error(what + " failed:" + message);
}

class Progress {
 public:
  Progress(std::string what, size_t mine, size_t total, bool show)
      : what_(std::move(what)), mine_(mine), total_(total), show_(show),
        start_(std::chrono::steady_clock::now()) {}
  void step() {
    const size_t done = ++done_;
    if (!show_) return;
    const double elapsed = seconds();
    if (done != mine_ && elapsed - last_ < 2.0) return;
    last_ = elapsed;
    const double eta = done ? elapsed / done * static_cast<double>(mine_ - done) : 0;
    spdlog::info("{}: {}/{} cases on this rank ({} in the world), {:.0f} s elapsed, ETA {:.0f} s",
                 what_, done, mine_, total_, elapsed, eta);
  }

 private:
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  std::string what_;
  size_t mine_, total_;
  bool show_;
  std::chrono::steady_clock::time_point start_;
  std::atomic<size_t> done_{0};
  double last_ = -10;
};

std::vector<size_t> my_cases(size_t n, const dist::Comm& world) {
  std::vector<size_t> mine;
  for (size_t i = static_cast<size_t>(world.rank()); i < n; i += world.size()) mine.push_back(i);
  return mine;
}

// Inputs and options that decide the outputs; equal stamps mean nothing needs redoing.
json make_stamp(const DatasetDescription& d, const PlanPreprocessOptions& o) {
  json files = json::array();
  auto add = [&](const fs::path& f) {
    std::error_code ec;
    const auto size = fs::file_size(f, ec);
    const auto time = fs::last_write_time(f, ec).time_since_epoch().count();
    files.push_back({f.string(), static_cast<int64_t>(size), static_cast<int64_t>(time)});
  };
  add(d.folder / "dataset.json");
  for (const auto& c : d.training) {
    for (const auto& f : c.images) add(f);
    if (!c.label.empty()) add(c.label);
  }
  return {{"files", files}, {"configurations", o.configurations}, {"gpu_memory_gb", o.gpu_memory_gb},
          {"version", 1}};
}

struct FingerprintPhase {
  std::vector<CaseFingerprint> fingerprints;  // every case (after the allgather)
  std::map<size_t, LoadedCase> cache;         // this rank's loaded cases kept in memory
};

FingerprintPhase fingerprint_shard(const DatasetDescription& d, const PlanPreprocessOptions& o,
                                   const dist::Comm& world) {
  const auto mine = my_cases(d.training.size(), world);
  const int64_t samples = samples_per_case(d.training.size());
  FingerprintPhase phase;
  std::vector<Problem> problems;
  json mine_json = json::array();
  std::mutex mutex;
  int64_t cached_bytes = 0;
  Progress progress("fingerprint", mine.size(), d.training.size(), world.rank() == 0);
  std::string error;
  try {
    parallel_for(mine, o.threads_per_rank, [&](size_t i) {
      std::vector<Problem> found;
      auto loaded = load_case(d, d.training[i], found);
      std::optional<CaseFingerprint> f;
      if (loaded && !loaded->label) {
        found.push_back({d.training[i].id, "", "label", "training case without a label"});
      } else if (loaded) {
        const Image& im = loaded->image;
        const CroppedCase cropped = crop_to_nonzero(im.voxels, im.channels, im.geometry.shape_zyx(),
                                                    loaded->label->voxels.data());
        f = fingerprint_case(loaded->id, im.geometry.spacing_zyx(), cropped, samples);
        f->is_2d = loaded->is_2d();
      }
      std::lock_guard<std::mutex> lock(mutex);
      problems.insert(problems.end(), found.begin(), found.end());
      if (f) mine_json.push_back(f->to_json());
      if (loaded && found.empty()) {
        const int64_t bytes = static_cast<int64_t>(loaded->image.voxels.size() * 5);
        if (cached_bytes + bytes <= o.cache_bytes) {
          cached_bytes += bytes;
          phase.cache.emplace(i, std::move(*loaded));
        }
      }
      progress.step();
    });
  } catch (const std::exception& e) {
    error = e.what();
  }
  raise_if_any_failed(world, error, "fingerprint");

  const auto all = world.allgather(json{problems_to_json(problems), mine_json.dump()}.dump());
  std::vector<Problem> all_problems;
  read_dataset(d.folder, all_problems);  // dataset-level problems (same on every rank)
  std::vector<std::pair<std::string, bool>> dims;
  for (const auto& text : all) {
    const json j = json::parse(text);
    for (auto& p : problems_from_json(j[0])) all_problems.push_back(std::move(p));
    for (const auto& f : json::parse(j[1].get<std::string>())) {
      phase.fingerprints.push_back(CaseFingerprint::from_json(f));
      dims.emplace_back(phase.fingerprints.back().id, phase.fingerprints.back().is_2d);
    }
  }
  check_dimensionality(dims, all_problems);
  if (!all_problems.empty()) throw Error(format_problems(d.folder, all_problems));
  return phase;
}

void write_dataset_files(const fs::path& out, const DatasetDescription& d,
                         const DatasetFingerprint& fingerprint, const json& plans) {
  fs::create_directories(out / "gt_segmentations");
  write_json_atomically(out / "dataset.json", d.to_v2_json());
  write_json_atomically(out / "dataset_fingerprint.json", fingerprint.to_json());
  write_json_atomically(out / "nnUNetPlans.json", plans);
}

void copy_ground_truth(const fs::path& out, const DatasetDescription& d, const LoadedCase* loaded,
                       size_t i) {
  const CaseFiles& c = d.training[i];
  const fs::path target = out / "gt_segmentations" / (c.id + ".nii.gz");
  const std::string name = c.label.filename().string();
  if (name.size() > 7 && name.substr(name.size() - 7) == ".nii.gz") {
    write_atomically(target, [&](const fs::path& tmp) {
      fs::copy_file(c.label, tmp, fs::copy_options::overwrite_existing);
    });
  } else {
    write_label(target, loaded ? *loaded->label : read_label(c.label));
  }
}

fs::path case_file(const fs::path& out, const ConfigurationSettings& s, const std::string& id) {
  return out / s.data_identifier / (id + ".h5");
}

void preprocess_shard(const fs::path& out, const DatasetDescription& d,
                      const std::vector<ConfigurationSettings>& configs, const FingerprintPhase& phase,
                      const PlanPreprocessOptions& o, const dist::Comm& world) {
  const auto mine = my_cases(d.training.size(), world);
  Progress progress("preprocess " + std::to_string(configs.size()) + " configuration(s)",
                    mine.size(), d.training.size(), world.rank() == 0);
  std::string error;
  try {
    parallel_for(mine, o.threads_per_rank, [&](size_t i) {
      std::optional<LoadedCase> reloaded;
      const LoadedCase* loaded = nullptr;
      if (auto it = phase.cache.find(i); it != phase.cache.end()) {
        loaded = &it->second;
      } else {
        std::vector<Problem> problems;
        reloaded = load_case(d, d.training[i], problems);
        if (!reloaded) throw Error(format_problems(d.folder, problems));
        loaded = &*reloaded;
      }
      copy_ground_truth(out, d, loaded, i);
      for (const auto& s : configs) {
        write_case_file(case_file(out, s, loaded->id), preprocess_case(*loaded, s), s.is_2d());
      }
      progress.step();
    });
  } catch (const std::exception& e) {
    error = e.what();
  }
  raise_if_any_failed(world, error, "preprocessing");
}

bool all_outputs_exist(const fs::path& out, const DatasetDescription& d,
                       const std::vector<ConfigurationSettings>& configs) {
  if (!fs::exists(out / "nnUNetPlans.json")) return false;
  for (const auto& s : configs)
    for (const auto& c : d.training)
      if (!fs::exists(case_file(out, s, c.id))) return false;
  return true;
}

std::vector<ConfigurationSettings> settings_for(const json& plans, const DatasetDescription& d,
                                                const PlanPreprocessOptions& o) {
  std::vector<ConfigurationSettings> out;
  const json dataset_json = d.to_v2_json();
  for (const auto& name : o.configurations) {
    if (name == "3d_cascade_fullres") continue;  // reuses 3d_fullres
    if (!plans["configurations"].contains(name)) {
      if (name != "3d_lowres") spdlog::warn("configuration {} is not in the plans; skipped", name);
      continue;
    }
    out.push_back(ConfigurationSettings::from_plans(plans, name, dataset_json));
  }
  return out;
}

}  // namespace

PlanPreprocessResult plan_and_preprocess(const Folders& folders, const DatasetRef& ref,
                                         const PlanPreprocessOptions& o, const dist::Comm& world) {
  if (ref.raw_folder.empty()) throw Error("dataset " + ref.canonical + ": raw folder not found");
  folders.require_preprocessed();
  PlanPreprocessResult result;
  result.output_folder = folders.preprocessed / ref.canonical;
  std::vector<Problem> problems;
  const DatasetDescription d = read_dataset(ref.raw_folder, problems);
  result.num_cases = static_cast<int>(d.training.size());
  const fs::path& out = result.output_folder;

  // Skip when nothing changed (decided on rank 0, so all ranks agree).
  const json stamp = make_stamp(d, o);
  std::string skip = "0";
  if (world.rank() == 0 && !o.force && problems.empty() && fs::exists(out / kStampFile) &&
      read_json(out / kStampFile) == stamp) {
    const json plans = read_json(out / "nnUNetPlans.json");
    if (all_outputs_exist(out, d, settings_for(plans, d, o))) skip = "1";
  }
  world.broadcast(skip);
  if (skip == "1") {
    spdlog::info("{}: plans and all case files are up to date; nothing to do", out.string());
    result.plans = read_json(out / "nnUNetPlans.json");
    result.skipped = true;
    return result;
  }

  FingerprintPhase phase = fingerprint_shard(d, o, world);
  const DatasetFingerprint fingerprint = reduce_fingerprints(phase.fingerprints, d.num_channels());
  std::string plans_text;
  if (world.rank() == 0) {
    PlannerOptions po;
    po.gpu_memory_gb = o.gpu_memory_gb;
    const json plans = plans_to_json(plan_experiment(fingerprint, d, ref.canonical, po));
    plans_text = plans.dump();
    write_dataset_files(out, d, fingerprint, plans);
    spdlog::info("plan for {}: {}", ref.canonical, plans["configurations"].dump());
  }
  world.broadcast(plans_text);
  result.plans = json::parse(plans_text);
  world.barrier();

  const auto configs = settings_for(result.plans, d, o);
  preprocess_shard(out, d, configs, phase, o, world);
  world.barrier();
  if (world.rank() == 0) write_json_atomically(out / kStampFile, stamp);
  world.barrier();
  return result;
}

}  // namespace nnfleet::preprocessing
