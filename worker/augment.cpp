#include "worker/augment.h"

#include <utility>

#include "worker/augment_intensity.h"
#include "worker/augment_spatial.h"

namespace nnfleet::worker {
namespace {

// Probabilities and ranges of nnU-Net v2's default training transforms (method doc 5.5).
constexpr double kPRotation = 0.2, kPScaling = 0.2, kScaleLo = 0.7, kScaleHi = 1.4;
constexpr double kPNoise = 0.1, kNoiseSigmaHi = 0.1;
constexpr double kPBlur = 0.2, kPBlurChannel = 0.5, kBlurSigmaLo = 0.5, kBlurSigmaHi = 1.0;
constexpr double kPBrightness = 0.15, kBrightnessLo = 0.75, kBrightnessHi = 1.25;
constexpr double kPContrast = 0.15, kContrastLo = 0.75, kContrastHi = 1.25;
constexpr double kPLowRes = 0.25, kPLowResChannel = 0.5, kLowResZoomLo = 0.5, kLowResZoomHi = 1.0;
constexpr double kPInvertedGamma = 0.1, kPGamma = 0.3, kGammaLo = 0.7, kGammaHi = 1.5;
constexpr double kPMirror = 0.5;

// Step 2 (with the dummy-2D fold of steps 1 and 3): rotation and scaling, or a plain centred crop.
void spatial_step(Sample& sample, const SpatialSetup& setup, Rng& rng, AugmentScratch& scratch) {
  const bool rotate = rng.bernoulli(kPRotation);
  const bool scale = rng.bernoulli(kPScaling);
  if (!rotate && !scale) {
    crop_center(sample, setup.final_patch, scratch.spatial_out);
    std::swap(sample, scratch.spatial_out);
    return;
  }
  const double r = setup.max_rotation_rad;
  const double factor = scale ? rng.uniform(kScaleLo, kScaleHi) : 1.0;
  Matrix3 m;
  if (setup.dim == 2 || setup.dummy_2d) {
    m = in_plane_rotation_scaling_matrix(rotate ? rng.uniform(-r, r) : 0.0, factor);
  } else {
    std::array<double, 3> angles{0, 0, 0};
    if (rotate) {
      for (double& a : angles) a = rng.uniform(-r, r);
    }
    m = rotation_scaling_matrix(angles, factor);
  }
  resample(sample, m, setup.final_patch, scratch.spatial_out);
  std::swap(sample, scratch.spatial_out);
}

// Steps 4-10 on the image channels.
void intensity_steps(Sample& s, const SpatialSetup& setup, Rng& rng, AugmentScratch& scratch) {
  const int64_t n = s.voxels();
  if (rng.bernoulli(kPNoise)) {
    const double sigma = rng.uniform(0.0, kNoiseSigmaHi);
    for (int c = 0; c < s.channels; ++c) add_gaussian_noise(s.channel(c), n, sigma, rng);
  }
  if (rng.bernoulli(kPBlur)) {
    for (int c = 0; c < s.channels; ++c) {
      if (!rng.bernoulli(kPBlurChannel)) continue;
      std::array<double, 3> sigma;
      for (double& v : sigma) v = rng.uniform(kBlurSigmaLo, kBlurSigmaHi);
      gaussian_blur(s.channel(c), s.shape, sigma, scratch.line);
    }
  }
  if (rng.bernoulli(kPBrightness)) {
    for (int c = 0; c < s.channels; ++c) {
      multiply_brightness(s.channel(c), n, draw_around_one(rng, kBrightnessLo, kBrightnessHi));
    }
  }
  if (rng.bernoulli(kPContrast)) {
    for (int c = 0; c < s.channels; ++c) {
      adjust_contrast(s.channel(c), n, draw_around_one(rng, kContrastLo, kContrastHi));
    }
  }
  if (rng.bernoulli(kPLowRes)) {
    const std::array<bool, 3> keep{setup.dim == 2 || setup.dummy_2d, false, false};
    for (int c = 0; c < s.channels; ++c) {
      if (!rng.bernoulli(kPLowResChannel)) continue;
      const double zoom = rng.uniform(kLowResZoomLo, kLowResZoomHi);
      simulate_low_resolution(s.channel(c), s.shape, zoom, keep, scratch.plane);
    }
  }
  for (const auto& [p, invert] : {std::pair{kPInvertedGamma, true}, std::pair{kPGamma, false}}) {
    if (!rng.bernoulli(p)) continue;
    for (int c = 0; c < s.channels; ++c) {
      apply_gamma(s.channel(c), n, draw_around_one(rng, kGammaLo, kGammaHi), invert, true);
    }
  }
}

}  // namespace

void augment_sample(Sample& sample, const AugmentSetup& setup, Rng& rng, AugmentScratch& scratch) {
  spatial_step(sample, setup.spatial, rng, scratch);
  intensity_steps(sample, setup.spatial, rng, scratch);
  std::array<bool, 3> flip{false, false, false};
  for (int a = 0; a < 3; ++a) flip[a] = setup.mirror_axes[a] && rng.bernoulli(kPMirror);
  mirror(sample, flip);
}

}  // namespace nnfleet::worker
