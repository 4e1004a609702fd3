#include "worker/augment_intensity.h"

#include <algorithm>
#include <cmath>

namespace nnfleet::worker {
namespace {

struct Stats {
  double mean = 0, std = 0;
  float min = 0, max = 0;
};

Stats channel_stats(const float* x, int64_t n, bool with_std) {
  Stats s;
  if (n == 0) return s;
  double sum = 0;
  float lo = x[0], hi = x[0];
  for (int64_t i = 0; i < n; ++i) {
    sum += x[i];
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  s.mean = sum / n;
  s.min = lo;
  s.max = hi;
  if (with_std && n > 1) {
    double sq = 0;
    for (int64_t i = 0; i < n; ++i) sq += (x[i] - s.mean) * (x[i] - s.mean);
    s.std = std::sqrt(sq / (n - 1));
  }
  return s;
}

// batchgeneratorsv2's kernel size: round-to-nearest-odd(4 sigma + 0.5).
int gaussian_kernel_size(double sigma) {
  const double n = sigma * 4 + 0.5;
  const long rounded = std::lround(std::nearbyint(n));
  if (rounded % 2 == 1) return static_cast<int>(rounded);
  return static_cast<int>(n - rounded >= 0 ? rounded + 1 : rounded - 1);
}

std::vector<float> gaussian_kernel(double sigma) {
  const int size = std::max(1, gaussian_kernel_size(sigma));
  std::vector<float> k(size);
  const double half = (size - 1) * 0.5;
  double sum = 0;
  for (int i = 0; i < size; ++i) {
    const double t = (i - half) / sigma;
    sum += (k[i] = static_cast<float>(std::exp(-0.5 * t * t)));
  }
  for (float& v : k) v = static_cast<float>(v / sum);
  return k;
}

// Mirror index without repeating the edge ("reflect"), folded until it is inside [0, n).
int64_t reflect(int64_t i, int64_t n) {
  if (n == 1) return 0;
  const int64_t period = 2 * (n - 1);
  i = ((i % period) + period) % period;
  return i < n ? i : period - i;
}

// Convolves every line along `axis` with `k` (odd length) in place. Works on whole rows of the
// contiguous inner axes at a time so that the innermost loop is unit-stride.
void convolve_axis(float* x, const Index3& shape, int axis, const std::vector<float>& k,
                   std::vector<float>& block) {
  const int64_t n = shape[axis];
  const int64_t inner = axis == 0 ? shape[1] * shape[2] : axis == 1 ? shape[2] : 1;
  const int64_t outer = shape[0] * shape[1] * shape[2] / (n * inner);
  const int64_t radius = static_cast<int64_t>(k.size()) / 2;
  block.resize(n * inner);
  for (int64_t o = 0; o < outer; ++o) {
    float* base = x + o * n * inner;
    std::copy(base, base + n * inner, block.begin());
    for (int64_t i = 0; i < n; ++i) {
      float* dst = base + i * inner;
      std::fill(dst, dst + inner, 0.0f);
      for (int64_t t = 0; t < static_cast<int64_t>(k.size()); ++t) {
        const float w = k[t];
        const float* src = block.data() + reflect(i + t - radius, n) * inner;
        for (int64_t j = 0; j < inner; ++j) dst[j] += w * src[j];
      }
    }
  }
}

// Source indices for nearest-exact resizing from `in` to `out` samples.
std::vector<int64_t> nearest_exact(int64_t in, int64_t out) {
  std::vector<int64_t> index(out);
  const double ratio = double(in) / double(out);
  for (int64_t i = 0; i < out; ++i) {
    index[i] = std::min<int64_t>(static_cast<int64_t>(std::floor((i + 0.5) * ratio)), in - 1);
  }
  return index;
}

// Linear resize along `axis` from `src` (shape src_shape) into `dst` (shape with out on axis).
void linear_resize_axis(const float* src, const Index3& src_shape, int axis, int64_t out,
                        float* dst) {
  const int64_t in = src_shape[axis];
  Index3 dst_shape = src_shape;
  dst_shape[axis] = out;
  const int64_t inner = axis == 2 ? 1 : axis == 1 ? src_shape[2] : src_shape[1] * src_shape[2];
  const int64_t outer = src_shape[0] * src_shape[1] * src_shape[2] / (in * inner);
  const double ratio = double(in) / double(out);
  for (int64_t i = 0; i < out; ++i) {
    const double p = std::max(0.0, (i + 0.5) * ratio - 0.5);
    const int64_t i0 = std::min<int64_t>(static_cast<int64_t>(p), in - 1);
    const int64_t i1 = std::min<int64_t>(i0 + 1, in - 1);
    const float w1 = static_cast<float>(p - i0), w0 = 1 - w1;
    for (int64_t o = 0; o < outer; ++o) {
      const float* a = src + (o * in + i0) * inner;
      const float* b = src + (o * in + i1) * inner;
      float* d = dst + (o * out + i) * inner;
      for (int64_t j = 0; j < inner; ++j) d[j] = w0 * a[j] + w1 * b[j];
    }
  }
}

}  // namespace

void add_gaussian_noise(float* x, int64_t n, double sigma, Rng& rng) {
  for (int64_t i = 0; i < n; ++i) x[i] += static_cast<float>(sigma * rng.normal());
}

void gaussian_blur(float* x, const Index3& shape, const std::array<double, 3>& sigma,
                   std::vector<float>& scratch) {
  for (int axis = 0; axis < 3; ++axis) {
    if (sigma[axis] <= 0 || shape[axis] < 2) continue;
    convolve_axis(x, shape, axis, gaussian_kernel(sigma[axis]), scratch);
  }
}

void multiply_brightness(float* x, int64_t n, double factor) {
  const float f = static_cast<float>(factor);
  for (int64_t i = 0; i < n; ++i) x[i] *= f;
}

void adjust_contrast(float* x, int64_t n, double factor) {
  const Stats s = channel_stats(x, n, false);
  const float mean = static_cast<float>(s.mean), f = static_cast<float>(factor);
  for (int64_t i = 0; i < n; ++i) x[i] = std::clamp((x[i] - mean) * f + mean, s.min, s.max);
}

void simulate_low_resolution(float* x, const Index3& shape, double zoom,
                             const std::array<bool, 3>& keep_axis, std::vector<float>& scratch) {
  Index3 small;
  for (int a = 0; a < 3; ++a) {
    small[a] = keep_axis[a]
                   ? shape[a]
                   : std::max<int64_t>(1, static_cast<int64_t>(std::nearbyint(shape[a] * zoom)));
  }
  const int64_t n_small = small[0] * small[1] * small[2];
  const int64_t n = shape[0] * shape[1] * shape[2];
  // scratch: [small volume | two ping-pong buffers of the full size]
  scratch.resize(n_small + 2 * n);
  float* low = scratch.data();
  const auto iz = nearest_exact(shape[0], small[0]);
  const auto iy = nearest_exact(shape[1], small[1]);
  const auto ix = nearest_exact(shape[2], small[2]);
  float* out = low;
  for (int64_t z = 0; z < small[0]; ++z) {
    for (int64_t y = 0; y < small[1]; ++y) {
      const float* row = x + (iz[z] * shape[1] + iy[y]) * shape[2];
      for (int64_t xi = 0; xi < small[2]; ++xi) *out++ = row[ix[xi]];
    }
  }
  // Upsample axis by axis: x (2), then y (1), then z (0); linear is separable.
  float* ping = scratch.data() + n_small;
  float* pong = ping + n;
  Index3 current = small;
  const float* src = low;
  float* bufs[2] = {ping, pong};
  int which = 0;
  for (int axis = 2; axis >= 0; --axis) {
    float* dst = axis == 0 ? x : bufs[which];
    linear_resize_axis(src, current, axis, shape[axis], dst);
    current[axis] = shape[axis];
    src = dst;
    which ^= 1;
  }
}

void apply_gamma(float* x, int64_t n, double gamma, bool invert, bool retain_stats) {
  if (n == 0) return;
  if (invert) multiply_brightness(x, n, -1.0);
  const Stats before = channel_stats(x, n, retain_stats);
  const double range = double(before.max) - double(before.min);
  const double denom = std::max(range, 1e-7);
  for (int64_t i = 0; i < n; ++i) {
    x[i] = static_cast<float>(std::pow((x[i] - before.min) / denom, gamma) * range + before.min);
  }
  if (retain_stats) {
    const Stats after = channel_stats(x, n, true);
    const double factor = before.std / std::max(after.std, 1e-7);
    for (int64_t i = 0; i < n; ++i) {
      x[i] = static_cast<float>((x[i] - after.mean) * factor + before.mean);
    }
  }
  if (invert) multiply_brightness(x, n, -1.0);
}

double draw_around_one(Rng& rng, double lo, double hi) {
  if (rng.uniform() < 0.5 && lo < 1) return rng.uniform(lo, 1.0);
  return rng.uniform(std::max(lo, 1.0), hi);
}

}  // namespace nnfleet::worker
