#include "worker/sliding_window.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "common/error.h"

namespace nnfleet::worker {
namespace {

std::string shape_text(const std::vector<int64_t>& v) {
  std::string s = "(";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + ")";
}

// scipy.ndimage._gaussian_kernel1d(sigma, 0, radius) with radius = int(4 * sigma + 0.5).
std::vector<double> gaussian_kernel_1d(double sigma) {
  const int64_t radius = static_cast<int64_t>(4.0 * sigma + 0.5);
  std::vector<double> w(static_cast<size_t>(2 * radius + 1));
  double sum = 0;
  for (int64_t x = -radius; x <= radius; ++x) {
    w[static_cast<size_t>(x + radius)] = std::exp(-0.5 / (sigma * sigma) * double(x * x));
    sum += w[static_cast<size_t>(x + radius)];
  }
  for (double& v : w) v /= sum;
  return w;
}

// The impulse response along one axis of length n with the impulse at n // 2.
std::vector<double> impulse_response(int64_t n, double sigma) {
  const std::vector<double> w = gaussian_kernel_1d(sigma);
  const int64_t radius = (static_cast<int64_t>(w.size()) - 1) / 2;
  std::vector<double> out(static_cast<size_t>(n), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t d = i - n / 2;
    if (d >= -radius && d <= radius) out[static_cast<size_t>(i)] = w[static_cast<size_t>(d + radius)];
  }
  return out;
}

}  // namespace

std::vector<std::vector<int64_t>> sliding_window_steps(const std::vector<int64_t>& image_size,
                                                       const std::vector<int64_t>& tile_size,
                                                       double step_size) {
  if (image_size.size() != tile_size.size())
    throw Error("[predict] sliding window: image " + shape_text(image_size) + " and tile " +
                shape_text(tile_size) + " have different numbers of axes");
  if (!(step_size > 0 && step_size <= 1))
    throw Error("[predict] step size " + std::to_string(step_size) + " must be in (0, 1]");
  std::vector<std::vector<int64_t>> steps;
  for (size_t a = 0; a < tile_size.size(); ++a) {
    const int64_t s = image_size[a], p = tile_size[a];
    if (p <= 0 || s < p)
      throw Error("[predict] sliding window: image " + shape_text(image_size) +
                  " is smaller than the tile " + shape_text(tile_size) + "; pad it first");
    const double target_step = double(p) * step_size;
    const int64_t n = static_cast<int64_t>(std::ceil(double(s - p) / target_step)) + 1;
    const double actual = n > 1 ? double(s - p) / double(n - 1) : 0.0;
    std::vector<int64_t> axis;
    for (int64_t i = 0; i < n; ++i) axis.push_back(static_cast<int64_t>(std::nearbyint(actual * double(i))));
    steps.push_back(std::move(axis));
  }
  return steps;
}

std::vector<double> gaussian_importance_map(const std::vector<int64_t>& tile_size,
                                            double sigma_scale, double value_scaling) {
  std::vector<std::vector<double>> axes;
  int64_t total = 1;
  for (int64_t p : tile_size) {
    if (p <= 0) throw Error("[predict] tile size " + shape_text(tile_size) + " must be positive");
    axes.push_back(impulse_response(p, double(p) * sigma_scale));
    total *= p;
  }

  // The filtered impulse is the outer product of the per-axis responses; its maximum is the
  // product of the centre values.
  std::vector<double> map(static_cast<size_t>(total), 1.0);
  double peak = 1.0;
  int64_t inner = total;
  for (size_t a = 0; a < axes.size(); ++a) {
    const int64_t n = tile_size[a];
    inner /= n;
    for (int64_t i = 0; i < total; ++i) map[static_cast<size_t>(i)] *= axes[a][static_cast<size_t>((i / inner) % n)];
    peak *= axes[a][static_cast<size_t>(n / 2)];
  }
  for (double& v : map) v /= (peak / value_scaling);
  return map;
}

void replace_zeros_by_min(std::vector<float>& map) {
  float smallest = std::numeric_limits<float>::infinity();
  for (float v : map)
    if (v != 0.0f) smallest = std::min(smallest, v);
  if (!std::isfinite(smallest)) throw Error("[predict] importance map is zero everywhere");
  for (float& v : map)
    if (v == 0.0f) v = smallest;
}

TilePadding padding_for_tile(const std::vector<int64_t>& image_size,
                             const std::vector<int64_t>& tile_size) {
  NNFLEET_CHECK(image_size.size() == tile_size.size(), "padding: axis count differs");
  TilePadding pad;
  pad.image_shape = image_size;
  for (size_t a = 0; a < image_size.size(); ++a) {
    const int64_t diff = std::max<int64_t>(0, tile_size[a] - image_size[a]);
    pad.before.push_back(diff / 2);
    pad.padded_shape.push_back(image_size[a] + diff);
  }
  return pad;
}

}  // namespace nnfleet::worker
