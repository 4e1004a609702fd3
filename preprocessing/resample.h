#pragma once
// Resampling as nnU-Net v2's resample_data_or_seg_to_shape (method section 4.3), reproduced
// numerically: images with cubic B-splines (scipy.ndimage.zoom order 3, grid mode, edge padding of
// 12, output clipped to the input's range as skimage.resize does), segmentations per label with
// linear interpolation of each label's indicator and the argmax over labels (exact ties go to the
// nearest-neighbour label when it is tied, else to the smallest tied label). When the spacing is
// anisotropic (max / min > 3, first of the old, then of the new spacing; a maximum shared by two
// axes disables it), slices orthogonal to the coarse axis are resampled in-plane and the coarse
// axis uses nearest-neighbour interpolation ("separate z").
//
// Arrays are C-order (C, Z, Y, X) in the axis order of the caller (after transpose); spacings and
// shapes in the same order.

#include <array>
#include <cstdint>
#include <vector>

#include "preprocessing/crop.h"

namespace nnfleet::preprocessing {

struct SeparateZ {
  bool enabled = false;
  int axis = -1;
};

SeparateZ separate_z_decision(const std::array<double, 3>& old_spacing,
                              const std::array<double, 3>& new_spacing);

std::vector<float> resample_data(const std::vector<float>& data, int channels, const Shape3& shape,
                                 const Shape3& new_shape, const std::array<double, 3>& old_spacing,
                                 const std::array<double, 3>& new_spacing);

std::vector<int8_t> resample_seg(const std::vector<int8_t>& seg, const Shape3& shape,
                                 const Shape3& new_shape, const std::array<double, 3>& old_spacing,
                                 const std::array<double, 3>& new_spacing);

}  // namespace nnfleet::preprocessing
