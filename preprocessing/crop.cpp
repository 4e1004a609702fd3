#include "preprocessing/crop.h"

#include <algorithm>

namespace nnfleet::preprocessing {

std::vector<uint8_t> nonzero_mask(const float* data, int channels, const Shape3& shape) {
  const int64_t n = volume_of(shape);
  std::vector<uint8_t> mask(static_cast<size_t>(n), 0);
  for (int c = 0; c < channels; ++c) {
    const float* channel = data + c * n;
    for (int64_t i = 0; i < n; ++i) mask[i] |= channel[i] != 0.0f;
  }
  fill_holes(mask, shape);
  return mask;
}

void fill_holes(std::vector<uint8_t>& mask, const Shape3& shape) {
  // Flood the background from the border; background not reached is a hole.
  const int64_t nz = shape[0], ny = shape[1], nx = shape[2];
  std::vector<uint8_t> outside(mask.size(), 0);
  std::vector<int64_t> stack;
  auto seed = [&](int64_t z, int64_t y, int64_t x) {
    const int64_t i = (z * ny + y) * nx + x;
    if (!mask[i] && !outside[i]) {
      outside[i] = 1;
      stack.push_back(i);
    }
  };
  for (int64_t z = 0; z < nz; ++z)
    for (int64_t y = 0; y < ny; ++y)
      for (int64_t x = 0; x < nx; ++x)
        if (z == 0 || z == nz - 1 || y == 0 || y == ny - 1 || x == 0 || x == nx - 1) seed(z, y, x);
  while (!stack.empty()) {
    const int64_t i = stack.back();
    stack.pop_back();
    const int64_t x = i % nx, y = (i / nx) % ny, z = i / (nx * ny);
    if (x > 0) seed(z, y, x - 1);
    if (x + 1 < nx) seed(z, y, x + 1);
    if (y > 0) seed(z, y - 1, x);
    if (y + 1 < ny) seed(z, y + 1, x);
    if (z > 0) seed(z - 1, y, x);
    if (z + 1 < nz) seed(z + 1, y, x);
  }
  for (size_t i = 0; i < mask.size(); ++i) mask[i] = !outside[i];
}

BoundingBox bounding_box(const std::vector<uint8_t>& mask, const Shape3& shape) {
  BoundingBox box;
  box.lo = shape;
  box.hi = {0, 0, 0};
  size_t i = 0;
  for (int64_t z = 0; z < shape[0]; ++z)
    for (int64_t y = 0; y < shape[1]; ++y)
      for (int64_t x = 0; x < shape[2]; ++x, ++i) {
        if (!mask[i]) continue;
        const Shape3 p{z, y, x};
        for (int a = 0; a < 3; ++a) {
          box.lo[a] = std::min(box.lo[a], p[a]);
          box.hi[a] = std::max(box.hi[a], p[a] + 1);
        }
      }
  if (box.hi[0] == 0) return BoundingBox{{0, 0, 0}, shape};
  return box;
}

template <typename T>
std::vector<T> crop(const T* data, int channels, const Shape3& shape, const BoundingBox& box) {
  const Shape3 out_shape = box.shape();
  std::vector<T> out(static_cast<size_t>(channels * volume_of(out_shape)));
  auto dst = out.begin();
  for (int c = 0; c < channels; ++c)
    for (int64_t z = box.lo[0]; z < box.hi[0]; ++z)
      for (int64_t y = box.lo[1]; y < box.hi[1]; ++y) {
        const T* row = data + ((c * shape[0] + z) * shape[1] + y) * shape[2];
        dst = std::copy(row + box.lo[2], row + box.hi[2], dst);
      }
  return out;
}

template std::vector<float> crop(const float*, int, const Shape3&, const BoundingBox&);
template std::vector<uint8_t> crop(const uint8_t*, int, const Shape3&, const BoundingBox&);
template std::vector<int8_t> crop(const int8_t*, int, const Shape3&, const BoundingBox&);

CroppedCase crop_to_nonzero(const std::vector<float>& data, int channels, const Shape3& shape,
                            const uint8_t* label) {
  CroppedCase out;
  out.channels = channels;
  out.shape_before = shape;
  const std::vector<uint8_t> mask = nonzero_mask(data.data(), channels, shape);
  out.box = bounding_box(mask, shape);
  out.data = crop(data.data(), channels, shape, out.box);
  const std::vector<uint8_t> mask_cropped = crop(mask.data(), 1, shape, out.box);
  out.seg.resize(mask_cropped.size());
  if (label) {
    const std::vector<uint8_t> seg = crop(label, 1, shape, out.box);
    for (size_t i = 0; i < seg.size(); ++i) {
      out.seg[i] = (seg[i] == 0 && !mask_cropped[i]) ? int8_t{-1} : static_cast<int8_t>(seg[i]);
    }
  } else {
    for (size_t i = 0; i < mask_cropped.size(); ++i) out.seg[i] = mask_cropped[i] ? 0 : -1;
  }
  return out;
}

}  // namespace nnfleet::preprocessing
