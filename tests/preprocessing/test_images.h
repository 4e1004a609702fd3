#pragma once
// Small generated inputs for preprocessing tests: images written through ITK, and hand-made NIfTI
// files for header features ITK does not write (scl_slope / scl_inter).

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "preprocessing/image_io.h"

namespace nnfleet::test {

inline preprocessing::Geometry make_geometry(std::array<int64_t, 3> size_xyz,
                                             std::array<double, 3> spacing_xyz = {1, 1, 1},
                                             std::array<double, 3> origin_xyz = {0, 0, 0}) {
  preprocessing::Geometry g;
  g.size_xyz = size_xyz;
  g.spacing_xyz = spacing_xyz;
  g.origin_xyz = origin_xyz;
  return g;
}

// Writes a float image; `fill(c, z, y, x)` gives each voxel.
template <typename F>
inline void write_test_image(const std::filesystem::path& file, const preprocessing::Geometry& g,
                             int channels, F fill) {
  preprocessing::Image image;
  image.geometry = g;
  image.channels = channels;
  image.voxels.resize(channels * g.num_voxels());
  size_t i = 0;
  for (int c = 0; c < channels; ++c)
    for (int64_t z = 0; z < g.size_xyz[2]; ++z)
      for (int64_t y = 0; y < g.size_xyz[1]; ++y)
        for (int64_t x = 0; x < g.size_xyz[0]; ++x) image.voxels[i++] = fill(c, z, y, x);
  preprocessing::write_image(file, image);
}

template <typename F>
inline void write_test_label(const std::filesystem::path& file, const preprocessing::Geometry& g,
                             F fill) {
  preprocessing::LabelImage label;
  label.geometry = g;
  label.voxels.resize(g.num_voxels());
  size_t i = 0;
  for (int64_t z = 0; z < g.size_xyz[2]; ++z)
    for (int64_t y = 0; y < g.size_xyz[1]; ++y)
      for (int64_t x = 0; x < g.size_xyz[0]; ++x) label.voxels[i++] = fill(z, y, x);
  preprocessing::write_label(file, label);
}

// Writes an uncompressed NIfTI-1 file (.nii) by hand. `datatype` is a NIfTI code (4 = int16,
// 16 = float32); `values` are stored in that type, x fastest.
inline void write_raw_nifti(const std::filesystem::path& file, std::array<int16_t, 3> size_xyz,
                            int16_t datatype, const std::vector<double>& values,
                            float scl_slope = 0.0f, float scl_inter = 0.0f,
                            std::array<float, 3> spacing_xyz = {1, 1, 1}) {
  char h[352] = {};
  auto put = [&](int offset, const void* v, size_t n) { std::memcpy(h + offset, v, n); };
  const int32_t sizeof_hdr = 348;
  put(0, &sizeof_hdr, 4);
  const int16_t dim[8] = {3, size_xyz[0], size_xyz[1], size_xyz[2], 1, 1, 1, 1};
  put(40, dim, sizeof dim);
  const int16_t bitpix = datatype == 4 ? 16 : 32;
  put(70, &datatype, 2);
  put(72, &bitpix, 2);
  const float pixdim[8] = {1, spacing_xyz[0], spacing_xyz[1], spacing_xyz[2], 1, 1, 1, 1};
  put(76, pixdim, sizeof pixdim);
  const float vox_offset = 352;
  put(108, &vox_offset, 4);
  put(112, &scl_slope, 4);
  put(116, &scl_inter, 4);
  const int16_t sform_code = 1;
  put(254, &sform_code, 2);
  const float srow[12] = {spacing_xyz[0], 0, 0, 0, 0, spacing_xyz[1], 0, 0, 0, 0, spacing_xyz[2], 0};
  put(280, srow, sizeof srow);
  put(344, "n+1", 4);
  std::ofstream out(file, std::ios::binary);
  out.write(h, sizeof h);
  for (double v : values) {
    if (datatype == 4) {
      const int16_t s = static_cast<int16_t>(v);
      out.write(reinterpret_cast<const char*>(&s), 2);
    } else {
      const float f = static_cast<float>(v);
      out.write(reinterpret_cast<const char*>(&f), 4);
    }
  }
}

}  // namespace nnfleet::test
