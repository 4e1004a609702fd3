#include "worker/augment_spatial.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/error.h"

namespace nnfleet::worker {
namespace {

Matrix3 multiply(const Matrix3& a, const Matrix3& b) {
  Matrix3 c{};
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      for (int k = 0; k < 3; ++k) c[i][j] += a[i][k] * b[k][j];
    }
  }
  return c;
}

// One sample point: the lower neighbour (z0, y0, x0), the offsets to the upper neighbours (0 when
// the fraction is 0, so that a size-1 axis sampled at 0 needs no neighbour) and the fractions.
struct Point {
  int64_t lo[3];
  int64_t step[3];  // 0 or 1 per axis
  float frac[3];
};

// Calls visit(output_index, point) for every output voxel, output index in C order.
template <class Visit>
void for_each_sample_point(const Index3& in, const Matrix3& m, const Index3& out, Visit&& visit) {
  int64_t o = 0;
  Point pt;
  for (int64_t z = 0; z < out[0]; ++z) {
    for (int64_t y = 0; y < out[1]; ++y) {
      const double dz = z - (out[0] - 1) / 2.0, dy = y - (out[1] - 1) / 2.0;
      const double dx = -(out[2] - 1) / 2.0;
      double p[3];
      for (int a = 0; a < 3; ++a)
        p[a] = (in[a] - 1) / 2.0 + m[a][0] * dz + m[a][1] * dy + m[a][2] * dx;
      for (int64_t x = 0; x < out[2]; ++x, ++o) {
        for (int a = 0; a < 3; ++a) {
          const double f = std::floor(p[a]);
          pt.lo[a] = static_cast<int64_t>(f);
          pt.frac[a] = static_cast<float>(p[a] - f);
          pt.step[a] = pt.frac[a] > 0 ? 1 : 0;
          p[a] += m[a][2];
        }
        visit(o, pt);
      }
    }
  }
}

bool all_neighbours_inside(const Point& pt, const Index3& in) {
  for (int a = 0; a < 3; ++a) {
    if (pt.lo[a] < 0 || pt.lo[a] + pt.step[a] >= in[a]) return false;
  }
  return true;
}

// Trilinear interpolation when every neighbour is inside; `base` is the lower neighbour's index.
float interpolate_inside(const float* src, int64_t base, const int64_t d[3], const float f[3]) {
  auto lerp = [](float a, float b, float t) { return a + t * (b - a); };
  const float* p = src + base;
  const float a00 = lerp(p[0], p[d[2]], f[2]);
  const float a01 = lerp(p[d[1]], p[d[1] + d[2]], f[2]);
  const float a10 = lerp(p[d[0]], p[d[0] + d[2]], f[2]);
  const float a11 = lerp(p[d[0] + d[1]], p[d[0] + d[1] + d[2]], f[2]);
  return lerp(lerp(a00, a01, f[1]), lerp(a10, a11, f[1]), f[0]);
}

// The eight neighbours of a sample point with their trilinear weights; neighbours outside the
// input count as label -1 / value 0.
struct Corners {
  int64_t index[8];
  float weight[8];
  bool inside[8];
  int nearest = 0;  // the corner with the largest weight
};

Corners corners_of(const Point& pt, const Index3& in) {
  Corners c;
  float best = -1;
  for (int k = 0; k < 8; ++k) {
    const int bz = k >> 2, by = (k >> 1) & 1, bx = k & 1;
    const int64_t iz = pt.lo[0] + bz, iy = pt.lo[1] + by, ix = pt.lo[2] + bx;
    const float w = (bz ? pt.frac[0] : 1 - pt.frac[0]) * (by ? pt.frac[1] : 1 - pt.frac[1]) *
                    (bx ? pt.frac[2] : 1 - pt.frac[2]);
    const bool inside = iz >= 0 && iz < in[0] && iy >= 0 && iy < in[1] && ix >= 0 && ix < in[2];
    c.weight[k] = w;
    c.inside[k] = inside;
    c.index[k] = inside ? (iz * in[1] + iy) * in[2] + ix : 0;
    if (w > best) {
      best = w;
      c.nearest = k;
    }
  }
  return c;
}

// Per-label linear interpolation + argmax over the (at most 9) labels among the corners.
int8_t interpolate_label(const int8_t* in, const Corners& c) {
  constexpr float kTieTolerance = 2.5e-4f;  // nnU-Net compares fp16 scores; near ties are ties
  int8_t labels[8];
  float scores[8];
  int n = 0;
  for (int k = 0; k < 8; ++k) {
    const int8_t label = c.inside[k] ? in[c.index[k]] : int8_t{-1};
    int i = 0;
    while (i < n && labels[i] != label) ++i;
    if (i == n) {
      labels[n] = label;
      scores[n++] = 0;
    }
    scores[i] += c.weight[k];
  }
  const int8_t nearest = c.inside[c.nearest] ? in[c.index[c.nearest]] : int8_t{-1};
  float best = scores[0];
  for (int i = 1; i < n; ++i) best = std::max(best, scores[i]);
  int8_t lowest_tied = 127;
  for (int i = 0; i < n; ++i) {
    if (scores[i] < best - kTieTolerance) continue;
    if (labels[i] == nearest) return nearest;
    lowest_tied = std::min(lowest_tied, labels[i]);
  }
  return lowest_tied;
}

// The label of an inside point whose neighbours all agree (most points), else -2.
int8_t uniform_label(const int8_t* p, const int64_t d[3]) {
  const int8_t l = p[0];
  const bool same = p[d[2]] == l && p[d[1]] == l && p[d[1] + d[2]] == l && p[d[0]] == l &&
                    p[d[0] + d[2]] == l && p[d[0] + d[1]] == l && p[d[0] + d[1] + d[2]] == l;
  return same ? l : int8_t{-2};
}

// One output voxel of every channel and label map.
void resample_point(const Sample& in, int64_t o, const Point& pt, Sample& out) {
  const int64_t in_voxels = in.voxels(), out_voxels = out.voxels();
  if (all_neighbours_inside(pt, in.shape)) {
    const int64_t base = (pt.lo[0] * in.shape[1] + pt.lo[1]) * in.shape[2] + pt.lo[2];
    const int64_t d[3] = {pt.step[0] * in.shape[1] * in.shape[2], pt.step[1] * in.shape[2],
                          pt.step[2]};
    for (int ch = 0; ch < in.channels; ++ch) {
      out.image[ch * out_voxels + o] =
          interpolate_inside(in.image.data() + ch * in_voxels, base, d, pt.frac);
    }
    for (int l = 0; l < in.label_channels; ++l) {
      const int8_t* src = in.labels.data() + l * in_voxels;
      const int8_t label = uniform_label(src + base, d);
      out.labels[l * out_voxels + o] =
          label != -2 ? label : interpolate_label(src, corners_of(pt, in.shape));
    }
    return;
  }
  const Corners c = corners_of(pt, in.shape);
  for (int ch = 0; ch < in.channels; ++ch) {
    const float* src = in.image.data() + ch * in_voxels;
    float v = 0;
    for (int k = 0; k < 8; ++k) v += c.inside[k] ? c.weight[k] * src[c.index[k]] : 0.0f;
    out.image[ch * out_voxels + o] = v;
  }
  for (int l = 0; l < in.label_channels; ++l) {
    out.labels[l * out_voxels + o] = interpolate_label(in.labels.data() + l * in_voxels, c);
  }
}

void flip_axis(float* data, int8_t* labels, const Index3& shape, int channels, int label_maps,
               int axis) {
  const int64_t inner = axis == 0 ? shape[1] * shape[2] : axis == 1 ? shape[2] : 1;
  const int64_t n = shape[axis];
  const int64_t outer = (shape[0] * shape[1] * shape[2]) / (inner * n);
  auto flip_block = [&](auto* base) {
    for (int64_t b = 0; b < outer; ++b) {
      auto* block = base + b * n * inner;
      for (int64_t i = 0; i < n / 2; ++i) {
        auto* lo = block + i * inner;
        auto* hi = block + (n - 1 - i) * inner;
        for (int64_t j = 0; j < inner; ++j) std::swap(lo[j], hi[j]);
      }
    }
  };
  const int64_t voxels = shape[0] * shape[1] * shape[2];
  for (int c = 0; c < channels; ++c) flip_block(data + c * voxels);
  for (int l = 0; l < label_maps; ++l) flip_block(labels + l * voxels);
}

}  // namespace

Matrix3 rotation_scaling_matrix(const std::array<double, 3>& angles, double scale) {
  const double c0 = std::cos(angles[0]), s0 = std::sin(angles[0]);
  const double c1 = std::cos(angles[1]), s1 = std::sin(angles[1]);
  const double c2 = std::cos(angles[2]), s2 = std::sin(angles[2]);
  const Matrix3 rx{{{1, 0, 0}, {0, c0, -s0}, {0, s0, c0}}};
  const Matrix3 ry{{{c1, 0, s1}, {0, 1, 0}, {-s1, 0, c1}}};
  const Matrix3 rz{{{c2, -s2, 0}, {s2, c2, 0}, {0, 0, 1}}};
  Matrix3 m = multiply(multiply(rz, ry), rx);
  for (auto& row : m) {
    for (double& v : row) v *= scale;
  }
  return m;
}

Matrix3 in_plane_rotation_scaling_matrix(double angle, double scale) {
  const double c = std::cos(angle), s = std::sin(angle);
  return Matrix3{{{1, 0, 0}, {0, c * scale, -s * scale}, {0, s * scale, c * scale}}};
}

void crop_center(const Sample& in, const Index3& out_shape, Sample& out) {
  out.resize(in.channels, in.label_channels, out_shape);
  std::fill(out.image.begin(), out.image.end(), 0.0f);
  std::fill(out.labels.begin(), out.labels.end(), int8_t{-1});
  Index3 start, lo, hi;  // input start; valid output range [lo, hi) per axis
  for (int a = 0; a < 3; ++a) {
    start[a] = in.shape[a] / 2 - out_shape[a] / 2;
    lo[a] = std::max<int64_t>(0, -start[a]);
    hi[a] = std::min<int64_t>(out_shape[a], in.shape[a] - start[a]);
    if (hi[a] <= lo[a]) return;
  }
  const int64_t row = hi[2] - lo[2];
  for (int64_t z = lo[0]; z < hi[0]; ++z) {
    for (int64_t y = lo[1]; y < hi[1]; ++y) {
      const int64_t src =
          ((z + start[0]) * in.shape[1] + (y + start[1])) * in.shape[2] + lo[2] + start[2];
      const int64_t dst = (z * out_shape[1] + y) * out_shape[2] + lo[2];
      for (int c = 0; c < in.channels; ++c) {
        std::memcpy(out.channel(c) + dst, in.channel(c) + src, row * sizeof(float));
      }
      for (int l = 0; l < in.label_channels; ++l) {
        std::memcpy(out.label_map(l) + dst, in.label_map(l) + src, row);
      }
    }
  }
}

void resample(const Sample& in, const Matrix3& m, const Index3& out_shape, Sample& out) {
  NNFLEET_CHECK(&in != &out, "resample needs distinct input and output");
  out.resize(in.channels, in.label_channels, out_shape);
  for_each_sample_point(in.shape, m, out_shape,
                        [&](int64_t o, const Point& pt) { resample_point(in, o, pt, out); });
}

void mirror(Sample& sample, const std::array<bool, 3>& flip) {
  for (int a = 0; a < 3; ++a) {
    if (flip[a] && sample.shape[a] > 1) {
      flip_axis(sample.image.data(), sample.labels.data(), sample.shape, sample.channels,
                sample.label_channels, a);
    }
  }
}

}  // namespace nnfleet::worker
