#include "worker/training_log.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <limits>
#include <sstream>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/log.h"

namespace nnfleet::worker {
namespace {

constexpr size_t kMaxTraceEvents = 200000;  // ~20 MB of JSON; later events are dropped

nlohmann::json number_or_null(double v) {
  if (std::isnan(v)) return nullptr;
  return v;
}

double number_or_nan(const nlohmann::json& j) {
  return j.is_null() ? std::numeric_limits<double>::quiet_NaN() : j.get<double>();
}

std::string csv_number(double v) {
  if (std::isnan(v)) return "nan";
  if (v == 0) v = 0;  // -0 (0 times a negative factor) is written as 0
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.8g", v);
  return buf;
}

std::string fixed(double v, int digits) {
  if (std::isnan(v)) return "nan";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string gnuplot_script(const std::filesystem::path& csv, const std::filesystem::path& png) {
  const std::string data = "'" + csv.string() + "'";
  std::ostringstream s;
  s << "set datafile separator ','\n"
    << "set terminal pngcairo size 1200,1400 font ',10'\n"
    << "set output '" << png.string() << "'\n"
    << "set multiplot layout 3,1\n"
    << "set grid\nset key outside right\nset xlabel 'epoch'\n"
    << "set title 'losses and pseudo Dice'\nset ylabel 'loss'\n"
    << "set y2label 'pseudo Dice'\nset y2tics\nset ytics nomirror\nset y2range [0:1]\n"
    << "plot " << data << " every ::1 using 1:2 with lines lw 2 lc rgb 'blue' title 'train loss', "
    << data << " every ::1 using 1:3 with lines lw 2 lc rgb 'red' title 'val loss', "
    << data << " every ::1 using 1:4 axes x1y2 with lines dt 2 lw 2 lc rgb 'dark-green' "
    << "title 'pseudo Dice', "
    << data << " every ::1 using 1:5 axes x1y2 with lines lw 2 lc rgb 'dark-green' "
    << "title 'pseudo Dice (mov. avg.)'\n"
    << "unset y2label\nunset y2tics\nunset y2range\nset ytics mirror\n"
    << "set title 'epoch duration'\nset ylabel 'seconds'\n"
    << "plot " << data << " every ::1 using 1:7 with lines lw 2 lc rgb 'blue' title 'epoch time'\n"
    << "set title 'learning rate'\nset ylabel 'lr'\n"
    << "plot " << data << " every ::1 using 1:6 with lines lw 2 lc rgb 'blue' title 'learning rate'\n"
    << "unset multiplot\n";
  return s.str();
}

}  // namespace

nlohmann::json to_json(const EpochRecord& r) {
  nlohmann::json dice = nlohmann::json::array();
  for (double d : r.dice_per_class) dice.push_back(number_or_null(d));
  return {{"epoch", r.epoch},
          {"train_loss", number_or_null(r.train_loss)},
          {"val_loss", number_or_null(r.val_loss)},
          {"dice_per_class", dice},
          {"mean_fg_dice", number_or_null(r.mean_fg_dice)},
          {"ema_fg_dice", number_or_null(r.ema_fg_dice)},
          {"lr", r.lr},
          {"epoch_start", r.epoch_start},
          {"epoch_end", r.epoch_end}};
}

EpochRecord epoch_record_from_json(const nlohmann::json& j) {
  EpochRecord r;
  r.epoch = j.at("epoch").get<int>();
  r.train_loss = number_or_nan(j.at("train_loss"));
  r.val_loss = number_or_nan(j.at("val_loss"));
  for (const auto& d : j.at("dice_per_class")) r.dice_per_class.push_back(number_or_nan(d));
  r.mean_fg_dice = number_or_nan(j.at("mean_fg_dice"));
  r.ema_fg_dice = number_or_nan(j.at("ema_fg_dice"));
  r.lr = j.at("lr").get<double>();
  r.epoch_start = j.at("epoch_start").get<double>();
  r.epoch_end = j.at("epoch_end").get<double>();
  return r;
}

TrainingLog::TrainingLog(const std::filesystem::path& file, bool echo) : echo_(echo) {
  std::filesystem::create_directories(file.parent_path());
  out_.open(file, std::ios::app);
  if (!out_) throw Error("[training log] cannot open " + file.string() + " for writing");
}

void TrainingLog::line(const std::string& text) {
  if (!out_.is_open()) return;
  const auto now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", std::localtime(&now));
  out_ << stamp << ": " << text << '\n';
  out_.flush();
  if (echo_) spdlog::info("{}", text);
}

void TrainingLog::epoch(const EpochRecord& r) {
  std::string dice = "[";
  for (size_t i = 0; i < r.dice_per_class.size(); ++i)
    dice += (i ? ", " : "") + fixed(r.dice_per_class[i], 4);
  dice += "]";
  line("Epoch " + std::to_string(r.epoch) + ": lr " + fixed(r.lr, 5) + ", train_loss " +
       fixed(r.train_loss, 4) + ", val_loss " + fixed(r.val_loss, 4) + ", pseudo Dice " + dice +
       ", EMA " + fixed(r.ema_fg_dice, 4) + ", epoch time " + fixed(r.epoch_seconds(), 2) + " s");
}

void write_progress_csv(const std::filesystem::path& file, const std::vector<EpochRecord>& history) {
  std::ostringstream s;
  const size_t classes = history.empty() ? 0 : history.front().dice_per_class.size();
  s << "epoch,train_loss,val_loss,mean_fg_dice,ema_fg_dice,lr,epoch_seconds";
  for (size_t c = 0; c < classes; ++c) s << ",dice_class_" << c + 1;
  s << '\n';
  for (const auto& r : history) {
    s << r.epoch << ',' << csv_number(r.train_loss) << ',' << csv_number(r.val_loss) << ','
      << csv_number(r.mean_fg_dice) << ',' << csv_number(r.ema_fg_dice) << ','
      << csv_number(r.lr) << ',' << csv_number(r.epoch_seconds());
    for (size_t c = 0; c < classes; ++c)
      s << ',' << csv_number(c < r.dice_per_class.size() ? r.dice_per_class[c] : NAN);
    s << '\n';
  }
  write_text_atomically(file, s.str());
}

bool plot_progress(const std::filesystem::path& png, const std::vector<EpochRecord>& history,
                   const std::string& gnuplot_binary) {
  static bool warned = false;
  const auto pid = std::to_string(::getpid());
  const auto csv = png.parent_path() / (".progress_plot." + pid + ".csv");
  const auto script = png.parent_path() / (".progress_plot." + pid + ".gp");
  const auto tmp_png = temporary_name_for(png);
  write_progress_csv(csv, history);
  write_text_atomically(script, gnuplot_script(csv, tmp_png));
  const std::string command = shell_quote(gnuplot_binary) + " " + shell_quote(script.string()) +
                              " > /dev/null 2>&1";
  const int status = std::system(command.c_str());
  std::error_code ignored;
  std::filesystem::remove(csv, ignored);
  std::filesystem::remove(script, ignored);
  if (status != 0 || !std::filesystem::exists(tmp_png)) {
    std::filesystem::remove(tmp_png, ignored);
    if (!warned)
      spdlog::warn("[training log] could not draw {} with '{}' (exit status {}); install gnuplot "
                   "(scripts/setup.sh installs gnuplot-nox) to get the progress plot",
                   png.string(), gnuplot_binary, status);
    warned = true;
    return false;
  }
  std::filesystem::rename(tmp_png, png);
  return true;
}

ChromeTrace::ChromeTrace(int rank, bool enabled)
    : rank_(rank), enabled_(enabled), origin_(std::chrono::steady_clock::now()) {}

void ChromeTrace::span(const std::string& name, std::chrono::steady_clock::time_point start,
                       int64_t iteration) {
  if (!enabled_ || events_.size() >= kMaxTraceEvents) return;
  using us = std::chrono::microseconds;
  const auto now = std::chrono::steady_clock::now();
  nlohmann::json event = {
      {"name", name}, {"cat", "train"}, {"ph", "X"}, {"pid", rank_}, {"tid", 0},
      {"ts", std::chrono::duration_cast<us>(start - origin_).count()},
      {"dur", std::chrono::duration_cast<us>(now - start).count()}};
  if (iteration >= 0) event["args"] = {{"iteration", iteration}};
  events_.push_back(std::move(event));
}

void ChromeTrace::write(const std::filesystem::path& file) const {
  if (!enabled_) return;
  nlohmann::json doc = {{"traceEvents", events_},
                        {"displayTimeUnit", "ms"},
                        {"otherData", {{"rank", rank_}}}};
  write_json_atomically(file, doc);
}

}  // namespace nnfleet::worker
