#include "worker/trainer.h"

#include <ATen/Context.h>
#include <torch/types.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/log.h"
#include "dist/device_map.h"
#include "dist/grad_sync.h"
#include "models/unet.h"
#include "worker/amp.h"
#include "worker/checkpoint.h"
#include "worker/loss.h"
#include "worker/optim.h"
#include "worker/predictor.h"
#include "worker/pseudo_dice.h"
#include "worker/random.h"
#include "worker/train_setup.h"
#include "worker/training_log.h"

namespace nnfleet::worker {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Note [exact resume]: every epoch gets fresh loaders seeded from (seed, epoch, stream), and the
// loader's batch k is a pure function of its seed and k (Note [loader determinism],
// worker/random.h). The model, optimiser, scaler and generator states plus (epoch, iteration,
// partial loss) are all a checkpoint needs: a job continued at iteration i of epoch e rebuilds
// epoch e's loader and draws (and drops) its first i batches, then sees exactly the batches the
// uninterrupted job saw. Stops are taken only between iterations, never inside validation.
uint64_t epoch_seed(uint64_t seed, int epoch, int stream) {
  return mix64(mix64(seed) ^ mix64(static_cast<uint64_t>(epoch) * 4 + stream + 1));
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class LoaderSource : public BatchSource {
 public:
  explicit LoaderSource(const LoaderOptions& options) : loader_(options) {}
  Batch next() override { return loader_.next(); }

 private:
  DataLoader loader_;
};

// What a resume restores besides tensors (stored in the checkpoint's meta record).
struct TrainState {
  int epoch = 0;          // the epoch to run next (or the one in progress)
  int iteration = 0;      // the next iteration of `epoch`; 0 at an epoch boundary
  double loss_sum = 0;    // train losses of iterations [0, iteration) of `epoch`
  double best_ema = kNaN;
  std::vector<EpochRecord> history;

  double ema() const { return history.empty() ? kNaN : history.back().ema_fg_dice; }
};

nlohmann::json number_or_null(double v) {
  if (std::isnan(v)) return nullptr;
  return v;
}

nlohmann::json state_to_json(const TrainState& s, const TrainOptions& o, const JobSetup& setup,
                             int group_size) {
  nlohmann::json history = nlohmann::json::array();
  for (const auto& r : s.history) history.push_back(to_json(r));
  return {{"epoch", s.epoch},
          {"iteration", s.iteration},
          {"loss_sum", s.loss_sum},
          {"best_ema", number_or_null(s.best_ema)},
          {"history", history},
          {"settings",
           {{"epochs", o.epochs}, {"iterations_per_epoch", o.iterations_per_epoch},
            {"val_iterations", o.val_iterations}, {"seed", o.seed}, {"group_size", group_size},
            {"fold", o.fold}, {"deterministic", o.deterministic}}},
          {"inference_allowed_mirroring_axes", setup.mirror_axes}};
}

TrainState state_from_json(const nlohmann::json& j) {
  TrainState s;
  s.epoch = j.at("epoch").get<int>();
  s.iteration = j.at("iteration").get<int>();
  s.loss_sum = j.at("loss_sum").get<double>();
  s.best_ema = j.at("best_ema").is_null() ? kNaN : j.at("best_ema").get<double>();
  for (const auto& r : j.at("history")) s.history.push_back(epoch_record_from_json(r));
  return s;
}

std::string settings_line(const TrainOptions& o, const JobSetup& s, torch::Device device,
                          bool amp, int group_size) {
  return "job " + o.configuration + " fold " + std::to_string(o.fold) + ": " +
         std::to_string(s.fold.train.size()) + " training / " +
         std::to_string(s.fold.val.size()) + " validation cases, " + std::to_string(o.epochs) +
         " epochs x " + std::to_string(o.iterations_per_epoch) + " iterations (+" +
         std::to_string(o.val_iterations) + " validation), batch " +
         std::to_string(s.batch_size) + " over " + std::to_string(group_size) +
         " rank(s), batch_dice " + (s.batch_dice ? "on" : "off") + ", device " + device.str() +
         ", AMP " + (amp ? "on" : "off") + ", seed " + std::to_string(o.seed) +
         (o.deterministic ? ", deterministic" : "") + ", checkpoint every " +
         std::to_string(o.checkpoint_every) + " epoch(s)";
}

void check_options(const TrainOptions& o) {
  auto positive = [](int v, const char* name) {
    if (v < 1) throw Error(std::string("[train] ") + name + " must be >= 1, got " + std::to_string(v));
  };
  positive(o.epochs, "--epochs");
  positive(o.iterations_per_epoch, "--iters-per-epoch");
  positive(o.checkpoint_every, "--checkpoint-every");
  if (o.val_iterations < 0) throw Error("[train] --val-iters must be >= 0");
  if (o.configuration.empty()) throw Error("[train] no configuration given (-c)");
}

class Trainer {
 public:
  Trainer(const TrainOptions& o, const dist::Comm& group, const std::atomic<bool>* stop,
          const TrainHooks& hooks)
      : o_(o), group_(group), stop_(stop), hooks_(hooks), first_(group.rank() == 0),
        trace_(group.rank(), o.trace) {}

  void run();

 private:
  void configure_device();
  void build();
  void write_job_files();
  void resume();
  void train_epoch(int epoch);
  void run_iterations(int epoch);
  double train_step(const Batch& batch, int64_t step);
  void validate_epoch(int epoch, EpochRecord& record);
  void end_epoch(EpochRecord record);
  void save(const std::string& which);
  bool stop_agreed() const;
  [[noreturn]] void interrupt();
  void finish();
  void final_validation();

  LoaderOptions loader_options(bool train, int epoch) const;
  std::unique_ptr<BatchSource> make_source(const LoaderOptions& options) const;
  struct Forward {
    std::vector<torch::Tensor> outputs;  // logits, highest resolution first
    torch::Tensor target;                // full-resolution target on the device
    torch::Tensor loss;
  };
  // Forward pass and deep-supervision loss (under autocast when AMP is on).
  Forward forward_loss(const Batch& batch);

  const TrainOptions& o_;
  const dist::Comm& group_;
  const std::atomic<bool>* stop_;
  const TrainHooks& hooks_;
  const bool first_;

  JobSetup setup_;
  torch::Device device_{torch::kCPU};
  bool amp_ = false;
  models::UNet network_{nullptr};
  std::unique_ptr<torch::optim::SGD> optimizer_;
  std::unique_ptr<GradScaler> scaler_;
  std::unique_ptr<dist::GradientSync> sync_;
  std::unique_ptr<DeepSupervisionLoss> loss_;
  TrainingLog log_;
  ChromeTrace trace_;
  TrainState state_;
};

void Trainer::run() {
  check_options(o_);
  setup_ = prepare_job(o_, group_);
  configure_device();
  if (first_) {
    write_job_files();
    log_ = TrainingLog(setup_.paths.log_file(), /*echo=*/true);
  }
  log_.line(settings_line(o_, setup_, device_, amp_, group_.size()));
  log_.line("configuration " + setup_.configuration_json.dump());
  build();
  resume();
  for (int epoch = state_.epoch; epoch < o_.epochs; ++epoch) train_epoch(epoch);
  finish();
  final_validation();
}

void Trainer::configure_device() {
  device_ = dist::device_for_rank(o_.device, o_.local_rank);
  amp_ = o_.amp && device_.is_cuda();
  if (o_.amp && !amp_) spdlog::info("[train] AMP is CUDA-only: training in float32 on the CPU");
  auto& context = at::globalContext();
  context.setDeterministicAlgorithms(o_.deterministic, /*warn_only=*/true);
  context.setBenchmarkCuDNN(!o_.deterministic);  // nnU-Net trains with cudnn.benchmark on
}

void Trainer::write_job_files() {
  const auto config_dir = setup_.paths.fold_dir.parent_path();
  std::filesystem::create_directories(setup_.paths.fold_dir);
  write_json_atomically(config_dir / "plans.json", setup_.plans);
  write_json_atomically(config_dir / "dataset.json", setup_.dataset_json);
}

void Trainer::build() {
  torch::manual_seed(o_.seed);  // identical initial weights on every rank; broadcast anyway
  network_ = models::UNet(setup_.network);
  network_->to(device_);
  optimizer_ = make_sgd(network_->parameters());
  scaler_ = std::make_unique<GradScaler>(amp_, device_);
  StatsReducer reduce;
  if (group_.size() > 1) {
    sync_ = std::make_unique<dist::GradientSync>(group_, network_->parameters());
    reduce = [this](const torch::Tensor& t) {
      return dist::allreduce_sum_differentiable(group_, t);
    };
  }
  loss_ = std::make_unique<DeepSupervisionLoss>(
      static_cast<int>(setup_.ds_scales.size()),
      DiceOptions{setup_.batch_dice, 1e-5, /*do_bg=*/false}, reduce);
}

void Trainer::resume() {
  if (o_.resume) {
    std::filesystem::path file;
    for (const char* which : {"final", "latest", "best"})
      if (file.empty() && std::filesystem::exists(setup_.paths.checkpoint(which)))
        file = setup_.paths.checkpoint(which);
    if (file.empty()) {
      log_.line("--continue: no checkpoint in " + setup_.paths.fold_dir.string() +
                ", starting from scratch");
    } else {
      const auto meta = load_checkpoint(file, o_.configuration, setup_.plan_hash, *network_,
                                        optimizer_.get(), scaler_.get());
      state_ = state_from_json(meta.training);
      log_.line("continuing from " + file.string() + " at epoch " + std::to_string(state_.epoch) +
                ", iteration " + std::to_string(state_.iteration));
    }
  }
  if (sync_) sync_->broadcast_parameters(0);
}

LoaderOptions Trainer::loader_options(bool train, int epoch) const {
  LoaderOptions l;
  l.case_folder = setup_.case_folder;
  l.cases = train ? setup_.fold.train : setup_.fold.val;
  l.patch_size = setup_.patch_size;
  l.global_batch_size = setup_.batch_size;
  l.group_rank = group_.rank();
  l.group_size = group_.size();
  l.augment = train;
  l.ds_scales = setup_.ds_scales;
  l.mirror_axes = setup_.mirror_axes;
  l.labels = setup_.labels;
  l.previous_stage_folder = setup_.previous_stage_folder;
  l.num_workers = o_.num_workers;
  l.seed = epoch_seed(o_.seed, epoch, train ? 0 : 1);
  l.pin_memory = device_.is_cuda();
  return l;
}

std::unique_ptr<BatchSource> Trainer::make_source(const LoaderOptions& options) const {
  if (hooks_.make_loader) return hooks_.make_loader(options);
  return std::make_unique<LoaderSource>(options);
}

void Trainer::train_epoch(int epoch) {
  const double epoch_start = unix_now();
  network_->train();
  set_learning_rate(*optimizer_, poly_lr(epoch, o_.epochs));
  run_iterations(epoch);

  EpochRecord record;
  record.epoch = epoch;
  record.lr = learning_rate(*optimizer_);
  record.epoch_start = epoch_start;
  std::vector<double> loss{state_.loss_sum, static_cast<double>(o_.iterations_per_epoch)};
  if (group_.size() > 1) group_.allreduce_sum(loss);
  record.train_loss = loss[0] / loss[1];
  validate_epoch(epoch, record);
  record.epoch_end = unix_now();
  end_epoch(record);
}

void Trainer::run_iterations(int epoch) {
  const int first = std::min(state_.iteration, o_.iterations_per_epoch);
  if (first == o_.iterations_per_epoch) return;
  auto source = make_source(loader_options(true, epoch));
  if (first > 0) log_.line("replaying " + std::to_string(first) + " batches of epoch " +
                           std::to_string(epoch) + " to resume exactly");
  for (int i = 0; i < first; ++i) source->next();  // Note [exact resume]
  for (int i = first; i < o_.iterations_per_epoch; ++i) {
    const int64_t step = static_cast<int64_t>(epoch) * o_.iterations_per_epoch + i;
    const auto wait = Clock::now();
    const Batch batch = source->next();
    trace_.span("data wait", wait, step);
    state_.loss_sum += train_step(batch, step);
    state_.iteration = i + 1;
    if (stop_agreed()) interrupt();
  }
}

Trainer::Forward Trainer::forward_loss(const Batch& batch) {
  Forward f;
  const torch::Tensor data = batch.data.to(device_, /*non_blocking=*/true);
  std::vector<torch::Tensor> targets;
  for (const auto& t : batch.target) targets.push_back(t.to(device_, /*non_blocking=*/true));
  AutocastGuard autocast(amp_);
  f.outputs = network_->forward(data);
  f.loss = (*loss_)(f.outputs, targets);
  f.target = targets.front();
  return f;
}

double Trainer::train_step(const Batch& batch, int64_t step) {
  optimizer_->zero_grad(/*set_to_none=*/true);
  auto start = Clock::now();
  const torch::Tensor loss = forward_loss(batch).loss;
  trace_.span("forward", start, step);

  start = Clock::now();
  scaler_->scale(loss).backward();
  trace_.span("backward", start, step);

  if (sync_) {
    start = Clock::now();
    sync_->synchronize();
    trace_.span("all-reduce", start, step);
  }

  start = Clock::now();
  const auto params = network_->parameters();
  scaler_->unscale(params);
  clip_gradients(params, OptimConfig{}.clip_norm);
  scaler_->step(*optimizer_);
  scaler_->update();
  const double value = loss.item<double>();
  trace_.span("optimiser step", start, step);
  return value;
}

void Trainer::validate_epoch(int epoch, EpochRecord& record) {
  record.val_loss = record.mean_fg_dice = kNaN;
  record.dice_per_class.assign(setup_.labels.size() - 1, kNaN);
  if (o_.val_iterations == 0 || setup_.fold.val.empty()) return;
  network_->eval();
  torch::NoGradGuard no_grad;
  auto source = make_source(loader_options(false, epoch));
  DiceCounts counts;
  double loss_sum = 0;
  for (int i = 0; i < o_.val_iterations; ++i) {
    const auto start = Clock::now();
    const Batch batch = source->next();
    const Forward f = forward_loss(batch);
    loss_sum += f.loss.item<double>();
    counts.add(f.outputs.front(), f.target);
    trace_.span("validation", start, i);
  }
  // One collective for the loss and the TP/FP/FN of every class.
  std::vector<double> packed{loss_sum, static_cast<double>(o_.val_iterations)};
  for (const auto* v : {&counts.tp, &counts.fp, &counts.fn}) packed.insert(packed.end(), v->begin(), v->end());
  if (group_.size() > 1) group_.allreduce_sum(packed);
  const size_t k = counts.tp.size();
  for (size_t c = 0; c < k; ++c) {
    counts.tp[c] = packed[2 + c];
    counts.fp[c] = packed[2 + k + c];
    counts.fn[c] = packed[2 + 2 * k + c];
  }
  record.val_loss = packed[0] / packed[1];
  record.dice_per_class = counts.dice_per_class();
  record.mean_fg_dice = nanmean(record.dice_per_class);
}

void Trainer::end_epoch(EpochRecord record) {
  record.ema_fg_dice = ema_update(state_.ema(), record.mean_fg_dice);
  state_.history.push_back(record);
  state_.epoch = record.epoch + 1;
  state_.iteration = 0;
  state_.loss_sum = 0;
  log_.epoch(record);
  if (first_) {
    write_progress_csv(setup_.paths.progress_csv(), state_.history);
    plot_progress(setup_.paths.progress_png(), state_.history, o_.gnuplot);
  }
  const double ema = record.ema_fg_dice;
  if (!std::isnan(ema) && (std::isnan(state_.best_ema) || ema > state_.best_ema)) {
    state_.best_ema = ema;
    log_.line("new best EMA pseudo Dice: " + std::to_string(ema));
    save("best");
  }
  if (state_.epoch % o_.checkpoint_every == 0 && state_.epoch != o_.epochs) save("latest");
  const double remaining = (o_.epochs - state_.epoch) * record.epoch_seconds();
  if (first_ && state_.epoch < o_.epochs)
    spdlog::info("[train] epoch {}/{} done; about {:.0f} min left", state_.epoch, o_.epochs,
                 remaining / 60.0);
}

void Trainer::save(const std::string& which) {
  if (!first_) return;
  CheckpointMeta meta;
  meta.configuration = o_.configuration;
  meta.plan_hash = setup_.plan_hash;
  meta.training = state_to_json(state_, o_, setup_, group_.size());
  save_checkpoint(setup_.paths.checkpoint(which), meta, *network_, optimizer_.get(), scaler_.get());
  trace_.write(setup_.paths.trace(group_.rank()));
}

bool Trainer::stop_agreed() const {
  const bool mine = stop_ != nullptr && stop_->load();
  if (group_.size() == 1) return mine;
  return group_.allreduce_max(mine ? 1.0 : 0.0) > 0;  // every rank stops at the same iteration
}

void Trainer::interrupt() {
  save("latest");
  trace_.write(setup_.paths.trace(group_.rank()));
  const std::string where = "epoch " + std::to_string(state_.epoch) + ", iteration " +
                            std::to_string(state_.iteration);
  log_.line("stop requested: checkpoint_latest written at " + where);
  throw Interrupted("training of " + o_.configuration + " fold " + std::to_string(o_.fold) +
                    " stopped at " + where + "; run again with --continue to resume");
}

void Trainer::finish() {
  save("final");
  if (first_) {
    std::error_code ignored;
    std::filesystem::remove(setup_.paths.checkpoint("latest"), ignored);
  }
  trace_.write(setup_.paths.trace(group_.rank()));
  log_.line("training done after " + std::to_string(state_.epoch) + " epochs; best EMA pseudo "
            "Dice " + std::to_string(state_.best_ema));
}

void Trainer::final_validation() {
  if (!o_.final_validation) return;
  if (setup_.fold.val.empty()) {
    log_.line("fold has no validation cases: final validation skipped");
    return;
  }
  network_->set_deep_supervision(false);
  network_->eval();
  FinalValidation v{&setup_.plans, &setup_.dataset_json, o_.configuration, setup_.case_folder,
                    setup_.paths.validation_dir(), setup_.gt_folder, setup_.fold.val};
  if (hooks_.validate) {
    hooks_.validate(network_, v, group_);
    return;
  }
  PredictorOptions p = predictor_options_from_plans(setup_.plans, o_.configuration);
  p.mirror_axes = setup_.mirror_axes;
  p.device = device_;
  p.amp = amp_;
  validate_fold(network_, setup_.plans, setup_.dataset_json, o_.configuration, setup_.case_folder,
                setup_.fold.val, setup_.paths.validation_dir(), setup_.gt_folder, group_, p);
  log_.line("final validation written to " + setup_.paths.validation_dir().string());
}

}  // namespace

void train_job(const TrainOptions& options, const dist::Comm& group,
               const std::atomic<bool>* stop_requested, const TrainHooks& hooks) {
  Trainer(options, group, stop_requested, hooks).run();
}

}  // namespace nnfleet::worker
