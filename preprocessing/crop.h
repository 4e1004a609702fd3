#pragma once
// Crop to the non-zero region (method section 2.1). Arrays are C-order (C, Z, Y, X); boxes and
// shapes are in array order (z, y, x) and half-open [lo, hi).

#include <array>
#include <cstdint>
#include <vector>

namespace nnfleet::preprocessing {

using Shape3 = std::array<int64_t, 3>;  // (z, y, x)

inline int64_t volume_of(const Shape3& s) { return s[0] * s[1] * s[2]; }

struct BoundingBox {
  Shape3 lo{0, 0, 0};
  Shape3 hi{0, 0, 0};
  Shape3 shape() const { return {hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]}; }
};

// 1 where any channel is non-zero, with holes filled (background regions not connected to the
// array border through 6-neighbourhood, as scipy's binary_fill_holes with its default structure).
std::vector<uint8_t> nonzero_mask(const float* data, int channels, const Shape3& shape);

// Fills holes of a binary mask in place (see nonzero_mask).
void fill_holes(std::vector<uint8_t>& mask, const Shape3& shape);

// Smallest box holding every set voxel; the whole array when the mask is empty.
BoundingBox bounding_box(const std::vector<uint8_t>& mask, const Shape3& shape);

// Copies the box out of a (channels, shape) array.
template <typename T>
std::vector<T> crop(const T* data, int channels, const Shape3& shape, const BoundingBox& box);

// The result of cropping a case: data (C, box shape), seg (1, box shape) with -1 where the label is
// 0 and the voxel is outside the non-zero mask (or, without label, 0 inside and -1 outside).
struct CroppedCase {
  std::vector<float> data;
  std::vector<int8_t> seg;
  int channels = 1;
  Shape3 shape_before{0, 0, 0};
  BoundingBox box;
  Shape3 shape() const { return box.shape(); }
};

// `label` may be null (inference). Labels above 127 are not representable (int8) and are
// rejected earlier by validation.
CroppedCase crop_to_nonzero(const std::vector<float>& data, int channels, const Shape3& shape,
                            const uint8_t* label);

}  // namespace nnfleet::preprocessing
