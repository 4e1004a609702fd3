#pragma once
// One training sample on its way through the loader: image channels and label maps on the same
// spatial grid. Plain arrays, no LibTorch (see worker/data_loader.cpp for the conversion).

#include <cstdint>
#include <vector>

#include "worker/case_reader.h"

namespace nnfleet::worker {

struct Sample {
  int channels = 0;            // image channels C
  int label_channels = 0;      // label maps: 1 (seg) or 2 (seg, previous stage seg)
  Index3 shape{0, 0, 0};       // spatial shape (z, y, x), voxels
  std::vector<float> image;    // (C, z, y, x), C-order
  std::vector<int8_t> labels;  // (L, z, y, x), C-order; -1 = outside the image / non-zero mask

  int64_t voxels() const { return shape[0] * shape[1] * shape[2]; }
  // Sets the shape and sizes both buffers (contents unspecified).
  void resize(int image_channels, int label_maps, const Index3& spatial_shape) {
    channels = image_channels;
    label_channels = label_maps;
    shape = spatial_shape;
    image.resize(static_cast<size_t>(channels) * voxels());
    labels.resize(static_cast<size_t>(label_channels) * voxels());
  }
  float* channel(int c) { return image.data() + static_cast<int64_t>(c) * voxels(); }
  const float* channel(int c) const { return image.data() + static_cast<int64_t>(c) * voxels(); }
  int8_t* label_map(int l) { return labels.data() + static_cast<int64_t>(l) * voxels(); }
  const int8_t* label_map(int l) const {
    return labels.data() + static_cast<int64_t>(l) * voxels();
  }
};

}  // namespace nnfleet::worker
