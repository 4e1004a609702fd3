#pragma once
// Sliding-window geometry of nnU-Net v2 inference (method reference, section 6.2), without
// LibTorch: tile positions, the Gaussian importance map and the padding of small images.
//
// Axis order: every vector holds spatial axes in array order (z, y, x for 3D; y, x for 2D), sizes
// and positions in voxels of the preprocessed (transposed, cropped, resampled) case.

#include <cstdint>
#include <vector>

namespace nnfleet::worker {

// Tile start positions per axis, as nnunetv2's compute_steps_for_sliding_window:
//   n = ceil((S - P) / (P * step)) + 1 positions, round(i * (S - P) / (n - 1)) (round half to
//   even, like numpy), first at 0 and last at S - P; a single position 0 when S == P.
// Preconditions (nnfleet::Error otherwise): same number of axes, image_size >= tile_size on every
// axis (pad first, see padding_for_tile), 0 < step_size <= 1.
std::vector<std::vector<int64_t>> sliding_window_steps(const std::vector<int64_t>& image_size,
                                                       const std::vector<int64_t>& tile_size,
                                                       double step_size);

// Gaussian importance map over one tile, C-order over tile_size, as nnunetv2's compute_gaussian
// before its dtype cast: a unit impulse at tile_size // 2 smoothed with scipy's gaussian_filter
// (sigma_a = tile_a * sigma_scale, truncate 4, mode constant 0), scaled so that its maximum is
// value_scaling. Entries beyond the truncation radius are exactly 0; callers replace zeros by the
// smallest non-zero entry after casting to their accumulation type (see replace_zeros_by_min).
std::vector<double> gaussian_importance_map(const std::vector<int64_t>& tile_size,
                                            double sigma_scale = 1.0 / 8,
                                            double value_scaling = 10.0);

// nnU-Net's rule that keeps the weights strictly positive (no division by zero where only the
// tails of tiles reach): every 0 becomes the smallest non-zero value. In place.
void replace_zeros_by_min(std::vector<float>& map);

// Zero padding that makes every axis at least the tile size, centred with the odd voxel on the
// upper side (acvl_utils pad_nd_image): before = (P - S) // 2 where S < P, else 0.
struct TilePadding {
  std::vector<int64_t> image_shape;   // S per axis
  std::vector<int64_t> before;        // voxels added below, per axis
  std::vector<int64_t> padded_shape;  // max(S, P) per axis
  bool needed() const { return padded_shape != image_shape; }
};
TilePadding padding_for_tile(const std::vector<int64_t>& image_size,
                             const std::vector<int64_t>& tile_size);

}  // namespace nnfleet::worker
