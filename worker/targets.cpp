#include "worker/targets.h"

#include <algorithm>
#include <cmath>

namespace nnfleet::worker {
namespace {

// Source index per output index along one axis, nearest-exact.
std::vector<int64_t> nearest_exact_indices(int64_t in, int64_t out) {
  std::vector<int64_t> index(out);
  const double ratio = static_cast<double>(in) / static_cast<double>(out);
  for (int64_t i = 0; i < out; ++i) {
    index[i] = std::min<int64_t>(static_cast<int64_t>(std::floor((i + 0.5) * ratio)), in - 1);
  }
  return index;
}

}  // namespace

Index3 scaled_shape(const Index3& shape, const std::array<double, 3>& scale) {
  Index3 out;
  for (int a = 0; a < 3; ++a) {
    out[a] = std::max<int64_t>(1, static_cast<int64_t>(std::nearbyint(shape[a] * scale[a])));
  }
  return out;
}

void downsample_labels(const int8_t* in, const Index3& in_shape, const Index3& out_shape,
                       float* out) {
  const auto iz = nearest_exact_indices(in_shape[0], out_shape[0]);
  const auto iy = nearest_exact_indices(in_shape[1], out_shape[1]);
  const auto ix = nearest_exact_indices(in_shape[2], out_shape[2]);
  for (int64_t z = 0; z < out_shape[0]; ++z) {
    for (int64_t y = 0; y < out_shape[1]; ++y) {
      const int8_t* row = in + (iz[z] * in_shape[1] + iy[y]) * in_shape[2];
      for (int64_t x = 0; x < out_shape[2]; ++x) *out++ = static_cast<float>(row[ix[x]]);
    }
  }
}

void zero_outside_mask(float* image, const int8_t* labels, int64_t n) {
  for (int64_t i = 0; i < n; ++i) image[i] = labels[i] < 0 ? 0.0f : image[i];
}

void replace_label(int8_t* labels, int64_t n, int8_t from, int8_t to) {
  for (int64_t i = 0; i < n; ++i) labels[i] = labels[i] == from ? to : labels[i];
}

void move_labels_to_one_hot_channels(Sample& sample, int label_map,
                                     const std::vector<int>& foreground_labels) {
  const int64_t n = sample.voxels();
  const int old_channels = sample.channels;
  sample.image.resize(static_cast<size_t>(old_channels + foreground_labels.size()) * n);
  const int8_t* source = sample.label_map(label_map);
  for (size_t k = 0; k < foreground_labels.size(); ++k) {
    float* dst = sample.image.data() + (old_channels + static_cast<int64_t>(k)) * n;
    const int8_t label = static_cast<int8_t>(foreground_labels[k]);
    for (int64_t i = 0; i < n; ++i) dst[i] = source[i] == label ? 1.0f : 0.0f;
  }
  sample.channels = old_channels + static_cast<int>(foreground_labels.size());
  sample.labels.erase(sample.labels.begin() + label_map * n,
                      sample.labels.begin() + (label_map + 1) * n);
  sample.label_channels -= 1;
}

}  // namespace nnfleet::worker
