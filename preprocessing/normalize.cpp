#include "preprocessing/normalize.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace nnfleet::preprocessing {

namespace {

constexpr double kEps = 1e-8;

void zscore(float* data, int64_t n, const int8_t* seg, bool use_mask) {
  double sum = 0;
  int64_t count = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (use_mask && seg[i] < 0) continue;
    sum += data[i];
    ++count;
  }
  if (count == 0) return;
  const double mean = sum / static_cast<double>(count);
  double sq = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (use_mask && seg[i] < 0) continue;
    sq += (data[i] - mean) * (data[i] - mean);
  }
  const auto m = static_cast<float>(mean);
  const auto s = static_cast<float>(std::max(std::sqrt(sq / static_cast<double>(count)), kEps));
  for (int64_t i = 0; i < n; ++i) {
    if (use_mask && seg[i] < 0) continue;
    data[i] = (data[i] - m) / s;
  }
}

void ct(float* data, int64_t n, const IntensityStats& fg) {
  const auto lo = static_cast<float>(fg.percentile_00_5), hi = static_cast<float>(fg.percentile_99_5);
  const auto m = static_cast<float>(fg.mean);
  const auto s = static_cast<float>(std::max(fg.std, kEps));
  for (int64_t i = 0; i < n; ++i) data[i] = (std::clamp(data[i], lo, hi) - m) / s;
}

void rescale(float* data, int64_t n) {
  if (n == 0) return;
  const float lo = *std::min_element(data, data + n);
  for (int64_t i = 0; i < n; ++i) data[i] -= lo;
  const float hi = std::max(*std::max_element(data, data + n), static_cast<float>(kEps));
  for (int64_t i = 0; i < n; ++i) data[i] /= hi;
}

}  // namespace

void normalize_channel(float* data, int64_t n, const int8_t* seg, const std::string& scheme,
                       bool use_mask, const IntensityStats& foreground) {
  if (scheme == "ZScoreNormalization") return zscore(data, n, seg, use_mask && seg != nullptr);
  if (scheme == "CTNormalization") {
    if (!std::isfinite(foreground.mean)) {
      throw Error("CTNormalization needs foreground intensity statistics, but the training set "
                  "has no foreground voxels");
    }
    return ct(data, n, foreground);
  }
  if (scheme == "NoNormalization") return;
  if (scheme == "RescaleTo01Normalization") return rescale(data, n);
  if (scheme == "RGBTo01Normalization") {
    for (int64_t i = 0; i < n; ++i) data[i] /= 255.0f;
    return;
  }
  throw Error("unknown normalization scheme '" + scheme + "'");
}

}  // namespace nnfleet::preprocessing
