#pragma once
// Resampling of predicted logits (or probabilities) between the preprocessed grid and another grid
// of the same case, as nnU-Net v2's resampling_fn_probabilities (resample_data_or_seg_to_shape
// with order 1, order_z 0): trilinear (skimage resize, mode "edge", no anti-aliasing, half-voxel
// centres), or, when one axis is anisotropic, bilinear in-plane followed by nearest neighbour
// along that axis. No LibTorch.
//
// Volumes are C-order [K, Z, Y, X] float32; shapes and spacings are in array order (z, y, x) and
// describe the same physical extent before and after (only the voxel grid changes).

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

namespace nnfleet::worker {

using Shape3 = std::array<int64_t, 3>;
using Spacing3 = std::array<double, 3>;

// nnU-Net's separate-z rule (threshold 3): the coarsest axis of `current_spacing` when its
// max/min ratio exceeds the threshold, else that of `new_spacing`; none when the coarsest spacing
// is shared by two or three axes. `force` (plans' force_separate_z) overrides the decision:
// false = never, true = the coarsest axis of current_spacing.
std::optional<int> separate_z_axis(const Spacing3& current_spacing, const Spacing3& new_spacing,
                                   std::optional<bool> force = std::nullopt,
                                   double anisotropy_threshold = 3.0);

// Resamples `channels` volumes of `shape` to `new_shape`. Returns the input unchanged when the
// shapes agree. Precondition: values.size() == channels * prod(shape); all sizes >= 1.
std::vector<float> resample_logits(const std::vector<float>& values, int64_t channels,
                                   const Shape3& shape, const Shape3& new_shape,
                                   const Spacing3& current_spacing, const Spacing3& new_spacing,
                                   std::optional<bool> force_separate_z = std::nullopt);

// The building blocks (exposed for tests): one axis at a time, every channel.
// Linear: source coordinate (o + 0.5) * n_in / n_out - 0.5, edges clamped.
std::vector<float> resize_axis_linear(const std::vector<float>& values, int64_t channels,
                                      const Shape3& shape, int axis, int64_t new_size);
// Nearest neighbour with scipy map_coordinates(order 0, mode "nearest") rounding:
// index floor(c + 0.5) of the same source coordinate c, clamped.
std::vector<float> resize_axis_nearest(const std::vector<float>& values, int64_t channels,
                                       const Shape3& shape, int axis, int64_t new_size);

}  // namespace nnfleet::worker
