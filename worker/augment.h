#pragma once
// nnU-Net v2's training augmentation (batchgeneratorsv2 pipeline, method doc 5.5 steps 2-11) for
// one sample, on plain arrays: spatial (rotation p 0.2, scaling p 0.2 in [0.7, 1.4], centred crop
// to the final patch; in-plane for 2D and dummy-2D), Gaussian noise, Gaussian blur, brightness,
// contrast, low-resolution simulation, inverted gamma, gamma, mirroring. Every random choice is
// drawn from the sample's Rng (Note [loader determinism] in worker/random.h).

#include <array>

#include "worker/patch_sampler.h"
#include "worker/random.h"
#include "worker/sample.h"

namespace nnfleet::worker {

struct AugmentSetup {
  SpatialSetup spatial;                                  // patch sizes, dummy-2D, rotation range
  std::array<bool, 3> mirror_axes{false, false, false};  // array axes (z, y, x) that may flip
};

// Reusable buffers of one worker thread, so that steady-state batches allocate nothing.
struct AugmentScratch {
  Sample spatial_out;
  std::vector<float> line;   // one padded line for the separable filters
  std::vector<float> plane;  // low-resolution simulation
};

// Applies the pipeline to `sample` (cut at setup.spatial.initial_patch) and leaves the result, of
// shape setup.spatial.final_patch, in `sample`. Label maps go through the spatial transform and
// mirroring only.
void augment_sample(Sample& sample, const AugmentSetup& setup, Rng& rng, AugmentScratch& scratch);

}  // namespace nnfleet::worker
