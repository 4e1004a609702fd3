// Training log, progress.csv, progress.png (gnuplot) and the Chrome trace.

#include "worker/training_log.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/atomic_file.h"
#include "tests/support/test_paths.h"

namespace nnfleet::worker {
namespace {

std::vector<EpochRecord> history(int n) {
  std::vector<EpochRecord> h;
  for (int e = 0; e < n; ++e) {
    EpochRecord r;
    r.epoch = e;
    r.train_loss = -0.1 * e;
    r.val_loss = -0.05 * e;
    r.dice_per_class = {0.1 * e, e == 0 ? NAN : 0.05 * e};
    r.mean_fg_dice = 0.07 * e;
    r.ema_fg_dice = 0.06 * e;
    r.lr = 0.01 * (1 - e / 10.0);
    r.epoch_start = 1000 + 10 * e;
    r.epoch_end = 1008 + 10 * e;
    h.push_back(r);
  }
  return h;
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(TrainingLog, EpochRecordRoundTripsThroughJsonWithNaN) {
  const auto r = history(1)[0];
  const auto back = epoch_record_from_json(to_json(r));
  EXPECT_EQ(back.epoch, 0);
  EXPECT_TRUE(std::isnan(back.dice_per_class[1]));
  EXPECT_DOUBLE_EQ(back.epoch_seconds(), 8.0);
  EXPECT_TRUE(to_json(r).at("dice_per_class")[1].is_null());
}

TEST(TrainingLog, ProgressCsvHasOneRowPerEpochAndAColumnPerClass) {
  const auto dir = test::scratch_dir("progress_csv");
  write_progress_csv(dir / "progress.csv", history(3));
  const auto text = read_text(dir / "progress.csv");
  EXPECT_EQ(text.substr(0, text.find('\n')),
            "epoch,train_loss,val_loss,mean_fg_dice,ema_fg_dice,lr,epoch_seconds,dice_class_1,"
            "dice_class_2");
  EXPECT_NE(text.find("\n0,0,0,0,0,0.01,8,0,nan\n"), std::string::npos) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 4);
}

TEST(TrainingLog, TextLogAppendsEpochLines) {
  const auto dir = test::scratch_dir("text_log");
  {
    TrainingLog log(dir / "training_log.txt", false);
    log.epoch(history(2)[1]);
  }
  TrainingLog again(dir / "training_log.txt", false);
  again.line("resumed");
  const auto text = read_text(dir / "training_log.txt");
  EXPECT_NE(text.find("Epoch 1: lr 0.00900, train_loss -0.1000"), std::string::npos) << text;
  EXPECT_NE(text.find("resumed"), std::string::npos);
  TrainingLog disabled;
  disabled.line("nothing");  // no-op
  EXPECT_FALSE(disabled.enabled());
}

TEST(TrainingLog, DrawsProgressPngWithGnuplot) {
  if (std::system("gnuplot --version > /dev/null 2>&1") != 0) GTEST_SKIP() << "gnuplot not installed";
  const auto dir = test::scratch_dir("progress_png");
  ASSERT_TRUE(plot_progress(dir / "progress.png", history(4)));
  std::ifstream png(dir / "progress.png", std::ios::binary);
  char magic[4] = {};
  png.read(magic, 4);
  EXPECT_EQ(std::string(magic + 1, 3), "PNG");
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);  // the script and data file are cleaned up
}

TEST(TrainingLog, MissingGnuplotFailsSoft) {
  const auto dir = test::scratch_dir("progress_png_missing");
  EXPECT_FALSE(plot_progress(dir / "progress.png", history(2), "/nonexistent/gnuplot"));
  EXPECT_FALSE(std::filesystem::exists(dir / "progress.png"));
}

TEST(TrainingLog, ChromeTraceWritesCompleteEvents) {
  const auto dir = test::scratch_dir("trace");
  ChromeTrace trace(3, true);
  {
    ChromeTrace::Scope scope(trace, "forward", 7);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  trace.span("data wait", std::chrono::steady_clock::now(), 8);
  trace.write(dir / "trace_rank3.json");
  const auto doc = read_json(dir / "trace_rank3.json");
  const auto& events = doc.at("traceEvents");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].at("name"), "forward");
  EXPECT_EQ(events[0].at("ph"), "X");
  EXPECT_EQ(events[0].at("pid"), 3);
  EXPECT_GE(events[0].at("dur").get<int64_t>(), 2000);
  EXPECT_EQ(events[1].at("args").at("iteration"), 8);
  ChromeTrace off(0, false);
  off.span("x", std::chrono::steady_clock::now());
  EXPECT_EQ(off.size(), 0u);
}

}  // namespace
}  // namespace nnfleet::worker
