#pragma once
// Label post-processing after augmentation (method doc 5.5 steps 13, 14, 16): -1 -> 0, the
// previous stage's segmentation as one-hot image channels (cascade), and the deep-supervision
// targets (nearest-exact downsampling like nnU-Net's DownsampleSegForDSTransform). Plain arrays.

#include <cstdint>
#include <vector>

#include "worker/sample.h"

namespace nnfleet::worker {

// Shape of a deep-supervision target: round(shape[a] * scale[a]) (halves to even, as Python), at
// least 1.
Index3 scaled_shape(const Index3& shape, const std::array<double, 3>& scale);

// Nearest-exact downsampling (torch's "nearest-exact": source index floor((i + 0.5) * in / out),
// at most in - 1) of one label map to `out_shape`, written as float label values.
void downsample_labels(const int8_t* in, const Index3& in_shape, const Index3& out_shape,
                       float* out);

// Sets image voxels to 0 where the label is negative (outside the non-zero mask): nnU-Net's
// MaskImageTransform for channels normalised with use_mask_for_norm (method doc 5.5 step 12).
void zero_outside_mask(float* image, const int8_t* labels, int64_t n);

// Replaces `from` by `to` in `n` labels.
void replace_label(int8_t* labels, int64_t n, int8_t from, int8_t to);

// Appends one image channel per foreground label (labels other than 0, in the order given) that
// is 1 where label map `label_map` equals the label, else 0, and removes that label map.
void move_labels_to_one_hot_channels(Sample& sample, int label_map,
                                     const std::vector<int>& foreground_labels);

}  // namespace nnfleet::worker
