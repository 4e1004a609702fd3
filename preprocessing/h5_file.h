#pragma once
// A small RAII wrapper over HDF5's C API for nnfleet's case files (docs/formats.md) and probability
// files. Datasets are n-dimensional arrays in C order; shapes and coordinates are given in that
// order (for case files: (C, Z, Y, X)). Reads convert to the requested element type (HDF5 does the
// conversion), so a float32 dataset can be read as float and an int8 one as int8_t or int16_t.
//
// Patch reads (`read_patch`) select a hyperslab, so only the chunks the patch touches are read and
// decompressed: this is what the data loader uses to cut a training patch without loading the case.
//
// Thread safety: one H5File per thread. The HDF5 library must be built thread-safe (Debian's is:
// H5_HAVE_THREADSAFE); it serialises its own calls, so concurrent readers on different files are
// correct but not parallel inside HDF5 (decompression included).
// Errors: nnfleet::Error naming the file and the dataset or attribute.

#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace nnfleet::preprocessing {

// Owner of one HDF5 identifier (file, dataset, dataspace, property list, attribute, group).
class H5Id {
 public:
  H5Id() = default;
  explicit H5Id(hid_t id) : id_(id) {}
  ~H5Id() { reset(); }
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;
  H5Id(H5Id&& o) noexcept : id_(o.id_) { o.id_ = H5I_INVALID_HID; }
  H5Id& operator=(H5Id&& o) noexcept;
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset() noexcept;

 private:
  hid_t id_ = H5I_INVALID_HID;
};

class H5File {
 public:
  // Creates (truncates) a file for writing.
  static H5File create(const std::filesystem::path& file);
  // Opens an existing file read-only.
  static H5File open_read(const std::filesystem::path& file);

  H5File(H5File&&) noexcept = default;
  H5File& operator=(H5File&&) noexcept = default;
  const std::filesystem::path& path() const { return path_; }
  hid_t id() const { return file_.get(); }

  // Creates groups along `path` ("class_locations") when missing.
  void create_group(const std::string& path);
  bool exists(const std::string& path) const;
  // Names of the members of a group ("" or "/" for the root), in HDF5's (alphabetical) order.
  std::vector<std::string> list(const std::string& group) const;

  // Writes a dataset of the given shape. `chunk` empty = contiguous storage; otherwise chunked with
  // deflate level `deflate` (0 = none). An empty shape (any dimension 0) is allowed.
  void write(const std::string& name, const std::vector<int64_t>& shape, const float* data,
             const std::vector<int64_t>& chunk = {}, int deflate = 0);
  void write(const std::string& name, const std::vector<int64_t>& shape, const int8_t* data,
             const std::vector<int64_t>& chunk = {}, int deflate = 0);
  void write(const std::string& name, const std::vector<int64_t>& shape, const int16_t* data,
             const std::vector<int64_t>& chunk = {}, int deflate = 0);
  void write(const std::string& name, const std::vector<int64_t>& shape, const int64_t* data,
             const std::vector<int64_t>& chunk = {}, int deflate = 0);

  std::vector<int64_t> shape(const std::string& name) const;

  // Whole dataset, converted to T (float, int8_t, int16_t, int64_t).
  template <typename T>
  std::vector<T> read(const std::string& name) const;

  // The box [lo, hi) of a dataset (lo/hi per dimension, C order, 0 <= lo <= hi <= shape), converted
  // to T, C order, size prod(hi - lo). Reads only the chunks the box touches.
  template <typename T>
  std::vector<T> read_patch(const std::string& name, const std::vector<int64_t>& lo,
                            const std::vector<int64_t>& hi) const;

  // Like read_patch, but [lo, hi) may reach outside the dataset (negative lo, hi > shape): voxels
  // outside are set to `fill` (nnU-Net pads data with 0 and segmentations with -1).
  template <typename T>
  std::vector<T> read_patch_padded(const std::string& name, const std::vector<int64_t>& lo,
                                   const std::vector<int64_t>& hi, T fill) const;

  // String attribute on the root group (e.g. "properties", a JSON text).
  void set_attribute(const std::string& name, const std::string& value);
  std::string attribute(const std::string& name) const;

 private:
  H5File(std::filesystem::path path, H5Id file) : path_(std::move(path)), file_(std::move(file)) {}
  void write_any(const std::string& name, const std::vector<int64_t>& shape, hid_t type,
                 const void* data, const std::vector<int64_t>& chunk, int deflate);
  void read_box(const std::string& name, const std::vector<int64_t>& lo,
                const std::vector<int64_t>& hi, hid_t mem_type, void* out) const;
  std::filesystem::path path_;
  H5Id file_;
};

}  // namespace nnfleet::preprocessing
