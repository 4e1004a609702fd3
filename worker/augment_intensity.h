#pragma once
// Intensity transforms on one image channel stored as a C-order (z, y, x) float array, as
// batchgeneratorsv2 defines them (method doc 5.5 steps 4-10). Plain arrays, no LibTorch; each
// function works in place and allocates only into the scratch vectors it is given.

#include <array>
#include <cstdint>
#include <vector>

#include "worker/case_reader.h"
#include "worker/random.h"

namespace nnfleet::worker {

// x += N(0, sigma^2) per voxel.
void add_gaussian_noise(float* x, int64_t n, double sigma, Rng& rng);

// Separable Gaussian smoothing with sigma[a] voxels along axis a (0 = z, 1 = y, 2 = x); kernel
// radius round-to-odd(4 sigma + 0.5) // 2, mirror ("reflect") padding. Axes with sigma <= 0 or
// size 1 are skipped.
void gaussian_blur(float* x, const Index3& shape, const std::array<double, 3>& sigma,
                   std::vector<float>& scratch);

// x *= factor.
void multiply_brightness(float* x, int64_t n, double factor);

// x = (x - mean) * factor + mean, then clipped to the channel's original [min, max].
void adjust_contrast(float* x, int64_t n, double factor);

// Downsamples to round(shape * zoom) (axes with keep_axis true keep their size) with nearest-exact
// and upsamples back with linear interpolation (align_corners false).
void simulate_low_resolution(float* x, const Index3& shape, double zoom,
                             const std::array<bool, 3>& keep_axis, std::vector<float>& scratch);

// x' = ((x - min) / max(range, 1e-7))^gamma * range + min; with `retain_stats` the mean and the
// (unbiased) standard deviation are restored afterwards; with `invert` the transform is applied
// to -x and the result negated back.
void apply_gamma(float* x, int64_t n, double gamma, bool invert, bool retain_stats);

// nnU-Net's "BG contrast" draw for a range (lo, hi) around 1: with probability 0.5 U(lo, 1), else
// U(max(lo, 1), hi).
double draw_around_one(Rng& rng, double lo, double hi);

}  // namespace nnfleet::worker
