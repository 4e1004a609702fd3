#include "worker/patch_sampler.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/error.h"

namespace nnfleet::worker {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kAnisoThreshold = 3.0;
constexpr double kSmallestScale = 0.85;  // nnU-Net keeps v1's lower scale for the enlarged patch

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Row vector p times the rotation about `axis` (0, 1, 2) by `angle`, as batchgenerators'
// rotate_coords_3d does (axis 0 = its "x", the first array axis).
std::array<double, 3> rotate_about(const std::array<double, 3>& p, int axis, double angle) {
  const double c = std::cos(angle), s = std::sin(angle);
  double m[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
  if (axis == 0) {
    m[1][1] = c;
    m[1][2] = -s;
    m[2][1] = s;
    m[2][2] = c;
  } else if (axis == 1) {
    m[0][0] = c;
    m[0][2] = s;
    m[2][0] = -s;
    m[2][2] = c;
  } else {
    m[0][0] = c;
    m[0][1] = -s;
    m[1][0] = s;
    m[1][1] = c;
  }
  std::array<double, 3> out{0, 0, 0};
  for (int j = 0; j < 3; ++j) {
    for (int i = 0; i < 3; ++i) out[j] += p[i] * m[i][j];
  }
  return out;
}

// A class drawn uniformly among those with stored locations; nullptr when there are none.
const std::vector<Index3>* draw_foreground_class(const CaseInfo& info, Rng& rng) {
  std::vector<const std::vector<Index3>*> eligible;
  for (const auto& [label, voxels] : info.class_locations) {
    if (!voxels.empty()) eligible.push_back(&voxels);
  }
  if (eligible.empty()) return nullptr;
  return eligible[rng.randint(0, static_cast<int64_t>(eligible.size()) - 1)];
}

}  // namespace

RankShare rank_share(int global_batch, int group_rank, int group_size) {
  if (group_size < 1 || group_rank < 0 || group_rank >= group_size) {
    throw Error("[data loader] group rank " + std::to_string(group_rank) + " of " +
                std::to_string(group_size) + " is out of range");
  }
  if (global_batch < group_size) {
    throw Error("[data loader] batch size " + std::to_string(global_batch) +
                " is smaller than the group size " + std::to_string(group_size) +
                "; use at most as many ranks per job as the batch size");
  }
  RankShare share;
  const int base = global_batch / group_size, extra = global_batch % group_size;
  share.count = base + (group_rank < extra ? 1 : 0);
  share.start = group_rank * base + std::min(group_rank, extra);
  return share;
}

std::vector<bool> foreground_flags_for_rank(int global_batch, int group_rank, int group_size,
                                            double oversample) {
  const RankShare share = rank_share(global_batch, group_rank, group_size);
  // std::nearbyint rounds halves to even under the default rounding mode, like Python's round.
  const double threshold = std::nearbyint(global_batch * (1.0 - oversample));
  std::vector<bool> flags(share.count);
  for (int j = 0; j < share.count; ++j) flags[j] = (share.start + j) >= threshold;
  return flags;
}

Index3 enlarged_patch_size(const Index3& final_patch, int dim, double max_rotation_rad) {
  const double rot = std::min(std::abs(max_rotation_rad), kPi / 2);
  std::array<double, 3> p{double(final_patch[0]), double(final_patch[1]), double(final_patch[2])};
  std::array<double, 3> largest = p;
  const int rotated_axes = dim == 2 ? 1 : 3;  // 2D: one in-plane rotation (about axis 0)
  for (int axis = 0; axis < rotated_axes; ++axis) {
    const auto r = rotate_about(p, axis, rot);
    for (int a = 0; a < 3; ++a) largest[a] = std::max(largest[a], std::abs(r[a]));
  }
  Index3 out;
  for (int a = 0; a < 3; ++a) out[a] = static_cast<int64_t>(largest[a] / kSmallestScale);
  if (dim == 2) out[0] = final_patch[0];
  return out;
}

SpatialSetup make_spatial_setup(const std::vector<int64_t>& patch_size, bool augment) {
  if (patch_size.size() != 2 && patch_size.size() != 3) {
    throw Error("[data loader] patch size must have 2 or 3 axes, got " +
                std::to_string(patch_size.size()));
  }
  for (int64_t s : patch_size) {
    if (s < 1)
      throw Error("[data loader] patch size entries must be >= 1, got " + std::to_string(s));
  }
  SpatialSetup setup;
  setup.dim = static_cast<int>(patch_size.size());
  if (setup.dim == 2) {
    setup.final_patch = {1, patch_size[0], patch_size[1]};
    const double ratio = double(std::max(patch_size[0], patch_size[1])) /
                         double(std::min(patch_size[0], patch_size[1]));
    setup.max_rotation_rad = (ratio > 1.5 ? 15.0 : 180.0) * kPi / 180.0;
  } else {
    setup.final_patch = {patch_size[0], patch_size[1], patch_size[2]};
    const int64_t largest = *std::max_element(patch_size.begin(), patch_size.end());
    setup.dummy_2d = double(largest) / double(patch_size[0]) > kAnisoThreshold;
    setup.max_rotation_rad = (setup.dummy_2d ? 180.0 : 30.0) * kPi / 180.0;
  }
  setup.initial_patch = setup.final_patch;
  if (augment) {
    setup.initial_patch = enlarged_patch_size(setup.final_patch, setup.dim, setup.max_rotation_rad);
    if (setup.dummy_2d) setup.initial_patch[0] = setup.final_patch[0];
  }
  return setup;
}

Box choose_crop_box(const CaseInfo& info, const Index3& patch, const Index3& final_patch,
                    bool force_foreground, Rng& rng) {
  Index3 lower_bound, upper_bound;
  for (int a = 0; a < 3; ++a) {
    int64_t need = patch[a] - final_patch[a];
    if (need + info.shape[a] < patch[a]) need = patch[a] - info.shape[a];
    lower_bound[a] = floor_div(-need, 2);
    upper_bound[a] = info.shape[a] + need / 2 + need % 2 - patch[a];
  }
  Box box;
  box.size = patch;
  const std::vector<Index3>* voxels = force_foreground ? draw_foreground_class(info, rng) : nullptr;
  if (voxels != nullptr) {
    const Index3& v = (*voxels)[rng.randint(0, static_cast<int64_t>(voxels->size()) - 1)];
    for (int a = 0; a < 3; ++a) box.lower[a] = std::max(lower_bound[a], v[a] - patch[a] / 2);
  } else {
    for (int a = 0; a < 3; ++a) box.lower[a] = rng.randint(lower_bound[a], upper_bound[a]);
  }
  return box;
}

}  // namespace nnfleet::worker
