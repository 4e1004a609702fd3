#pragma once
// Medical image I/O through ITK (NIfTI .nii/.nii.gz, NRRD .nrrd/.nhdr, MetaImage .mha/.mhd).
//
// Geometry follows ITK's words and physical (LPS) frame: spacing in mm, origin in mm, direction as
// a row-major 3x3 matrix, all indexed x, y, z. Voxel buffers are C-order (C, Z, Y, X), i.e. x
// varies fastest, exactly ITK's buffer order, and the reverse of ITK's (x, y, z) index order.
//
// 2D files: size_xyz[2] == 1, file_dimension == 2 and the z spacing is set to 999 x the largest
// in-plane spacing, as nnU-Net's reader does (so the planner treats z as the "out-of-plane" axis).
// 4D files: the fourth axis holds channels; geometry comes from the first three axes and the upper
// left 3x3 block of the direction. Spacings are stored as absolute values.
//
// Every function throws nnfleet::Error naming the file on any failure (missing file, unknown
// format, unreadable header, wrong dimension). Thread-safe: each call owns its ITK objects.

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace nnfleet::preprocessing {

struct Geometry {
  std::array<double, 3> spacing_xyz{1, 1, 1};     // mm, > 0
  std::array<double, 3> origin_xyz{0, 0, 0};      // mm, physical (LPS) position of voxel 0
  std::array<double, 9> direction{1, 0, 0, 0, 1, 0, 0, 0, 1};  // row-major 3x3
  std::array<int64_t, 3> size_xyz{1, 1, 1};       // voxels
  int file_dimension = 3;                          // 2 for 2D files (written back as 2D)

  int64_t num_voxels() const { return size_xyz[0] * size_xyz[1] * size_xyz[2]; }
  // Array order helpers: (z, y, x).
  std::array<int64_t, 3> shape_zyx() const { return {size_xyz[2], size_xyz[1], size_xyz[0]}; }
  std::array<double, 3> spacing_zyx() const {
    return {spacing_xyz[2], spacing_xyz[1], spacing_xyz[0]};
  }
};

struct Image {
  Geometry geometry;
  int channels = 1;
  std::vector<float> voxels;  // C-order (C, Z, Y, X); size = channels * geometry.num_voxels()
};

struct LabelImage {
  Geometry geometry;
  std::vector<uint8_t> voxels;  // (Z, Y, X)
};

// Reads a 2D, 3D or 4D (4th axis = channels) image as float32. NIfTI scl_slope / scl_inter are
// applied (when the slope is finite and non-zero). A 4D file with a 4th size of 1 is a 1-channel
// image. 5D or vector-pixel files are rejected.
Image read_image(const std::filesystem::path& file);

// Reads only the header: geometry and channel count (4th size, 1 for 2D/3D files).
Image read_image_header(const std::filesystem::path& file);

// One 2D/3D file per channel -> one image with files.size() channels. Throws if a file has more
// than one channel or the files' shapes or spacings differ (error names both files and the field).
Image read_channels(const std::vector<std::filesystem::path>& files);

// Label values as read (after scl_slope/inter), one per voxel, before integer validation.
// Used by validation to report fractional values with counts; most callers want read_label.
Image read_label_raw(const std::filesystem::path& file);

// Reads a segmentation: values within 1e-3 of an integer are rounded to nearest; fractional,
// negative, NaN/Inf or > 255 values are rejected (the error lists the offending values). 4D labels
// are accepted only with a 4th size of 1.
LabelImage read_label(const std::filesystem::path& file);

// Converts float label values to uint8 with the rules of read_label; `file` only names the error.
LabelImage label_from_raw(const Image& raw, const std::filesystem::path& file);

// Writes a uint8 label image with its geometry (2D when geometry.file_dimension == 2). The file is
// written under a temporary name in the same folder and renamed, so it is complete or absent.
void write_label(const std::filesystem::path& file, const LabelImage& label);

// Writes a float32 image: 3D (or 2D) for one channel, 4D for several. Atomic like write_label.
void write_image(const std::filesystem::path& file, const Image& image);

// Non-finite voxels per channel as stored in a NIfTI file. ITK's NIfTI reader silently replaces NaN
// and Inf floats by 0, so validation reads the raw float32/float64 data of .nii/.nii.gz files
// itself. Returns empty vectors for other formats and for integer data.
struct NonFiniteCounts {
  std::vector<int64_t> nan, inf;  // per channel (4th axis)
};
NonFiniteCounts count_non_finite_nifti(const std::filesystem::path& file);

// True for the file endings handled here (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd").
bool is_supported_image_file(const std::filesystem::path& file);

// Registers ITK's NIfTI, NRRD and MetaImage IO factories once (idempotent, thread-safe). Called by
// every function above; exposed for code that uses ITK readers directly.
void register_image_io_factories();

}  // namespace nnfleet::preprocessing
