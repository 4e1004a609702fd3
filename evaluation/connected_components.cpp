#include "evaluation/connected_components.h"

#include <algorithm>
#include <string>

#include "common/error.h"

namespace nnfleet::evaluation {
namespace {

uint32_t find_root(std::vector<uint32_t>& parent, uint32_t i) {
  while (parent[i] != i) {
    parent[i] = parent[parent[i]];  // path halving
    i = parent[i];
  }
  return i;
}

void unite(std::vector<uint32_t>& parent, uint32_t a, uint32_t b) {
  a = find_root(parent, a);
  b = find_root(parent, b);
  if (a == b) return;
  // The smaller index becomes the root, so roots are each component's first voxel.
  if (a < b) parent[b] = a;
  else parent[a] = b;
}

// Joins each foreground voxel with its 13 already-visited neighbours (the half of the
// 26-neighbourhood that precedes it in raster order).
void join_neighbours(const std::vector<uint8_t>& mask, const std::array<int64_t, 3>& s,
                     std::vector<uint32_t>& parent) {
  const int64_t nz = s[0], ny = s[1], nx = s[2];
  for (int64_t z = 0; z < nz; ++z)
    for (int64_t y = 0; y < ny; ++y)
      for (int64_t x = 0; x < nx; ++x) {
        const int64_t i = (z * ny + y) * nx + x;
        if (!mask[i]) continue;
        for (int64_t dz = -1; dz <= 0; ++dz)
          for (int64_t dy = -1; dy <= 1; ++dy)
            for (int64_t dx = -1; dx <= 1; ++dx) {
              if (dz == 0 && (dy > 0 || (dy == 0 && dx >= 0))) continue;
              const int64_t zz = z + dz, yy = y + dy, xx = x + dx;
              if (zz < 0 || yy < 0 || yy >= ny || xx < 0 || xx >= nx) continue;
              const int64_t j = (zz * ny + yy) * nx + xx;
              if (mask[j]) unite(parent, uint32_t(i), uint32_t(j));
            }
      }
}

std::vector<uint32_t> component_roots(const std::vector<uint8_t>& mask,
                                      const std::array<int64_t, 3>& shape_zyx) {
  const int64_t n = shape_zyx[0] * shape_zyx[1] * shape_zyx[2];
  NNFLEET_CHECK(int64_t(mask.size()) == n, "mask has " + std::to_string(mask.size()) +
                                                " voxels, shape says " + std::to_string(n));
  NNFLEET_CHECK(n < (int64_t(1) << 32), "image too large for 32-bit component labels");
  std::vector<uint32_t> parent(n);
  for (int64_t i = 0; i < n; ++i) parent[i] = uint32_t(i);
  join_neighbours(mask, shape_zyx, parent);
  for (int64_t i = 0; i < n; ++i)
    if (mask[i]) parent[i] = find_root(parent, uint32_t(i));
  return parent;
}

}  // namespace

int64_t label_components(const std::vector<uint8_t>& mask, const std::array<int64_t, 3>& shape_zyx,
                         std::vector<uint32_t>& labels) {
  std::vector<uint32_t> root = component_roots(mask, shape_zyx);
  labels.assign(mask.size(), 0);
  int64_t count = 0;
  for (size_t i = 0; i < mask.size(); ++i) {
    if (!mask[i]) continue;
    // Roots are first voxels, so a root is met before the rest of its component.
    if (root[i] == i) labels[i] = uint32_t(++count);
    else labels[i] = labels[root[i]];
  }
  return count;
}

std::vector<uint8_t> largest_components(const std::vector<uint8_t>& mask,
                                        const std::array<int64_t, 3>& shape_zyx) {
  std::vector<uint32_t> labels;
  const int64_t count = label_components(mask, shape_zyx, labels);
  std::vector<int64_t> size(count + 1, 0);
  for (uint32_t l : labels) ++size[l];
  size[0] = 0;
  const int64_t largest = *std::max_element(size.begin(), size.end());
  std::vector<uint8_t> keep(mask.size(), 0);
  if (largest == 0) return keep;
  for (size_t i = 0; i < labels.size(); ++i) keep[i] = labels[i] != 0 && size[labels[i]] == largest;
  return keep;
}

}  // namespace nnfleet::evaluation
