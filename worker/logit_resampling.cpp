#include "worker/logit_resampling.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace nnfleet::worker {
namespace {

// Strides of a C-order [K, Z, Y, X] volume: the volume is viewed as (outer, n, inner) around
// `axis`, where outer includes the channel axis.
struct AxisView {
  int64_t outer = 1, n = 1, inner = 1;
};

AxisView view_around(int64_t channels, const Shape3& shape, int axis) {
  AxisView v;
  v.outer = channels;
  for (int a = 0; a < axis; ++a) v.outer *= shape[static_cast<size_t>(a)];
  v.n = shape[static_cast<size_t>(axis)];
  for (int a = axis + 1; a < 3; ++a) v.inner *= shape[static_cast<size_t>(a)];
  return v;
}

double source_coordinate(int64_t out_index, int64_t n_in, int64_t n_out) {
  return (double(out_index) + 0.5) * (double(n_in) / double(n_out)) - 0.5;
}

// Applies `sample(line_in, line_out)` to every line along `axis`.
template <typename Weights>
std::vector<float> map_lines(const std::vector<float>& values, int64_t channels,
                             const Shape3& shape, int axis, int64_t new_size,
                             const Weights& weights) {
  const AxisView v = view_around(channels, shape, axis);
  NNFLEET_CHECK(static_cast<int64_t>(values.size()) == v.outer * v.n * v.inner,
                "resample: buffer size does not match the shape");
  std::vector<float> out(static_cast<size_t>(v.outer * new_size * v.inner));
  for (int64_t o = 0; o < new_size; ++o) {
    int64_t i0 = 0, i1 = 0;
    double w1 = 0;
    weights(o, v.n, i0, i1, w1);
    const double w0 = 1.0 - w1;
    for (int64_t b = 0; b < v.outer; ++b) {
      const float* a = values.data() + (b * v.n + i0) * v.inner;
      const float* c = values.data() + (b * v.n + i1) * v.inner;
      float* dst = out.data() + (b * new_size + o) * v.inner;
      for (int64_t k = 0; k < v.inner; ++k)
        dst[k] = static_cast<float>(w0 * double(a[k]) + w1 * double(c[k]));
    }
  }
  return out;
}

int coarsest_axis_if_unique(const Spacing3& spacing, bool& unique) {
  const double top = *std::max_element(spacing.begin(), spacing.end());
  int count = 0, axis = 0;
  for (int a = 0; a < 3; ++a)
    if (top / spacing[static_cast<size_t>(a)] == 1.0) ++count, axis = a;
  unique = count == 1;
  return axis;
}

bool is_anisotropic(const Spacing3& s, double threshold) {
  return *std::max_element(s.begin(), s.end()) / *std::min_element(s.begin(), s.end()) > threshold;
}

}  // namespace

std::optional<int> separate_z_axis(const Spacing3& current_spacing, const Spacing3& new_spacing,
                                   std::optional<bool> force, double anisotropy_threshold) {
  const Spacing3* basis = nullptr;
  if (force.has_value()) {
    if (*force) basis = &current_spacing;
  } else if (is_anisotropic(current_spacing, anisotropy_threshold)) {
    basis = &current_spacing;
  } else if (is_anisotropic(new_spacing, anisotropy_threshold)) {
    basis = &new_spacing;
  }
  if (basis == nullptr) return std::nullopt;
  bool unique = false;
  const int axis = coarsest_axis_if_unique(*basis, unique);
  if (!unique) return std::nullopt;
  return axis;
}

std::vector<float> resize_axis_linear(const std::vector<float>& values, int64_t channels,
                                      const Shape3& shape, int axis, int64_t new_size) {
  return map_lines(values, channels, shape, axis, new_size,
                   [&](int64_t o, int64_t n, int64_t& i0, int64_t& i1, double& w1) {
                     const double c = source_coordinate(o, n, new_size);
                     const double f = std::floor(c);
                     w1 = c - f;
                     i0 = std::clamp<int64_t>(static_cast<int64_t>(f), 0, n - 1);
                     i1 = std::clamp<int64_t>(static_cast<int64_t>(f) + 1, 0, n - 1);
                   });
}

std::vector<float> resize_axis_nearest(const std::vector<float>& values, int64_t channels,
                                       const Shape3& shape, int axis, int64_t new_size) {
  return map_lines(values, channels, shape, axis, new_size,
                   [&](int64_t o, int64_t n, int64_t& i0, int64_t& i1, double& w1) {
                     const double c = source_coordinate(o, n, new_size);
                     i0 = i1 = std::clamp<int64_t>(static_cast<int64_t>(std::floor(c + 0.5)), 0, n - 1);
                     w1 = 0;
                   });
}

std::vector<float> resample_logits(const std::vector<float>& values, int64_t channels,
                                   const Shape3& shape, const Shape3& new_shape,
                                   const Spacing3& current_spacing, const Spacing3& new_spacing,
                                   std::optional<bool> force_separate_z) {
  for (int a = 0; a < 3; ++a)
    if (shape[static_cast<size_t>(a)] < 1 || new_shape[static_cast<size_t>(a)] < 1)
      throw Error("[export] cannot resample an empty volume");
  if (shape == new_shape) return values;
  const std::optional<int> z = separate_z_axis(current_spacing, new_spacing, force_separate_z);

  // Linear along every axis but the separate one (in any order: separable), nearest along it.
  std::vector<float> out = values;
  Shape3 current = shape;
  for (int a = 0; a < 3; ++a) {
    const size_t i = static_cast<size_t>(a);
    if (current[i] == new_shape[i]) continue;
    out = (z && *z == a) ? resize_axis_nearest(out, channels, current, a, new_shape[i])
                         : resize_axis_linear(out, channels, current, a, new_shape[i]);
    current[i] = new_shape[i];
  }
  return out;
}

}  // namespace nnfleet::worker
