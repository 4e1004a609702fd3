#pragma once
// Intensity normalisation per channel (method section 4.2, nnU-Net v2 classes):
//  ZScoreNormalization   (x - mean) / max(std, 1e-8); with use_mask, statistics and the change
//                        only where seg >= 0 (inside the non-zero mask), other voxels unchanged
//  CTNormalization       clip to the dataset's foreground [percentile_00_5, percentile_99_5], then
//                        (x - mean_fg) / max(std_fg, 1e-8)
//  NoNormalization       unchanged
//  RescaleTo01Normalization  (x - min) / max(max - min, 1e-8)
//  RGBTo01Normalization  x / 255
// Statistics are accumulated in double precision; constant images stay finite.

#include <string>
#include <vector>

#include "preprocessing/fingerprint.h"

namespace nnfleet::preprocessing {

// Normalises `n` voxels of one channel in place. `seg` (same length, -1 outside the mask) is used
// only with use_mask. Throws nnfleet::Error for an unknown scheme.
void normalize_channel(float* data, int64_t n, const int8_t* seg, const std::string& scheme,
                       bool use_mask, const IntensityStats& foreground);

}  // namespace nnfleet::preprocessing
