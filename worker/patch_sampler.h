#pragma once
// Where training patches are cut: nnU-Net v2's batch split, foreground oversampling, enlarged
// pre-augmentation patch and crop box (method doc 5.4 and 11.1). No LibTorch, no I/O.
//
// Axis order is always the array order (z, y, x) in voxels. A 2D configuration is handled as a 3D
// one with a patch of depth 1 ((1, y, x)), so its crops pick a slice of the 3D volume, as nnU-Net
// v2 does.

#include <cstdint>
#include <vector>

#include "worker/case_reader.h"
#include "worker/random.h"

namespace nnfleet::worker {

// This rank's contiguous range [start, start + count) of the global batch's sample indices:
// global // size samples each, one more for the first global % size ranks. Throws nnfleet::Error
// when the global batch is smaller than the group or the rank is out of range.
struct RankShare {
  int start = 0;
  int count = 0;
};
RankShare rank_share(int global_batch, int group_rank, int group_size);

// True for each local sample of this rank whose global index i is forced to contain foreground:
// i >= round(global_batch * (1 - oversample)) (Python rounding: halves to even).
std::vector<bool> foreground_flags_for_rank(int global_batch, int group_rank, int group_size,
                                            double oversample);

// Spatial augmentation set-up derived from the configuration's patch size, as nnU-Net's trainer
// configures it (method doc 5.4, 5.5).
struct SpatialSetup {
  int dim = 3;                    // 2 or 3 spatial axes in the configuration's patch
  Index3 final_patch{1, 1, 1};    // (z, y, x); z == 1 for 2D
  Index3 initial_patch{1, 1, 1};  // enlarged pre-augmentation patch; == final_patch without aug
  bool dummy_2d = false;          // 3D patch with max(patch) / patch[0] > 3: in-plane augmentation
  double max_rotation_rad = 0;    // rotation angles are drawn from U(-max, max) per rotated axis
};
// `patch_size` has 2 (y, x) or 3 (z, y, x) entries. Without augmentation the initial patch is the
// final one (the pseudo-validation loader).
SpatialSetup make_spatial_setup(const std::vector<int64_t>& patch_size, bool augment);

// nnU-Net's enlarged patch: the component-wise maximum of |R p| over rotations by +-max_rotation
// (capped at 90 degrees) about each axis, divided by 0.85, truncated to integers. `dim` 2 rotates
// the (y, x) plane only.
Index3 enlarged_patch_size(const Index3& final_patch, int dim, double max_rotation_rad);

// The crop box of size `patch` in a case of spatial shape `shape` (nnU-Net v2's get_bbox):
// need_to_pad = patch - final_patch, widened so that the image fills the patch; a random lower
// corner is uniform in [floor(-need/2), shape + need//2 + need%2 - patch] per axis; a forced
// foreground box picks a class uniformly among those with stored locations, one of its voxels
// uniformly, and centres the patch on it (lower corner clamped from below only). Falls back to a
// random box when the case has no foreground locations.
Box choose_crop_box(const CaseInfo& info, const Index3& patch, const Index3& final_patch,
                    bool force_foreground, Rng& rng);

}  // namespace nnfleet::worker
