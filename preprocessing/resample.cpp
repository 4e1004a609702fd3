#include "preprocessing/resample.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>

namespace nnfleet::preprocessing {

namespace {

using Volume = std::vector<double>;
// A 1D resampler: n input samples -> m output samples.
using LineFn = std::function<void(const double* in, int64_t n, double* out, int64_t m)>;

// Input coordinate of output sample o in grid mode (half-pixel centres).
inline double source_coordinate(int64_t o, int64_t n, int64_t m) {
  return (static_cast<double>(o) + 0.5) * static_cast<double>(n) / static_cast<double>(m) - 0.5;
}

// Cubic B-spline interpolation coefficients of an edge-padded line (scipy's spline_filter1d with
// the mirror boundary on the padded line).
void cubic_prefilter(std::vector<double>& c) {
  const double z = std::sqrt(3.0) - 2.0;
  const double gain = (1 - z) * (1 - 1 / z);
  const size_t n = c.size();
  for (double& v : c) v *= gain;
  double zn = z, sum = c[0];
  for (size_t k = 1; k < n; ++k, zn *= z) sum += zn * c[k];
  c[0] = sum;
  for (size_t k = 1; k < n; ++k) c[k] += z * c[k - 1];
  c[n - 1] = (z / (z * z - 1)) * (z * c[n - 2] + c[n - 1]);
  for (size_t k = n - 1; k-- > 0;) c[k] = z * (c[k + 1] - c[k]);
}

inline double bspline3(double t) {
  t = std::abs(t);
  if (t < 1) return 2.0 / 3.0 - t * t + t * t * t / 2;
  if (t < 2) return (2 - t) * (2 - t) * (2 - t) / 6;
  return 0;
}

void cubic_line(const double* in, int64_t n, double* out, int64_t m) {
  constexpr int64_t kPad = 12;
  std::vector<double> c(static_cast<size_t>(n + 2 * kPad));
  for (int64_t i = 0; i < n + 2 * kPad; ++i) c[i] = in[std::clamp<int64_t>(i - kPad, 0, n - 1)];
  if (c.size() > 1) cubic_prefilter(c);
  const int64_t len = static_cast<int64_t>(c.size());
  for (int64_t o = 0; o < m; ++o) {
    const double x = source_coordinate(o, n, m) + kPad;
    const auto f = static_cast<int64_t>(std::floor(x));
    double v = 0;
    for (int64_t k = f - 1; k <= f + 2; ++k) v += c[std::clamp<int64_t>(k, 0, len - 1)] * bspline3(x - k);
    out[o] = v;
  }
}

void linear_line(const double* in, int64_t n, double* out, int64_t m) {
  for (int64_t o = 0; o < m; ++o) {
    const double x = std::clamp(source_coordinate(o, n, m), 0.0, static_cast<double>(n - 1));
    const auto f = static_cast<int64_t>(std::floor(x));
    const double t = x - static_cast<double>(f);
    const int64_t g = std::min(f + 1, n - 1);
    out[o] = in[f] * (1 - t) + in[g] * t;
  }
}

void nearest_line(const double* in, int64_t n, double* out, int64_t m) {
  for (int64_t o = 0; o < m; ++o) {
    const double x = std::clamp(source_coordinate(o, n, m), 0.0, static_cast<double>(n - 1));
    out[o] = in[std::min<int64_t>(static_cast<int64_t>(std::floor(x + 0.5)), n - 1)];
  }
}

// Applies `fn` to every line along `axis`; returns the volume with shape[axis] = m.
Volume along_axis(const Volume& in, Shape3& shape, int axis, int64_t m, const LineFn& fn) {
  if (shape[axis] == m) return in;
  Shape3 out_shape = shape;
  out_shape[axis] = m;
  Volume out(static_cast<size_t>(volume_of(out_shape)));
  const int64_t n = shape[axis];
  int64_t in_stride = 1, out_stride = 1;
  for (int a = 2; a > axis; --a) {
    in_stride *= shape[a];
    out_stride *= out_shape[a];
  }
  std::vector<double> line(static_cast<size_t>(n)), result(static_cast<size_t>(m));
  const int64_t outer = volume_of(shape) / (n * in_stride);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < in_stride; ++i) {
      const double* src = in.data() + o * n * in_stride + i;
      for (int64_t k = 0; k < n; ++k) line[k] = src[k * in_stride];
      fn(line.data(), n, result.data(), m);
      double* dst = out.data() + o * m * out_stride + i;
      for (int64_t k = 0; k < m; ++k) dst[k * out_stride] = result[k];
    }
  }
  shape = out_shape;
  return out;
}

// Resamples the axes in `axes` (in order) with `fn`.
Volume resample_axes(Volume v, Shape3 shape, const Shape3& new_shape, const std::vector<int>& axes,
                     const LineFn& fn) {
  for (int a : axes) v = along_axis(v, shape, a, new_shape[a], fn);
  return v;
}

std::vector<int> all_axes_but(int skip) {
  std::vector<int> axes;
  for (int a = 0; a < 3; ++a) if (a != skip) axes.push_back(a);
  return axes;
}

// Clips to the value range of the input, over the whole volume or per slice along `slice_axis`.
void clip_to_input_range(const Volume& in, const Shape3& shape, Volume& out,
                         const Shape3& out_shape, int slice_axis) {
  if (slice_axis < 0) {
    const auto [lo, hi] = std::minmax_element(in.begin(), in.end());
    for (double& v : out) v = std::clamp(v, *lo, *hi);
    return;
  }
  // Slices along slice_axis keep their index (the in-plane step leaves that axis unchanged).
  std::vector<double> lo(shape[slice_axis], INFINITY), hi(shape[slice_axis], -INFINITY);
  auto index_of = [](int64_t i, const Shape3& s, int axis) {
    const int64_t z = i / (s[1] * s[2]), y = (i / s[2]) % s[1], x = i % s[2];
    return axis == 0 ? z : axis == 1 ? y : x;
  };
  for (int64_t i = 0; i < static_cast<int64_t>(in.size()); ++i) {
    const int64_t k = index_of(i, shape, slice_axis);
    lo[k] = std::min(lo[k], in[i]);
    hi[k] = std::max(hi[k], in[i]);
  }
  for (int64_t i = 0; i < static_cast<int64_t>(out.size()); ++i) {
    const int64_t k = index_of(i, out_shape, slice_axis);
    out[i] = std::clamp(out[i], lo[k], hi[k]);
  }
}

Volume resample_channel(const Volume& in, const Shape3& shape, const Shape3& new_shape,
                        const SeparateZ& sep) {
  if (!sep.enabled) {
    Volume out = resample_axes(in, shape, new_shape, {0, 1, 2}, cubic_line);
    clip_to_input_range(in, shape, out, new_shape, -1);
    return out;
  }
  Shape3 in_plane = new_shape;
  in_plane[sep.axis] = shape[sep.axis];
  Volume out = resample_axes(in, shape, in_plane, all_axes_but(sep.axis), cubic_line);
  if (in_plane != shape) clip_to_input_range(in, shape, out, in_plane, sep.axis);
  return resample_axes(out, in_plane, new_shape, {sep.axis}, nearest_line);
}

// Label map resampled in the axes `axes` by per-label linear interpolation and argmax.
Volume resample_labels(const Volume& seg, const Shape3& shape, const Shape3& new_shape,
                       const std::vector<int>& axes) {
  std::set<double> labels(seg.begin(), seg.end());
  const Volume nearest = resample_axes(seg, shape, new_shape, axes, nearest_line);
  const size_t n = static_cast<size_t>(volume_of(new_shape));
  Volume best_label(n, 0), best_score(n, -INFINITY);
  std::vector<uint8_t> tie_nearest(n, 0);
  for (double label : labels) {
    Volume indicator(seg.size());
    for (size_t i = 0; i < seg.size(); ++i) indicator[i] = seg[i] == label ? 1.0 : 0.0;
    const Volume score = resample_axes(indicator, shape, new_shape, axes, linear_line);
    for (size_t i = 0; i < n; ++i) {
      const double s = std::clamp(score[i], 0.0, 1.0);
      if (s > best_score[i]) {
        best_score[i] = s;
        best_label[i] = label;
        tie_nearest[i] = nearest[i] == label;
      } else if (s == best_score[i] && nearest[i] == label) {
        best_label[i] = label;  // exact tie: the nearest neighbour's label wins
        tie_nearest[i] = 1;
      }
    }
  }
  return best_label;
}

}  // namespace

SeparateZ separate_z_decision(const std::array<double, 3>& old_spacing,
                              const std::array<double, 3>& new_spacing) {
  auto aniso = [](const std::array<double, 3>& s) {
    return *std::max_element(s.begin(), s.end()) / *std::min_element(s.begin(), s.end()) > 3;
  };
  auto lowres_axis = [](const std::array<double, 3>& s) {
    const double m = *std::max_element(s.begin(), s.end());
    int axis = -1, count = 0;
    for (int a = 0; a < 3; ++a) {
      if (m / s[a] == 1) {
        axis = a;
        ++count;
      }
    }
    return count == 1 ? axis : -1;
  };
  int axis = -1;
  if (aniso(old_spacing)) {
    axis = lowres_axis(old_spacing);
  } else if (aniso(new_spacing)) {
    axis = lowres_axis(new_spacing);
  }
  return SeparateZ{axis >= 0, axis};
}

std::vector<float> resample_data(const std::vector<float>& data, int channels, const Shape3& shape,
                                 const Shape3& new_shape, const std::array<double, 3>& old_spacing,
                                 const std::array<double, 3>& new_spacing) {
  if (shape == new_shape) return data;
  const SeparateZ sep = separate_z_decision(old_spacing, new_spacing);
  const int64_t n = volume_of(shape), m = volume_of(new_shape);
  std::vector<float> out(static_cast<size_t>(channels * m));
  for (int c = 0; c < channels; ++c) {
    const Volume in(data.begin() + c * n, data.begin() + (c + 1) * n);
    const Volume r = resample_channel(in, shape, new_shape, sep);
    std::transform(r.begin(), r.end(), out.begin() + c * m, [](double v) { return static_cast<float>(v); });
  }
  return out;
}

std::vector<int8_t> resample_seg(const std::vector<int8_t>& seg, const Shape3& shape,
                                 const Shape3& new_shape, const std::array<double, 3>& old_spacing,
                                 const std::array<double, 3>& new_spacing) {
  if (shape == new_shape) return seg;
  const SeparateZ sep = separate_z_decision(old_spacing, new_spacing);
  const Volume in(seg.begin(), seg.end());
  Volume out;
  if (!sep.enabled) {
    out = resample_labels(in, shape, new_shape, {0, 1, 2});
  } else {
    Shape3 in_plane = new_shape;
    in_plane[sep.axis] = shape[sep.axis];
    // Each slice is labelled on its own: the axes resampled do not include sep.axis, so
    // the per-label interpolation never mixes slices.
    const Volume planes = resample_labels(in, shape, in_plane, all_axes_but(sep.axis));
    out = resample_axes(planes, in_plane, new_shape, {sep.axis}, nearest_line);
  }
  return std::vector<int8_t>(out.begin(), out.end());
}

}  // namespace nnfleet::preprocessing
