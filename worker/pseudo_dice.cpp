#include "worker/pseudo_dice.h"

#include <ATen/ops/argmax.h>
#include <torch/types.h>

#include <cmath>
#include <limits>
#include <numeric>

#include "common/error.h"

namespace nnfleet::worker {
namespace {

void add_into(std::vector<double>& into, const std::vector<double>& values) {
  if (into.empty()) into.assign(values.size(), 0.0);
  NNFLEET_CHECK(into.size() == values.size(), "pseudo Dice class counts differ");
  for (size_t i = 0; i < values.size(); ++i) into[i] += values[i];
}

}  // namespace

void DiceCounts::add(const torch::Tensor& logits, const torch::Tensor& target) {
  torch::NoGradGuard no_grad;
  const int64_t k = logits.size(1);
  const torch::Tensor pred = at::argmax(logits, 1, /*keepdim=*/true);
  const torch::Tensor ref = target.to(torch::kLong);
  std::vector<double> tp(k - 1), fp(k - 1), fn(k - 1);
  for (int64_t c = 1; c < k; ++c) {
    const torch::Tensor p = pred == c, r = ref == c;
    tp[c - 1] = (p & r).sum().item<double>();
    fp[c - 1] = (p & ~r).sum().item<double>();
    fn[c - 1] = (~p & r).sum().item<double>();
  }
  add_into(this->tp, tp);
  add_into(this->fp, fp);
  add_into(this->fn, fn);
}

void DiceCounts::merge(const DiceCounts& other) {
  if (other.tp.empty()) return;
  add_into(tp, other.tp);
  add_into(fp, other.fp);
  add_into(fn, other.fn);
}

std::vector<double> DiceCounts::dice_per_class() const {
  std::vector<double> dice(tp.size());
  for (size_t c = 0; c < tp.size(); ++c) {
    const double denominator = 2 * tp[c] + fp[c] + fn[c];
    dice[c] = denominator > 0 ? 2 * tp[c] / denominator : std::numeric_limits<double>::quiet_NaN();
  }
  return dice;
}

double nanmean(const std::vector<double>& values) {
  double sum = 0;
  int n = 0;
  for (double v : values) {
    if (std::isnan(v)) continue;
    sum += v;
    ++n;
  }
  return n ? sum / n : std::numeric_limits<double>::quiet_NaN();
}

double ema_update(double previous, double value) {
  return std::isnan(previous) ? value : 0.9 * previous + 0.1 * value;
}

}  // namespace nnfleet::worker
