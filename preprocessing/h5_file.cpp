#include "preprocessing/h5_file.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "common/error.h"

namespace nnfleet::preprocessing {
namespace fs = std::filesystem;

static_assert(H5_HAVE_THREADSAFE, "nnfleet needs a thread-safe HDF5 build");

namespace {

struct QuietErrors {
  QuietErrors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }
};

void silence_hdf5() { static QuietErrors once; }

template <typename T>
hid_t native_type();
template <> hid_t native_type<float>() { return H5T_NATIVE_FLOAT; }
template <> hid_t native_type<int8_t>() { return H5T_NATIVE_INT8; }
template <> hid_t native_type<int16_t>() { return H5T_NATIVE_INT16; }
template <> hid_t native_type<int64_t>() { return H5T_NATIVE_INT64; }

std::vector<hsize_t> to_hsize(const std::vector<int64_t>& v) {
  return std::vector<hsize_t>(v.begin(), v.end());
}

int64_t product(const std::vector<int64_t>& v) {
  return std::accumulate(v.begin(), v.end(), int64_t{1}, std::multiplies<int64_t>());
}

}  // namespace

H5Id& H5Id::operator=(H5Id&& o) noexcept {
  if (this != &o) {
    reset();
    id_ = o.id_;
    o.id_ = H5I_INVALID_HID;
  }
  return *this;
}

void H5Id::reset() noexcept {
  if (id_ >= 0) H5Idec_ref(id_);
  id_ = H5I_INVALID_HID;
}

H5File H5File::create(const fs::path& file) {
  silence_hdf5();
  if (file.has_parent_path()) fs::create_directories(file.parent_path());
  H5Id id(H5Fcreate(file.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  if (!id.valid()) throw Error("cannot create HDF5 file " + file.string());
  return H5File(file, std::move(id));
}

H5File H5File::open_read(const fs::path& file) {
  silence_hdf5();
  if (!fs::exists(file)) throw Error("HDF5 file " + file.string() + " does not exist");
  H5Id id(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!id.valid()) throw Error("cannot open HDF5 file " + file.string() + " (corrupt or not HDF5)");
  return H5File(file, std::move(id));
}

void H5File::create_group(const std::string& path) {
  if (exists(path)) return;
  H5Id lcpl(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  H5Id group(H5Gcreate2(id(), path.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!group.valid()) throw Error(path_.string() + ": cannot create HDF5 group " + path);
}

bool H5File::exists(const std::string& path) const {
  // Check each component so that a missing parent is "absent", not an error.
  std::string prefix;
  size_t start = path[0] == '/' ? 1 : 0;
  while (start <= path.size()) {
    const size_t end = std::min(path.find('/', start), path.size());
    prefix += "/" + path.substr(start, end - start);
    if (H5Lexists(id(), prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    start = end + 1;
  }
  return true;
}

std::vector<std::string> H5File::list(const std::string& group) const {
  const std::string name = group.empty() ? "/" : group;
  H5Id g(H5Gopen2(id(), name.c_str(), H5P_DEFAULT));
  if (!g.valid()) throw Error(path_.string() + ": no HDF5 group " + name);
  H5G_info_t info;
  H5Gget_info(g.get(), &info);
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t n = H5Lget_name_by_idx(g.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0,
                                         H5P_DEFAULT);
    std::string s(static_cast<size_t>(n), '\0');
    H5Lget_name_by_idx(g.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, s.data(), n + 1, H5P_DEFAULT);
    names.push_back(s);
  }
  return names;
}

void H5File::write_any(const std::string& name, const std::vector<int64_t>& shape, hid_t type,
                       const void* data, const std::vector<int64_t>& chunk, int deflate) {
  const auto dims = to_hsize(shape);
  H5Id space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
  H5Id dcpl(H5Pcreate(H5P_DATASET_CREATE));
  const bool chunked = !chunk.empty() && product(shape) > 0;
  if (chunked) {
    NNFLEET_CHECK(chunk.size() == shape.size(), "chunk rank differs from dataset rank");
    std::vector<hsize_t> c(chunk.size());
    for (size_t i = 0; i < c.size(); ++i) {
      c[i] = static_cast<hsize_t>(std::max<int64_t>(1, std::min(chunk[i], shape[i])));
    }
    H5Pset_chunk(dcpl.get(), static_cast<int>(c.size()), c.data());
    if (deflate > 0) {
      H5Pset_shuffle(dcpl.get());
      H5Pset_deflate(dcpl.get(), static_cast<unsigned>(deflate));
    }
  }
  H5Id lcpl(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  H5Id dset(H5Dcreate2(id(), name.c_str(), type, space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT));
  if (!dset.valid()) throw Error(path_.string() + ": cannot create HDF5 dataset " + name);
  if (product(shape) > 0 &&
      H5Dwrite(dset.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
    throw Error(path_.string() + ": cannot write HDF5 dataset " + name);
  }
}

void H5File::write(const std::string& name, const std::vector<int64_t>& shape, const float* data,
                   const std::vector<int64_t>& chunk, int deflate) {
  write_any(name, shape, H5T_NATIVE_FLOAT, data, chunk, deflate);
}
void H5File::write(const std::string& name, const std::vector<int64_t>& shape, const int8_t* data,
                   const std::vector<int64_t>& chunk, int deflate) {
  write_any(name, shape, H5T_NATIVE_INT8, data, chunk, deflate);
}
void H5File::write(const std::string& name, const std::vector<int64_t>& shape,
                   const int16_t* data, const std::vector<int64_t>& chunk, int deflate) {
  write_any(name, shape, H5T_NATIVE_INT16, data, chunk, deflate);
}
void H5File::write(const std::string& name, const std::vector<int64_t>& shape,
                   const int64_t* data, const std::vector<int64_t>& chunk, int deflate) {
  write_any(name, shape, H5T_NATIVE_INT64, data, chunk, deflate);
}

std::vector<int64_t> H5File::shape(const std::string& name) const {
  H5Id dset(H5Dopen2(id(), name.c_str(), H5P_DEFAULT));
  if (!dset.valid()) throw Error(path_.string() + ": no HDF5 dataset " + name);
  H5Id space(H5Dget_space(dset.get()));
  const int rank = H5Sget_simple_extent_ndims(space.get());
  std::vector<hsize_t> dims(static_cast<size_t>(std::max(rank, 0)));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return std::vector<int64_t>(dims.begin(), dims.end());
}

void H5File::read_box(const std::string& name, const std::vector<int64_t>& lo,
                      const std::vector<int64_t>& hi, hid_t mem_type, void* out) const {
  H5Id dset(H5Dopen2(id(), name.c_str(), H5P_DEFAULT));
  if (!dset.valid()) throw Error(path_.string() + ": no HDF5 dataset " + name);
  const std::vector<int64_t> full = shape(name);
  if (lo.size() != full.size() || hi.size() != full.size()) {
    throw Error(path_.string() + ": patch of dataset " + name + " has the wrong rank");
  }
  std::vector<hsize_t> start(full.size()), count(full.size());
  for (size_t d = 0; d < full.size(); ++d) {
    if (lo[d] < 0 || hi[d] > full[d] || lo[d] > hi[d]) {
      throw Error(path_.string() + ": patch [" + std::to_string(lo[d]) + ", " +
                  std::to_string(hi[d]) + ") outside dataset " + name + " dimension " +
                  std::to_string(d) + " of size " + std::to_string(full[d]));
    }
    start[d] = static_cast<hsize_t>(lo[d]);
    count[d] = static_cast<hsize_t>(hi[d] - lo[d]);
  }
  if (product(std::vector<int64_t>(count.begin(), count.end())) == 0) return;
  H5Id file_space(H5Dget_space(dset.get()));
  H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(),
                      nullptr);
  H5Id mem_space(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr));
  if (H5Dread(dset.get(), mem_type, mem_space.get(), file_space.get(), H5P_DEFAULT, out) < 0) {
    throw Error(path_.string() + ": cannot read HDF5 dataset " + name);
  }
}

template <typename T>
std::vector<T> H5File::read(const std::string& name) const {
  const std::vector<int64_t> full = shape(name);
  return read_patch<T>(name, std::vector<int64_t>(full.size(), 0), full);
}

template <typename T>
std::vector<T> H5File::read_patch(const std::string& name, const std::vector<int64_t>& lo,
                                  const std::vector<int64_t>& hi) const {
  int64_t n = 1;
  for (size_t d = 0; d < lo.size() && d < hi.size(); ++d) n *= std::max<int64_t>(0, hi[d] - lo[d]);
  std::vector<T> out(static_cast<size_t>(n));
  read_box(name, lo, hi, native_type<T>(), out.data());
  return out;
}

template <typename T>
std::vector<T> H5File::read_patch_padded(const std::string& name, const std::vector<int64_t>& lo,
                                         const std::vector<int64_t>& hi, T fill) const {
  const std::vector<int64_t> full = shape(name);
  const size_t rank = full.size();
  if (lo.size() != rank || hi.size() != rank) {
    throw Error(path_.string() + ": patch of dataset " + name + " has the wrong rank");
  }
  std::vector<int64_t> in_lo(rank), in_hi(rank), out_shape(rank);
  bool empty = false;
  for (size_t d = 0; d < rank; ++d) {
    out_shape[d] = hi[d] - lo[d];
    in_lo[d] = std::clamp<int64_t>(lo[d], 0, full[d]);
    in_hi[d] = std::clamp<int64_t>(hi[d], in_lo[d], full[d]);
    empty = empty || in_hi[d] <= in_lo[d];
  }
  std::vector<T> out(static_cast<size_t>(product(out_shape)), fill);
  if (empty) return out;
  const std::vector<T> inner = read_patch<T>(name, in_lo, in_hi);
  // Copy rows (last dimension contiguous) of `inner` into `out`.
  std::vector<int64_t> inner_shape(rank);
  for (size_t d = 0; d < rank; ++d) inner_shape[d] = in_hi[d] - in_lo[d];
  const int64_t row = inner_shape[rank - 1];
  const int64_t rows = product(inner_shape) / row;
  std::vector<int64_t> idx(rank, 0);
  for (int64_t r = 0; r < rows; ++r) {
    int64_t offset = 0;
    for (size_t d = 0; d < rank; ++d) {
      const int64_t pos = (d + 1 == rank ? 0 : idx[d]) + in_lo[d] - lo[d];
      offset = offset * out_shape[d] + pos;
    }
    std::copy_n(inner.begin() + r * row, row, out.begin() + offset);
    for (int64_t d = static_cast<int64_t>(rank) - 2; d >= 0; --d) {
      if (++idx[d] < inner_shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

void H5File::set_attribute(const std::string& name, const std::string& value) {
  H5Id type(H5Tcopy(H5T_C_S1));
  H5Tset_size(type.get(), std::max<size_t>(1, value.size()));
  H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
  H5Id space(H5Screate(H5S_SCALAR));
  if (H5Aexists(id(), name.c_str()) > 0) H5Adelete(id(), name.c_str());
  H5Id attr(H5Acreate2(id(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!attr.valid() || H5Awrite(attr.get(), type.get(), value.c_str()) < 0) {
    throw Error(path_.string() + ": cannot write HDF5 attribute " + name);
  }
}

std::string H5File::attribute(const std::string& name) const {
  H5Id attr(H5Aopen(id(), name.c_str(), H5P_DEFAULT));
  if (!attr.valid()) throw Error(path_.string() + ": no HDF5 attribute " + name);
  H5Id type(H5Aget_type(attr.get()));
  if (H5Tis_variable_str(type.get()) > 0) {
    char* text = nullptr;
    H5Id mem(H5Tcopy(H5T_C_S1));
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Aread(attr.get(), mem.get(), &text);
    std::string out = text ? text : "";
    H5free_memory(text);
    return out;
  }
  std::string out(H5Tget_size(type.get()), '\0');
  if (H5Aread(attr.get(), type.get(), out.data()) < 0) {
    throw Error(path_.string() + ": cannot read HDF5 attribute " + name);
  }
  out.resize(std::strlen(out.c_str()));
  return out;
}

#define NNFLEET_H5_INSTANTIATE(T)                                                              \
  template std::vector<T> H5File::read<T>(const std::string&) const;                          \
  template std::vector<T> H5File::read_patch<T>(const std::string&, const std::vector<int64_t>&, \
                                                const std::vector<int64_t>&) const;            \
  template std::vector<T> H5File::read_patch_padded<T>(                                       \
      const std::string&, const std::vector<int64_t>&, const std::vector<int64_t>&, T) const;
NNFLEET_H5_INSTANTIATE(float)
NNFLEET_H5_INSTANTIATE(int8_t)
NNFLEET_H5_INSTANTIATE(int16_t)
NNFLEET_H5_INSTANTIATE(int64_t)
#undef NNFLEET_H5_INSTANTIATE

}  // namespace nnfleet::preprocessing
