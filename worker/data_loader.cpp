#include "worker/data_loader.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "common/error.h"
#include "worker/augment.h"
#include "worker/case_reader.h"
#include "worker/random.h"
#include "worker/sample.h"
#include "worker/targets.h"

namespace nnfleet::worker {
namespace {

// Case metadata (shape, class locations), read once per case and shared by the workers.
class CaseInfoCache {
 public:
  std::shared_ptr<const CaseInfo> get(const std::filesystem::path& file) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = infos_.find(file.string());
      if (it != infos_.end()) return it->second;
    }
    auto info = std::make_shared<const CaseInfo>(CaseReader(file).read_info());
    std::lock_guard<std::mutex> lock(mutex_);
    return infos_.emplace(file.string(), std::move(info)).first->second;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const CaseInfo>> infos_;  // guarded by mutex_
};

struct Produced {
  Batch batch;
  std::exception_ptr error;
};

// Per-thread buffers reused from batch to batch.
struct WorkerBuffers {
  Sample sample;
  AugmentScratch scratch;
};

std::array<double, 3> to_internal_scale(const std::vector<double>& scale, int dim) {
  if (dim == 2) return {1.0, scale[0], scale[1]};
  return {scale[0], scale[1], scale[2]};
}

std::vector<int64_t> tensor_shape(int64_t batch, int64_t channels, const Index3& shape, int dim) {
  if (dim == 2) return {batch, channels, shape[1], shape[2]};
  return {batch, channels, shape[0], shape[1], shape[2]};
}

// Step 12 of the training transforms: channels normalised within the mask are 0 outside it.
void mask_channels(Sample& sample, const std::vector<bool>& use_mask_for_norm) {
  const int masked = std::min(sample.channels, static_cast<int>(use_mask_for_norm.size()));
  for (int c = 0; c < masked; ++c) {
    if (use_mask_for_norm[c]) {
      zero_outside_mask(sample.channel(c), sample.label_map(0), sample.voxels());
    }
  }
}

void check_options(const LoaderOptions& o) {
  if (o.cases.empty()) throw Error("[data loader] no cases given");
  if (!std::filesystem::is_directory(o.case_folder)) {
    throw Error("[data loader] case folder " + o.case_folder.string() + " does not exist");
  }
  if (o.oversample_foreground < 0 || o.oversample_foreground > 1) {
    throw Error("[data loader] oversample_foreground must be in [0, 1], got " +
                std::to_string(o.oversample_foreground));
  }
  const size_t dim = o.patch_size.size();
  for (const auto& scale : o.ds_scales) {
    if (scale.size() != dim) {
      throw Error("[data loader] a deep-supervision scale has " + std::to_string(scale.size()) +
                  " entries, the patch has " + std::to_string(dim) + " axes");
    }
  }
  for (int axis : o.mirror_axes) {
    if (axis < 0 || axis >= static_cast<int>(dim)) {
      throw Error("[data loader] mirror axis " + std::to_string(axis) + " is not a patch axis");
    }
  }
  if (!o.previous_stage_folder.empty() && !std::filesystem::is_directory(o.previous_stage_folder)) {
    throw Error("[data loader] previous stage folder " + o.previous_stage_folder.string() +
                " does not exist");
  }
}

}  // namespace

struct DataLoader::State {
  LoaderOptions options;
  RankShare share;
  std::vector<bool> foreground_flags;
  AugmentSetup augment;
  std::vector<int> foreground_labels;  // one-hot channels of the previous stage (cascade)
  std::vector<Index3> target_shapes;   // per deep-supervision scale
  int image_channels = 0;              // C of the case files
  bool pin = false;
  int workers = 1;
  int capacity = 2;
  CaseInfoCache infos;

  std::mutex mutex;
  std::condition_variable changed;
  // Guarded by mutex: batches [next_deliver, next_claim) are in production or ready.
  int64_t next_claim = 0;
  int64_t next_deliver = 0;
  std::map<int64_t, Produced> ready;
  bool stop = false;
  std::vector<std::thread> threads;

  int dim() const { return augment.spatial.dim; }
  int output_channels() const {
    return image_channels +
           (options.previous_stage_folder.empty() ? 0 : static_cast<int>(foreground_labels.size()));
  }
  std::filesystem::path case_file(const std::string& name) const {
    return options.case_folder / (name + ".h5");
  }

  void load_sample(const std::string& name, bool force_foreground, Rng& rng, WorkerBuffers& buf);
  void write_sample(Sample& sample, int j, Batch& batch) const;
  Batch produce(int64_t index, WorkerBuffers& buf);
  void run_worker();
};

void DataLoader::State::load_sample(const std::string& name, bool force_foreground, Rng& rng,
                                    WorkerBuffers& buf) {
  const SpatialSetup& spatial = augment.spatial;
  const auto info = infos.get(case_file(name));
  if (info->channels != image_channels) {
    throw Error("has " + std::to_string(info->channels) + " image channels, the first case has " +
                std::to_string(image_channels));
  }
  const Box box =
      choose_crop_box(*info, spatial.initial_patch, spatial.final_patch, force_foreground, rng);
  const bool cascade = !options.previous_stage_folder.empty();
  Sample& sample = buf.sample;
  sample.resize(image_channels, cascade ? 2 : 1, box.size);
  {
    CaseReader reader(case_file(name));
    reader.read_data(box, sample.image.data());
    reader.read_labels("seg", box, sample.label_map(0));
  }
  if (cascade) {
    CaseReader(options.previous_stage_folder / (name + ".h5"))
        .read_labels("seg_prev", box, sample.label_map(1));
  }
  if (options.augment) {
    augment_sample(sample, augment, rng, buf.scratch);
    mask_channels(sample, options.use_mask_for_norm);
  }
  replace_label(sample.label_map(0), sample.voxels(), -1, 0);
  if (cascade) move_labels_to_one_hot_channels(sample, 1, foreground_labels);
}

void DataLoader::State::write_sample(Sample& sample, int j, Batch& batch) const {
  NNFLEET_CHECK(sample.shape == augment.spatial.final_patch, "sample has the wrong patch shape");
  const int64_t n = sample.voxels();
  std::memcpy(batch.data.data_ptr<float>() + j * sample.channels * n, sample.image.data(),
              sizeof(float) * sample.channels * n);
  for (size_t s = 0; s < target_shapes.size(); ++s) {
    const Index3& shape = target_shapes[s];
    float* out = batch.target[s].data_ptr<float>() + j * shape[0] * shape[1] * shape[2];
    downsample_labels(sample.label_map(0), sample.shape, shape, out);
  }
}

Batch DataLoader::State::produce(int64_t index, WorkerBuffers& buf) {
  auto options_for = [&] {
    return torch::TensorOptions().dtype(torch::kFloat32).pinned_memory(pin);
  };
  Batch batch;
  const int b = share.count;
  batch.data = torch::empty(tensor_shape(b, output_channels(), augment.spatial.final_patch, dim()),
                            options_for());
  for (const Index3& shape : target_shapes) {
    batch.target.push_back(torch::empty(tensor_shape(b, 1, shape, dim()), options_for()));
  }
  for (int j = 0; j < b; ++j) {
    Rng rng = Rng::for_sample(options.seed, index, share.start + j);
    const auto& name =
        options.cases[rng.randint(0, static_cast<int64_t>(options.cases.size()) - 1)];
    batch.cases.push_back(name);
    try {
      load_sample(name, foreground_flags[j], rng, buf);
      write_sample(buf.sample, j, batch);
    } catch (const std::exception& e) {
      throw Error("[data loader] case '" + name + "' (batch " + std::to_string(index) +
                  "): " + e.what());
    }
  }
  return batch;
}

void DataLoader::State::run_worker() {
  WorkerBuffers buf;
  while (true) {
    int64_t index;
    {
      std::unique_lock<std::mutex> lock(mutex);
      changed.wait(lock, [&] { return stop || next_claim < next_deliver + capacity; });
      if (stop) return;
      index = next_claim++;
    }
    Produced produced;
    try {
      produced.batch = produce(index, buf);
    } catch (...) {
      produced.error = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(mutex);
    ready.emplace(index, std::move(produced));
    changed.notify_all();
  }
}

int default_num_workers() {
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::clamp(cores - 1, 1, 12);
}

DataLoader::DataLoader(LoaderOptions options) : state_(std::make_shared<State>()) {
  check_options(options);
  State& s = *state_;
  s.share = rank_share(options.global_batch_size, options.group_rank, options.group_size);
  s.foreground_flags = foreground_flags_for_rank(options.global_batch_size, options.group_rank,
                                                 options.group_size, options.oversample_foreground);
  s.augment.spatial = make_spatial_setup(options.patch_size, options.augment);
  const int shift = s.augment.spatial.dim == 2 ? 1 : 0;
  for (int axis : options.mirror_axes) s.augment.mirror_axes[axis + shift] = true;
  for (int label : options.labels) {
    if (label > 0) s.foreground_labels.push_back(label);
  }
  std::sort(s.foreground_labels.begin(), s.foreground_labels.end());
  auto scales = options.ds_scales;
  if (scales.empty()) scales.push_back(std::vector<double>(options.patch_size.size(), 1.0));
  for (const auto& scale : scales) {
    s.target_shapes.push_back(scaled_shape(s.augment.spatial.final_patch,
                                           to_internal_scale(scale, s.augment.spatial.dim)));
  }
  s.options = std::move(options);
  const LoaderOptions& o = s.options;
  s.image_channels = s.infos.get(s.case_file(o.cases.front()))->channels;
  s.pin = o.pin_memory && torch::cuda::is_available();  // no page-locking without CUDA
  s.workers = o.num_workers > 0 ? o.num_workers : default_num_workers();
  s.capacity = o.queue_depth > 0 ? o.queue_depth : std::max(2, 2 * s.workers);
  for (int t = 0; t < s.workers; ++t) s.threads.emplace_back([&s] { s.run_worker(); });
}

DataLoader::~DataLoader() {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->stop = true;
  }
  state_->changed.notify_all();
  for (auto& thread : state_->threads) thread.join();
}

Batch DataLoader::next() {
  State& s = *state_;
  std::unique_lock<std::mutex> lock(s.mutex);
  s.changed.wait(lock, [&] { return s.ready.count(s.next_deliver) > 0; });
  auto node = s.ready.extract(s.next_deliver);
  ++s.next_deliver;
  lock.unlock();
  s.changed.notify_all();
  if (node.mapped().error) std::rethrow_exception(node.mapped().error);
  return std::move(node.mapped().batch);
}

int DataLoader::local_batch_size() const { return state_->share.count; }
int DataLoader::num_workers() const { return state_->workers; }
const SpatialSetup& DataLoader::spatial_setup() const { return state_->augment.spatial; }

}  // namespace nnfleet::worker
