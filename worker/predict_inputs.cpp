#include "worker/predict_inputs.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "common/error.h"
#include "preprocessing/image_io.h"

namespace nnfleet::worker {
namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Splits "<case>_NNNN" into case and channel; channel -1 when there is no four-digit suffix.
std::pair<std::string, int> split_channel(const std::string& stem) {
  if (stem.size() < 6 || stem[stem.size() - 5] != '_') return {stem, -1};
  const std::string digits = stem.substr(stem.size() - 4);
  if (!std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c); }))
    return {stem, -1};
  return {stem.substr(0, stem.size() - 5), std::stoi(digits)};
}

std::string channel_list(const std::map<int, std::filesystem::path>& channels) {
  std::string s;
  for (const auto& [c, f] : channels) s += (s.empty() ? "" : ", ") + std::to_string(c);
  return s;
}

std::vector<InputCase> per_channel_cases(const std::vector<std::filesystem::path>& files, int num_channels) {
  std::map<std::string, std::map<int, std::filesystem::path>> by_case;
  for (const auto& f : files) {
    const std::string name = f.filename().string();
    const auto [id, channel] = split_channel(name.substr(0, name.size() - image_ending(f).size()));
    by_case[id][channel] = f;
  }
  std::vector<InputCase> cases;
  for (const auto& [id, channels] : by_case) {
    const bool complete = static_cast<int>(channels.size()) == num_channels &&
                          channels.begin()->first == 0 && channels.rbegin()->first == num_channels - 1;
    if (!complete)
      throw Error("[predict] case " + id + ": found channel files " + channel_list(channels) +
                  " (" + channels.begin()->second.parent_path().string() + "), but the dataset has " +
                  std::to_string(num_channels) + " channel(s): expected _0000 to _" +
                  std::string(num_channels - 1 < 10 ? "000" : "00") + std::to_string(num_channels - 1));
    InputCase c{id, {}};
    for (const auto& [channel, f] : channels) c.files.push_back(f);
    cases.push_back(std::move(c));
  }
  return cases;
}

std::vector<InputCase> single_file_cases(const std::vector<std::filesystem::path>& files, int num_channels) {
  std::vector<InputCase> cases;
  for (const auto& f : files) {
    const int channels = preprocessing::read_image_header(f).channels;
    if (channels != num_channels)
      throw Error("[predict] " + f.string() + " holds " + std::to_string(channels) +
                  " channel(s), but the dataset has " + std::to_string(num_channels) +
                  "; give one 4D file per case or one <case>_NNNN file per channel");
    const std::string name = f.filename().string();
    cases.push_back({name.substr(0, name.size() - image_ending(f).size()), {f}});
  }
  return cases;
}

}  // namespace

std::string image_ending(const std::filesystem::path& file) {
  const std::string name = file.filename().string();
  for (const char* e : {".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd"})
    if (ends_with(name, e)) return e;
  return "";
}

std::vector<InputCase> find_input_cases(const std::filesystem::path& folder, int num_channels) {
  if (!std::filesystem::is_directory(folder))
    throw Error("[predict] input folder " + folder.string() + " does not exist");
  if (num_channels < 1) throw Error("[predict] the dataset declares no input channel");
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(folder))
    if (entry.is_regular_file() && !image_ending(entry.path()).empty() &&
        entry.path().filename().string()[0] != '.')
      files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  if (files.empty())
    throw Error("[predict] input folder " + folder.string() +
                " holds no image (.nii.gz, .nii, .nrrd, .nhdr, .mha, .mhd)");

  const bool per_channel = std::all_of(files.begin(), files.end(), [](const std::filesystem::path& f) {
    const std::string name = f.filename().string();
    return split_channel(name.substr(0, name.size() - image_ending(f).size())).second >= 0;
  });
  return per_channel ? per_channel_cases(files, num_channels) : single_file_cases(files, num_channels);
}

std::vector<InputCase> cases_of_rank(const std::vector<InputCase>& cases, int rank, int size) {
  std::vector<InputCase> mine;
  for (size_t i = static_cast<size_t>(rank); i < cases.size(); i += static_cast<size_t>(std::max(size, 1)))
    mine.push_back(cases[i]);
  return mine;
}

}  // namespace nnfleet::worker
