#pragma once
// Reading training patches from one HDF5 case file (docs/formats.md) with the HDF5 C API.
//
// A patch is a box in voxel coordinates of the case's spatial axes (z, y, x), which may hang over
// the border of the image: the part inside is read as one hyperslab (HDF5 touches only the chunks
// it needs) straight into the padded output buffer, the rest keeps the padding value (images 0,
// segmentations -1, as nnU-Net pads). 2D configurations use a box of depth 1.
//
// Thread safety: a CaseReader is used by one thread at a time; several readers may run in parallel
// (the HDF5 library in use is built thread-safe and serialises its calls internally).
// Errors: nnfleet::Error naming the file and the dataset.

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace nnfleet::worker {

using Index3 = std::array<int64_t, 3>;  // (z, y, x) voxels

// A box [lower, lower + size) in voxel coordinates, array order (z, y, x).
struct Box {
  Index3 lower{0, 0, 0};
  Index3 size{1, 1, 1};
  int64_t num_voxels() const { return size[0] * size[1] * size[2]; }
};

// What the sampler needs to know about a case without reading its voxels.
struct CaseInfo {
  int channels = 0;       // image channels C of `data`
  Index3 shape{0, 0, 0};  // spatial shape (z, y, x)
  // Foreground label (dataset name under class_locations, e.g. "1") -> stored voxels (z, y, x).
  // Keys are kept in ascending label order; classes absent from the case have empty lists.
  std::vector<std::pair<std::string, std::vector<Index3>>> class_locations;
};

class CaseReader {
 public:
  // Opens `path` read-only. Throws if it cannot be opened.
  explicit CaseReader(const std::filesystem::path& path);
  ~CaseReader();
  CaseReader(const CaseReader&) = delete;
  CaseReader& operator=(const CaseReader&) = delete;
  CaseReader(CaseReader&& other) noexcept;
  CaseReader& operator=(CaseReader&& other) noexcept;

  // Channels and spatial shape of `data` and the class locations.
  CaseInfo read_info() const;
  // Image channels in `box`: out has C * box.num_voxels() floats, layout (C, z, y, x); 0 outside.
  void read_data(const Box& box, float* out) const;
  // 3D int8 label map `dataset` ("seg" or "seg_prev", shape [1, Z, Y, X]) in `box`; -1 outside.
  void read_labels(const std::string& dataset, const Box& box, int8_t* out) const;
  // True when the file has a dataset of that name.
  bool has_dataset(const std::string& name) const;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  int64_t file_ = -1;  // hid_t
};

}  // namespace nnfleet::worker
