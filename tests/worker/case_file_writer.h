#pragma once
// Test helper: writes small HDF5 case files in the layout of docs/formats.md (`data` float32
// [C, Z, Y, X] chunked, `seg` int8 [1, Z, Y, X], `class_locations/<label>` int64 [N, 3],
// attribute `properties`), and previous-stage files with `seg_prev`. Header-only because the test
// glob compiles only *_test.cpp files.

#include <hdf5.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace nnfleet::test {

struct TestCase {
  int channels = 1;
  std::array<int64_t, 3> shape{8, 8, 8};  // (z, y, x)
  std::vector<float> data;                // (C, z, y, x)
  std::vector<int8_t> seg;                // (z, y, x)
  // label -> voxels (z, y, x); written in this order.
  std::map<std::string, std::vector<std::array<int64_t, 3>>> class_locations;
};

namespace detail {

inline void check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error("case_file_writer: " + what);
}

inline void write_dataset(hid_t parent, const std::string& name, hid_t type, int rank,
                          const hsize_t* dims, const void* values, const hsize_t* chunk) {
  hid_t space = H5Screate_simple(rank, dims, nullptr);
  hid_t plist = H5Pcreate(H5P_DATASET_CREATE);
  if (chunk != nullptr) H5Pset_chunk(plist, rank, chunk);
  hid_t dataset = H5Dcreate2(parent, name.c_str(), type, space, H5P_DEFAULT, plist, H5P_DEFAULT);
  check(dataset >= 0, "create " + name);
  bool empty = false;
  for (int i = 0; i < rank; ++i) empty = empty || dims[i] == 0;
  if (!empty) check(H5Dwrite(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) >= 0, name);
  H5Dclose(dataset);
  H5Pclose(plist);
  H5Sclose(space);
}

inline void write_labels(hid_t file, const std::string& name, const std::array<int64_t, 3>& shape,
                         const std::vector<int8_t>& labels) {
  const hsize_t dims[4] = {1, hsize_t(shape[0]), hsize_t(shape[1]), hsize_t(shape[2])};
  const hsize_t chunk[4] = {1, std::min<hsize_t>(dims[1], 4), std::min<hsize_t>(dims[2], 4),
                            std::min<hsize_t>(dims[3], 4)};
  write_dataset(file, name, H5T_NATIVE_INT8, 4, dims, labels.data(), chunk);
}

}  // namespace detail

// Writes `c` to `path` (chunks of 4^3 voxels so that patch reads cross chunk borders).
inline void write_case_file(const std::filesystem::path& path, const TestCase& c) {
  hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  detail::check(file >= 0, "create " + path.string());
  const hsize_t dims[4] = {hsize_t(c.channels), hsize_t(c.shape[0]), hsize_t(c.shape[1]),
                           hsize_t(c.shape[2])};
  const hsize_t chunk[4] = {1, std::min<hsize_t>(dims[1], 4), std::min<hsize_t>(dims[2], 4),
                            std::min<hsize_t>(dims[3], 4)};
  detail::write_dataset(file, "data", H5T_NATIVE_FLOAT, 4, dims, c.data.data(), chunk);
  if (!c.seg.empty()) detail::write_labels(file, "seg", c.shape, c.seg);
  hid_t group = H5Gcreate2(file, "class_locations", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  for (const auto& [label, voxels] : c.class_locations) {
    const hsize_t loc_dims[2] = {voxels.size(), 3};
    detail::write_dataset(group, label, H5T_NATIVE_INT64, 2, loc_dims, voxels.data(), nullptr);
  }
  H5Gclose(group);
  const std::string properties = "{\"case\": \"" + path.stem().string() + "\"}";
  hid_t str_type = H5Tcopy(H5T_C_S1);
  H5Tset_size(str_type, properties.size());
  hid_t scalar = H5Screate(H5S_SCALAR);
  hid_t attr = H5Acreate2(file, "properties", str_type, scalar, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(attr, str_type, properties.c_str());
  H5Aclose(attr);
  H5Sclose(scalar);
  H5Tclose(str_type);
  H5Fclose(file);
}

// Writes a previous-stage file with dataset `seg_prev` [1, Z, Y, X].
inline void write_seg_prev_file(const std::filesystem::path& path,
                                const std::array<int64_t, 3>& shape,
                                const std::vector<int8_t>& seg_prev) {
  hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  detail::check(file >= 0, "create " + path.string());
  detail::write_labels(file, "seg_prev", shape, seg_prev);
  H5Fclose(file);
}

// A case whose image value is its linear voxel index (+ 1000 * channel) and whose seg is 0
// everywhere except the voxels listed per label; class locations list every labelled voxel.
inline TestCase make_indexed_case(
    int channels, const std::array<int64_t, 3>& shape,
    const std::map<int, std::vector<std::array<int64_t, 3>>>& labelled) {
  TestCase c;
  c.channels = channels;
  c.shape = shape;
  const int64_t n = shape[0] * shape[1] * shape[2];
  c.data.resize(channels * n);
  for (int ch = 0; ch < channels; ++ch) {
    for (int64_t i = 0; i < n; ++i) c.data[ch * n + i] = static_cast<float>(i + 1000 * ch);
  }
  c.seg.assign(n, 0);
  for (const auto& [label, voxels] : labelled) {
    for (const auto& v : voxels) c.seg[(v[0] * shape[1] + v[1]) * shape[2] + v[2]] = int8_t(label);
    c.class_locations[std::to_string(label)] = voxels;
  }
  return c;
}

}  // namespace nnfleet::test
