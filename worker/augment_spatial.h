#pragma once
// Spatial transforms on plain arrays (no LibTorch): centred crop, rotation + scaling resampling,
// mirroring. Geometry follows batchgeneratorsv2's SpatialTransform as nnU-Net v2 uses it (method
// doc 5.5 step 2): the output grid is centred on the input's centre; an output voxel at offset d
// from the output centre ((size - 1) / 2 per axis) samples the input at
//     p = (in_size - 1) / 2 + M d        (column vectors, array axes (z, y, x), voxel units)
// where M = Rz Ry Rx S (rotation about axes 2, 1, 0 after the uniform scale S; scale > 1 zooms
// out). Images are sampled trilinearly with zero padding; label maps by per-label linear
// interpolation and argmax, the outside counting as label -1, ties settled by the nearest
// neighbour's label when it is among the tied ones, else by the lowest label.

#include <array>
#include <vector>

#include "worker/sample.h"

namespace nnfleet::worker {

using Matrix3 = std::array<std::array<double, 3>, 3>;

// M = Rz(angles[2]) Ry(angles[1]) Rx(angles[0]) * scale (angles in radians, about array axes
// 0, 1, 2).
Matrix3 rotation_scaling_matrix(const std::array<double, 3>& angles, double scale);
// In-plane variant (2D and dummy-2D patches): rotation of the (y, x) plane by `angle` and scaling
// of y and x; axis 0 is left as it is (identity), so each z slice is transformed on its own.
Matrix3 in_plane_rotation_scaling_matrix(double angle, double scale);

// Integer crop of `in` to `out_shape` around floor(in_size / 2): start = floor(in / 2) - out // 2
// per axis; parts outside the input get 0 (image) and -1 (labels).
void crop_center(const Sample& in, const Index3& out_shape, Sample& out);

// Resamples all image channels and label maps of `in` onto an `out_shape` grid through `m`.
// `out` is resized; `in` and `out` must be different objects.
void resample(const Sample& in, const Matrix3& m, const Index3& out_shape, Sample& out);

// Flips every image channel and label map of `sample` along each spatial axis a (0 = z, 1 = y,
// 2 = x) with flip[a] true.
void mirror(Sample& sample, const std::array<bool, 3>& flip);

}  // namespace nnfleet::worker
