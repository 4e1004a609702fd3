#include "worker/case_reader.h"

#include <hdf5.h>

#include <algorithm>
#include <cstdlib>

#include "common/error.h"

namespace nnfleet::worker {
namespace {

// RAII owner of one HDF5 identifier; `close` is the matching H5*close function.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept : id_(other.id_), close_(other.close_) { other.id_ = -1; }
  Handle& operator=(Handle&&) = delete;
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what) {
  throw Error("[data loader] " + path.string() + ": " + what);
}

Handle open_dataset(hid_t file, const std::filesystem::path& path, const std::string& name) {
  // Checked first so that HDF5 does not print its error stack for a missing dataset.
  if (H5Lexists(file, name.c_str(), H5P_DEFAULT) <= 0) fail(path, "has no dataset '" + name + "'");
  Handle dataset(H5Dopen2(file, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!dataset.valid()) fail(path, "cannot open dataset '" + name + "'");
  return dataset;
}

std::vector<hsize_t> dataset_dims(hid_t dataset) {
  Handle space(H5Dget_space(dataset), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> dims(rank > 0 ? rank : 0);
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return dims;
}

// Reads the part of `box` inside `shape` from a [C, Z, Y, X] dataset into `out`, a
// [C, box.size] buffer already filled with the padding value.
void read_box(hid_t dataset, hid_t mem_type, const std::vector<hsize_t>& dims, const Box& box,
              void* out, const std::filesystem::path& path, const std::string& name) {
  hsize_t file_start[4] = {0, 0, 0, 0}, mem_start[4] = {0, 0, 0, 0};
  hsize_t count[4] = {dims[0], 0, 0, 0};
  hsize_t mem_dims[4] = {dims[0], 0, 0, 0};
  for (int a = 0; a < 3; ++a) {
    const int64_t extent = static_cast<int64_t>(dims[a + 1]);
    const int64_t lo = std::max<int64_t>(box.lower[a], 0);
    const int64_t hi = std::min<int64_t>(box.lower[a] + box.size[a], extent);
    if (hi <= lo) return;  // the box lies entirely outside: padding only
    file_start[a + 1] = static_cast<hsize_t>(lo);
    mem_start[a + 1] = static_cast<hsize_t>(lo - box.lower[a]);
    count[a + 1] = static_cast<hsize_t>(hi - lo);
    mem_dims[a + 1] = static_cast<hsize_t>(box.size[a]);
  }
  Handle file_space(H5Dget_space(dataset), H5Sclose);
  Handle mem_space(H5Screate_simple(4, mem_dims, nullptr), H5Sclose);
  if (H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, file_start, nullptr, count, nullptr) <
          0 ||
      H5Sselect_hyperslab(mem_space.get(), H5S_SELECT_SET, mem_start, nullptr, count, nullptr) <
          0 ||
      H5Dread(dataset, mem_type, mem_space.get(), file_space.get(), H5P_DEFAULT, out) < 0) {
    fail(path, "cannot read a patch of dataset '" + name + "'");
  }
}

std::vector<Index3> read_locations(hid_t file, const std::filesystem::path& path,
                                   const std::string& name) {
  Handle dataset = open_dataset(file, path, name);
  const auto dims = dataset_dims(dataset.get());
  if (dims.size() != 2 || (dims[0] > 0 && dims[1] != 3)) {
    fail(path, "dataset '" + name + "' is not [N, 3]");
  }
  std::vector<Index3> locations(dims[0]);
  if (dims[0] > 0 && H5Dread(dataset.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                             locations.data()) < 0) {
    fail(path, "cannot read dataset '" + name + "'");
  }
  return locations;
}

herr_t collect_name(hid_t, const char* name, const H5L_info_t*, void* names) {
  static_cast<std::vector<std::string>*>(names)->push_back(name);
  return 0;
}

// Label keys sort by their numeric value when they are numbers ("2" < "10"), else as text.
bool label_key_less(const std::string& a, const std::string& b) {
  char* end_a = nullptr;
  char* end_b = nullptr;
  const long va = std::strtol(a.c_str(), &end_a, 10);
  const long vb = std::strtol(b.c_str(), &end_b, 10);
  if (*end_a == '\0' && *end_b == '\0' && !a.empty() && !b.empty()) return va < vb;
  return a < b;
}

}  // namespace

CaseReader::CaseReader(const std::filesystem::path& path) : path_(path) {
  if (!std::filesystem::exists(path)) fail(path, "case file not found");
  file_ = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file_ < 0) fail(path, "cannot open as HDF5");
}

CaseReader::~CaseReader() {
  if (file_ >= 0) H5Fclose(file_);
}

CaseReader::CaseReader(CaseReader&& other) noexcept
    : path_(std::move(other.path_)), file_(other.file_) {
  other.file_ = -1;
}

CaseReader& CaseReader::operator=(CaseReader&& other) noexcept {
  if (this != &other) {
    if (file_ >= 0) H5Fclose(file_);
    path_ = std::move(other.path_);
    file_ = other.file_;
    other.file_ = -1;
  }
  return *this;
}

bool CaseReader::has_dataset(const std::string& name) const {
  return H5Lexists(file_, name.c_str(), H5P_DEFAULT) > 0;
}

CaseInfo CaseReader::read_info() const {
  CaseInfo info;
  Handle data = open_dataset(file_, path_, "data");
  const auto dims = dataset_dims(data.get());
  if (dims.size() != 4) fail(path_, "dataset 'data' is not [C, Z, Y, X]");
  info.channels = static_cast<int>(dims[0]);
  for (int a = 0; a < 3; ++a) info.shape[a] = static_cast<int64_t>(dims[a + 1]);

  if (!has_dataset("class_locations")) return info;
  Handle group(H5Gopen2(file_, "class_locations", H5P_DEFAULT), H5Gclose);
  if (!group.valid()) fail(path_, "cannot open group 'class_locations'");
  std::vector<std::string> names;
  hsize_t index = 0;
  H5Literate(group.get(), H5_INDEX_NAME, H5_ITER_INC, &index, collect_name, &names);
  std::sort(names.begin(), names.end(), label_key_less);
  for (const auto& name : names) {
    info.class_locations.emplace_back(name,
                                      read_locations(file_, path_, "class_locations/" + name));
  }
  return info;
}

void CaseReader::read_data(const Box& box, float* out) const {
  Handle data = open_dataset(file_, path_, "data");
  const auto dims = dataset_dims(data.get());
  if (dims.size() != 4) fail(path_, "dataset 'data' is not [C, Z, Y, X]");
  std::fill(out, out + dims[0] * box.num_voxels(), 0.0f);
  read_box(data.get(), H5T_NATIVE_FLOAT, dims, box, out, path_, "data");
}

void CaseReader::read_labels(const std::string& dataset, const Box& box, int8_t* out) const {
  Handle labels = open_dataset(file_, path_, dataset);
  const auto dims = dataset_dims(labels.get());
  if (dims.size() != 4 || dims[0] != 1)
    fail(path_, "dataset '" + dataset + "' is not [1, Z, Y, X]");
  std::fill(out, out + box.num_voxels(), int8_t{-1});
  read_box(labels.get(), H5T_NATIVE_INT8, dims, box, out, path_, dataset);
}

}  // namespace nnfleet::worker
