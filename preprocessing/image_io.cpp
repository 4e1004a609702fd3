#include "preprocessing/image_io.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <sstream>

#include <zlib.h>

#include <itkImage.h>
#include <itkImageFileReader.h>
#include <itkImageFileWriter.h>
#include <itkImageIOFactory.h>
#include <itkMetaImageIOFactory.h>
#include <itkNiftiImageIOFactory.h>
#include <itkNrrdImageIOFactory.h>

#include "common/error.h"

namespace nnfleet::preprocessing {
namespace fs = std::filesystem;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

itk::ImageIOBase::Pointer open_header(const fs::path& file) {
  register_image_io_factories();
  if (!fs::exists(file)) throw Error("image file " + file.string() + " does not exist");
  itk::ImageIOBase::Pointer io = itk::ImageIOFactory::CreateImageIO(
      file.c_str(), itk::ImageIOFactory::FileModeEnum::ReadMode);
  if (!io) throw Error("image file " + file.string() + ": no ITK reader understands this format");
  try {
    io->SetFileName(file.string());
    io->ReadImageInformation();
  } catch (const itk::ExceptionObject& e) {
    throw Error("image file " + file.string() + ": cannot read header: " + e.GetDescription());
  }
  if (io->GetNumberOfComponents() != 1) {
    throw Error("image file " + file.string() + ": pixels have " +
                std::to_string(io->GetNumberOfComponents()) +
                " components; only scalar images are supported (store channels on a 4th axis)");
  }
  const unsigned dims = io->GetNumberOfDimensions();
  if (dims < 2 || dims > 4) {
    throw Error("image file " + file.string() + ": has " + std::to_string(dims) +
                " dimensions; expected 2, 3 or 4");
  }
  return io;
}

// Geometry (first three axes) and channel count from an ITK image of dimension D.
template <unsigned D>
std::pair<Geometry, int> geometry_of(const itk::Image<float, D>* image) {
  Geometry g;
  g.file_dimension = D == 2 ? 2 : 3;
  const auto size = image->GetLargestPossibleRegion().GetSize();
  const unsigned spatial = std::min(D, 3u);
  for (unsigned a = 0; a < spatial; ++a) {
    g.size_xyz[a] = static_cast<int64_t>(size[a]);
    g.spacing_xyz[a] = std::abs(image->GetSpacing()[a]);
    g.origin_xyz[a] = image->GetOrigin()[a];
    for (unsigned b = 0; b < spatial; ++b) g.direction[a * 3 + b] = image->GetDirection()(a, b);
  }
  if (D == 2) g.spacing_xyz[2] = 999.0 * std::max(g.spacing_xyz[0], g.spacing_xyz[1]);
  const int channels = D == 4 ? static_cast<int>(size[3]) : 1;
  return {g, channels};
}

template <unsigned D>
Image read_with_dimension(const fs::path& file, itk::ImageIOBase* io) {
  using ImageType = itk::Image<float, D>;
  auto reader = itk::ImageFileReader<ImageType>::New();
  reader->SetImageIO(io);
  reader->SetFileName(file.string());
  try {
    reader->Update();
  } catch (const itk::ExceptionObject& e) {
    throw Error("image file " + file.string() + ": cannot read voxels: " + e.GetDescription());
  }
  const ImageType* image = reader->GetOutput();
  Image out;
  std::tie(out.geometry, out.channels) = geometry_of<D>(image);
  const size_t n = image->GetLargestPossibleRegion().GetNumberOfPixels();
  out.voxels.assign(image->GetBufferPointer(), image->GetBufferPointer() + n);
  return out;
}

template <unsigned D>
typename itk::Image<float, D>::Pointer header_only(const fs::path& file, itk::ImageIOBase* io) {
  using ImageType = itk::Image<float, D>;
  auto image = ImageType::New();
  typename ImageType::RegionType::SizeType size;
  typename ImageType::SpacingType spacing;
  typename ImageType::PointType origin;
  typename ImageType::DirectionType direction;
  for (unsigned a = 0; a < D; ++a) {
    size[a] = io->GetDimensions(a);
    spacing[a] = io->GetSpacing(a);
    origin[a] = io->GetOrigin(a);
    const auto column = io->GetDirection(a);
    for (unsigned b = 0; b < D; ++b) direction(b, a) = column[b];
  }
  image->SetRegions(size);
  image->SetSpacing(spacing);
  image->SetOrigin(origin);
  image->SetDirection(direction);
  (void)file;
  return image;
}

// Writes with a temporary name that keeps the file ending (ITK picks the format from it).
void write_itk_atomically(const fs::path& file,
                          const std::function<void(const std::string& tmp)>& write) {
  register_image_io_factories();
  if (!is_supported_image_file(file)) {
    throw Error("cannot write " + file.string() +
                ": unsupported file ending (use .nii.gz, .nii, .nrrd or .mha)");
  }
  if (file.has_parent_path()) fs::create_directories(file.parent_path());
  const fs::path tmp =
      file.parent_path() / (".tmp" + std::to_string(::getpid()) + "_" + file.filename().string());
  try {
    write(tmp.string());
  } catch (const itk::ExceptionObject& e) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw Error("cannot write image " + file.string() + ": " + e.GetDescription());
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
  std::error_code ec;
  fs::rename(tmp, file, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error("cannot move " + tmp.string() + " into place as " + file.string());
  }
}

template <typename Pixel, unsigned D>
typename itk::Image<Pixel, D>::Pointer make_itk_image(const Geometry& g, int channels,
                                                      const Pixel* voxels) {
  using ImageType = itk::Image<Pixel, D>;
  auto image = ImageType::New();
  typename ImageType::SizeType size;
  typename ImageType::SpacingType spacing;
  typename ImageType::PointType origin;
  typename ImageType::DirectionType direction;
  direction.SetIdentity();
  const unsigned spatial = std::min(D, 3u);
  for (unsigned a = 0; a < D; ++a) {
    size[a] = a < spatial ? static_cast<itk::SizeValueType>(g.size_xyz[a]) : channels;
    spacing[a] = a < spatial ? g.spacing_xyz[a] : 1.0;
    origin[a] = a < spatial ? g.origin_xyz[a] : 0.0;
    for (unsigned b = 0; b < spatial && a < spatial; ++b) direction(a, b) = g.direction[a * 3 + b];
  }
  image->SetRegions(size);
  image->SetSpacing(spacing);
  image->SetOrigin(origin);
  image->SetDirection(direction);
  image->Allocate();
  std::copy(voxels, voxels + image->GetLargestPossibleRegion().GetNumberOfPixels(),
            image->GetBufferPointer());
  return image;
}

template <typename Pixel, unsigned D>
void write_itk(const std::string& tmp, const Geometry& g, int channels, const Pixel* voxels) {
  auto image = make_itk_image<Pixel, D>(g, channels, voxels);
  auto writer = itk::ImageFileWriter<itk::Image<Pixel, D>>::New();
  writer->SetFileName(tmp);
  writer->SetInput(image);
  writer->SetUseCompression(true);
  writer->Update();
}

std::string format_values(const std::map<double, int64_t>& counts, size_t max_items = 8) {
  std::ostringstream s;
  size_t i = 0;
  for (const auto& [value, count] : counts) {
    if (i++ == max_items) {
      s << ", ... (" << counts.size() << " distinct)";
      break;
    }
    s << (i > 1 ? ", " : "") << value << " (" << count << " voxels)";
  }
  return s.str();
}

}  // namespace

void register_image_io_factories() {
  static std::once_flag once;
  std::call_once(once, [] {
    itk::NiftiImageIOFactory::RegisterOneFactory();
    itk::NrrdImageIOFactory::RegisterOneFactory();
    itk::MetaImageIOFactory::RegisterOneFactory();
  });
}

bool is_supported_image_file(const fs::path& file) {
  const std::string name = lower(file.filename().string());
  for (const char* ending : {".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd"}) {
    if (ends_with(name, ending)) return true;
  }
  return false;
}

Image read_image(const fs::path& file) {
  auto io = open_header(file);
  switch (io->GetNumberOfDimensions()) {
    case 2: return read_with_dimension<2>(file, io.GetPointer());
    case 3: return read_with_dimension<3>(file, io.GetPointer());
    default: return read_with_dimension<4>(file, io.GetPointer());
  }
}

Image read_image_header(const fs::path& file) {
  auto io = open_header(file);
  Image out;
  switch (io->GetNumberOfDimensions()) {
    case 2:
      std::tie(out.geometry, out.channels) = geometry_of<2>(header_only<2>(file, io).GetPointer());
      break;
    case 3:
      std::tie(out.geometry, out.channels) = geometry_of<3>(header_only<3>(file, io).GetPointer());
      break;
    default:
      std::tie(out.geometry, out.channels) = geometry_of<4>(header_only<4>(file, io).GetPointer());
  }
  return out;
}

Image read_channels(const std::vector<fs::path>& files) {
  if (files.empty()) throw Error("read_channels: no channel files given");
  Image out;
  for (size_t c = 0; c < files.size(); ++c) {
    Image one = read_image(files[c]);
    if (one.channels != 1) {
      throw Error("image file " + files[c].string() + ": holds " + std::to_string(one.channels) +
                  " channels; expected one channel per file");
    }
    if (c == 0) {
      out.geometry = one.geometry;
      out.voxels.reserve(one.voxels.size() * files.size());
    } else if (one.geometry.size_xyz != out.geometry.size_xyz) {
      throw Error("image file " + files[c].string() + ": size differs from " + files[0].string());
    } else {
      for (int a = 0; a < 3; ++a) {
        const double s0 = out.geometry.spacing_xyz[a], s1 = one.geometry.spacing_xyz[a];
        if (std::abs(s0 - s1) > 1e-5 * std::max(1.0, std::abs(s0))) {
          throw Error("image file " + files[c].string() + ": spacing differs from " +
                      files[0].string());
        }
      }
    }
    out.voxels.insert(out.voxels.end(), one.voxels.begin(), one.voxels.end());
  }
  out.channels = static_cast<int>(files.size());
  return out;
}

Image read_label_raw(const fs::path& file) {
  Image raw = read_image(file);
  if (raw.channels != 1) {
    throw Error("label file " + file.string() + ": is 4D with " + std::to_string(raw.channels) +
                " volumes; a label must be 3D (or 4D with a 4th size of 1)");
  }
  return raw;
}

LabelImage label_from_raw(const Image& raw, const fs::path& file) {
  LabelImage out;
  out.geometry = raw.geometry;
  out.voxels.resize(raw.voxels.size());
  std::map<double, int64_t> bad;
  for (size_t i = 0; i < raw.voxels.size(); ++i) {
    const double v = raw.voxels[i];
    const double r = std::nearbyint(v);
    if (!std::isfinite(v) || std::abs(v - r) > 1e-3 || r < 0 || r > 255) {
      ++bad[v];
      continue;
    }
    out.voxels[i] = static_cast<uint8_t>(r);
  }
  if (!bad.empty()) {
    throw Error("label file " + file.string() +
                ": values that are not integers in 0..255 (within 1e-3): " + format_values(bad));
  }
  return out;
}

LabelImage read_label(const fs::path& file) { return label_from_raw(read_label_raw(file), file); }

void write_label(const fs::path& file, const LabelImage& label) {
  NNFLEET_CHECK(static_cast<int64_t>(label.voxels.size()) == label.geometry.num_voxels(),
                "label buffer size does not match its geometry");
  write_itk_atomically(file, [&](const std::string& tmp) {
    if (label.geometry.file_dimension == 2) {
      write_itk<uint8_t, 2>(tmp, label.geometry, 1, label.voxels.data());
    } else {
      write_itk<uint8_t, 3>(tmp, label.geometry, 1, label.voxels.data());
    }
  });
}

void write_image(const fs::path& file, const Image& image) {
  NNFLEET_CHECK(static_cast<int64_t>(image.voxels.size()) ==
                    image.channels * image.geometry.num_voxels(),
                "image buffer size does not match its geometry and channel count");
  write_itk_atomically(file, [&](const std::string& tmp) {
    if (image.channels > 1) {
      write_itk<float, 4>(tmp, image.geometry, image.channels, image.voxels.data());
    } else if (image.geometry.file_dimension == 2) {
      write_itk<float, 2>(tmp, image.geometry, 1, image.voxels.data());
    } else {
      write_itk<float, 3>(tmp, image.geometry, 1, image.voxels.data());
    }
  });
}

namespace {

// gzFile owner (reads plain files too).
struct GzFile {
  gzFile f;
  explicit GzFile(const fs::path& p) : f(gzopen(p.c_str(), "rb")) {}
  ~GzFile() {
    if (f) gzclose(f);
  }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;
};

template <typename T>
void count_values(GzFile& in, int64_t per_channel, int channels, NonFiniteCounts& out) {
  std::vector<T> buffer(static_cast<size_t>(std::min<int64_t>(per_channel, 1 << 20)));
  for (int c = 0; c < channels; ++c) {
    for (int64_t left = per_channel; left > 0;) {
      const auto n = static_cast<unsigned>(std::min<int64_t>(left, buffer.size()));
      if (gzread(in.f, buffer.data(), n * sizeof(T)) != static_cast<int>(n * sizeof(T))) return;
      for (unsigned i = 0; i < n; ++i) {
        out.nan[c] += std::isnan(buffer[i]);
        out.inf[c] += std::isinf(buffer[i]);
      }
      left -= n;
    }
  }
}

}  // namespace

NonFiniteCounts count_non_finite_nifti(const fs::path& file) {
  NonFiniteCounts out;
  const std::string name = lower(file.filename().string());
  if (!ends_with(name, ".nii") && !ends_with(name, ".nii.gz")) return out;
  GzFile in(file);
  char header[348];
  if (!in.f || gzread(in.f, header, sizeof header) != static_cast<int>(sizeof header)) return out;
  int32_t sizeof_hdr;
  std::memcpy(&sizeof_hdr, header, 4);
  if (sizeof_hdr != 348) return out;  // NIfTI-2 or byte-swapped: left to ITK
  int16_t dim[8], datatype;
  float vox_offset;
  std::memcpy(dim, header + 40, sizeof dim);
  std::memcpy(&datatype, header + 70, 2);
  std::memcpy(&vox_offset, header + 108, 4);
  if (datatype != 16 && datatype != 64) return out;
  int64_t per_channel = 1;
  for (int a = 1; a <= std::min<int>(dim[0], 3); ++a) per_channel *= std::max<int16_t>(dim[a], 1);
  const int channels = dim[0] >= 4 ? std::max<int16_t>(dim[4], 1) : 1;
  out.nan.assign(channels, 0);
  out.inf.assign(channels, 0);
  gzseek(in.f, static_cast<z_off_t>(vox_offset), SEEK_SET);
  if (datatype == 16) {
    count_values<float>(in, per_channel, channels, out);
  } else {
    count_values<double>(in, per_channel, channels, out);
  }
  return out;
}

}  // namespace nnfleet::preprocessing
