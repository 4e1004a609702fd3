#pragma once
// The input folder of `nnfleet predict`: images named like the training images, either one file
// per channel (<case>_0000<ending>, <case>_0001<ending>, ... as nnU-Net v2 and the split v1 layout
// name them) or one file per case holding every channel (MSD: 3D for one channel, 4D with the
// channels on the 4th axis). No LibTorch.

#include <filesystem>
#include <string>
#include <vector>

namespace nnfleet::worker {

struct InputCase {
  std::string id;                            // file name without channel suffix and ending
  std::vector<std::filesystem::path> files;  // one per channel in channel order, or one 4D file
};

// Finds the cases of `folder` (files with a supported image ending; others are ignored).
// The per-channel layout is used when every image file ends in _NNNN (four digits). Checks that
// each case has exactly `num_channels` channels: per-channel files 0000..N-1 with no gaps, or a
// single file whose header says N channels. Throws nnfleet::Error naming the file (or case), what
// it has and what the dataset expects; also when the folder is missing or holds no image.
// Cases are sorted by id.
std::vector<InputCase> find_input_cases(const std::filesystem::path& folder, int num_channels);

// The cases of rank `rank` of `size`: every size-th case starting at `rank`.
std::vector<InputCase> cases_of_rank(const std::vector<InputCase>& cases, int rank, int size);

// The image file ending of `file` (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd"), or "".
std::string image_ending(const std::filesystem::path& file);

}  // namespace nnfleet::worker
