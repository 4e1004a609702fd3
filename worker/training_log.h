#pragma once
// What a training job writes besides checkpoints (method reference 5.6, docs/formats.md):
//   training_log.txt   the text log (settings, per-epoch lines, "new best EMA" messages)
//   progress.csv       one row per epoch: losses, pseudo Dice per class, EMA, lr, epoch time
//   progress.png       nnU-Net's three panels (losses + pseudo Dice + EMA; epoch time; lr), drawn by
//                      gnuplot run as a subprocess; a missing gnuplot is a warning, not an error
//   trace_rank<r>.json Chrome trace events (chrome://tracing, ui.perfetto.dev): data wait, forward,
//                      backward, all-reduce, optimiser step per iteration, per rank
// Only the group's first rank writes the log, CSV and plot; every rank writes its own trace.
// No LibTorch here. Not thread-safe (the training thread owns these objects).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nnfleet::worker {

struct EpochRecord {
  int epoch = 0;
  double train_loss = 0, val_loss = 0;
  std::vector<double> dice_per_class;  // foreground classes; NaN where a class never occurred
  double mean_fg_dice = 0, ema_fg_dice = 0;
  double lr = 0;
  double epoch_start = 0, epoch_end = 0;  // seconds since the Unix epoch
  double epoch_seconds() const { return epoch_end - epoch_start; }
};

// JSON with NaN stored as null (JSON has no NaN).
nlohmann::json to_json(const EpochRecord& record);
EpochRecord epoch_record_from_json(const nlohmann::json& j);

// The text log; appends (a resumed job continues the same file). Each line is also logged via
// spdlog at info level when echo is on.
class TrainingLog {
 public:
  TrainingLog() = default;  // disabled: every call is a no-op (ranks other than the first)
  TrainingLog(const std::filesystem::path& file, bool echo);
  void line(const std::string& text);
  // The per-epoch block nnU-Net prints (epoch, lr, losses, pseudo Dice, epoch time).
  void epoch(const EpochRecord& record);
  bool enabled() const { return out_.is_open(); }

 private:
  std::ofstream out_;
  bool echo_ = false;
};

// Rewrites progress.csv atomically from the full history.
void write_progress_csv(const std::filesystem::path& file, const std::vector<EpochRecord>& history);

// Draws progress.png from the history through gnuplot (`gnuplot` on PATH, or `gnuplot_binary`).
// Returns false (after a warning, once per process) when gnuplot is missing or fails.
bool plot_progress(const std::filesystem::path& png, const std::vector<EpochRecord>& history,
                   const std::string& gnuplot_binary = "gnuplot");

// Chrome trace ("X" complete events, microseconds since the trace started).
class ChromeTrace {
 public:
  ChromeTrace(int rank, bool enabled);
  // Records [start, now) under `name` ("data wait", "forward", "backward", "all-reduce",
  // "optimiser step", ...), with an optional argument such as the iteration index.
  void span(const std::string& name, std::chrono::steady_clock::time_point start,
            int64_t iteration = -1);
  // RAII span.
  class Scope {
   public:
    Scope(ChromeTrace& trace, std::string name, int64_t iteration)
        : trace_(trace), name_(std::move(name)), iteration_(iteration),
          start_(std::chrono::steady_clock::now()) {}
    ~Scope() { trace_.span(name_, start_, iteration_); }

   private:
    ChromeTrace& trace_;
    std::string name_;
    int64_t iteration_;
    std::chrono::steady_clock::time_point start_;
  };
  // Writes the events recorded so far (atomically; call as often as wanted).
  void write(const std::filesystem::path& file) const;
  size_t size() const { return events_.size(); }

 private:
  int rank_;
  bool enabled_;
  std::chrono::steady_clock::time_point origin_;
  std::vector<nlohmann::json> events_;
};

}  // namespace nnfleet::worker
