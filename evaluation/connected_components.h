#pragma once
// Connected components of a binary 3-D mask with full connectivity (26 neighbours in 3-D, as
// skimage.measure.label's default connectivity, which nnU-Net v2's postprocessing uses).

#include <array>
#include <cstdint>
#include <vector>

namespace nnfleet::evaluation {

// Returns a mask (1 = keep) of the voxels of `mask` (non-zero = foreground) that belong to a
// largest connected component; every component whose size equals the maximum is kept, as in
// acvl_utils' remove_all_but_largest_component. An empty mask gives an all-zero result.
// Precondition: mask.size() == shape_zyx[0] * shape_zyx[1] * shape_zyx[2] < 2^32.
std::vector<uint8_t> largest_components(const std::vector<uint8_t>& mask,
                                        const std::array<int64_t, 3>& shape_zyx);

// Labels components 1..N (0 = background) in raster order of their first voxel; returns N.
// `labels` is resized to the mask's size.
int64_t label_components(const std::vector<uint8_t>& mask, const std::array<int64_t, 3>& shape_zyx,
                         std::vector<uint32_t>& labels);

}  // namespace nnfleet::evaluation
