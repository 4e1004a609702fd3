#include "common/folders.h"

#include <cstdio>
#include <cstdlib>
#include <regex>
#include <vector>

#include "common/error.h"

namespace nnfleet {
namespace fs = std::filesystem;
namespace {

std::pair<fs::path, std::string> pick(const std::string& flag, const char* ours, const char* theirs,
                                      const std::string& flag_name) {
  if (!flag.empty()) return {fs::path(flag), flag_name};
  if (const char* v = std::getenv(ours); v && *v) return {fs::path(v), ours};
  if (const char* v = std::getenv(theirs); v && *v) return {fs::path(v), theirs};
  return {fs::path(), ""};
}

void require(const fs::path& p, const char* what, const char* flag, const char* ours,
             const char* theirs) {
  if (p.empty())
    throw Error(std::string("the ") + what + " folder is not set: pass " + flag + " or set " + ours +
                " (nnU-Net's " + theirs + " is accepted too)");
}

}  // namespace

Folders Folders::resolve(const std::string& raw_flag, const std::string& preprocessed_flag,
                         const std::string& results_flag) {
  Folders f;
  std::tie(f.raw, f.raw_source) = pick(raw_flag, "NNFLEET_RAW", "nnUNet_raw", "--raw");
  std::tie(f.preprocessed, f.preprocessed_source) =
      pick(preprocessed_flag, "NNFLEET_PREPROCESSED", "nnUNet_preprocessed", "--preprocessed");
  std::tie(f.results, f.results_source) =
      pick(results_flag, "NNFLEET_RESULTS", "nnUNet_results", "--results");
  return f;
}

void Folders::require_raw() const {
  require(raw, "raw data", "--raw", "NNFLEET_RAW", "nnUNet_raw");
}
void Folders::require_preprocessed() const {
  require(preprocessed, "preprocessed data", "--preprocessed", "NNFLEET_PREPROCESSED",
          "nnUNet_preprocessed");
}
void Folders::require_results() const {
  require(results, "results", "--results", "NNFLEET_RESULTS", "nnUNet_results");
}

std::optional<std::pair<int, std::string>> parse_dataset_folder_name(const std::string& folder) {
  static const std::regex pattern(R"(^(?:Dataset(\d{3})|Task(\d{2,3}))_(.+)$)");
  std::smatch m;
  if (!std::regex_match(folder, m, pattern)) return std::nullopt;
  const std::string digits = m[1].matched ? m[1].str() : m[2].str();
  return std::make_pair(std::stoi(digits), m[3].str());
}

std::string canonical_dataset_name(int id, const std::string& name) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "Dataset%03d_", id);
  return buf + name;
}

namespace {

DatasetRef from_folder(const fs::path& folder, bool is_raw) {
  DatasetRef ref;
  if (is_raw) ref.raw_folder = folder;
  const std::string base = folder.filename().string();
  if (auto parsed = parse_dataset_folder_name(base)) {
    ref.id = parsed->first;
    ref.name = parsed->second;
    ref.canonical = canonical_dataset_name(ref.id, ref.name);
  } else {
    ref.name = base;
    ref.canonical = base;
  }
  return ref;
}

std::vector<fs::path> matches_in(const fs::path& root, const std::string& spec) {
  std::vector<fs::path> out;
  if (root.empty() || !fs::is_directory(root)) return out;
  const bool numeric = !spec.empty() && spec.find_first_not_of("0123456789") == std::string::npos;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (!entry.is_directory()) continue;
    const std::string base = entry.path().filename().string();
    if (base == spec) {
      out.push_back(entry.path());
      continue;
    }
    auto parsed = parse_dataset_folder_name(base);
    if (!parsed) continue;
    if (numeric && parsed->first == std::stoi(spec)) out.push_back(entry.path());
    // "Dataset004_Hippocampus" also finds a raw "Task04_Hippocampus" and vice versa.
    if (!numeric) {
      auto wanted = parse_dataset_folder_name(spec);
      if (wanted && *wanted == *parsed) out.push_back(entry.path());
    }
  }
  return out;
}

}  // namespace

DatasetRef resolve_dataset(const std::string& spec, const Folders& folders) {
  if (spec.empty()) throw Error("no dataset given: pass -d DATASET (a path, name or number)");
  if (spec.find('/') != std::string::npos || fs::is_directory(spec)) {
    if (!fs::is_directory(spec)) throw Error("dataset folder " + spec + " does not exist");
    return from_folder(fs::absolute(spec).lexically_normal(), true);
  }
  auto found = matches_in(folders.raw, spec);
  bool is_raw = true;
  if (found.empty()) {
    found = matches_in(folders.preprocessed, spec);
    is_raw = false;
  }
  if (found.empty()) {
    std::string where = folders.raw.empty() ? "(raw folder not set)" : folders.raw.string();
    if (!folders.preprocessed.empty()) where += " or " + folders.preprocessed.string();
    throw Error("dataset '" + spec + "' not found in " + where +
                ": give a path, a folder name (Task04_Hippocampus, Dataset004_Hippocampus) or an id");
  }
  if (found.size() > 1) {
    std::string list;
    for (const auto& p : found) list += " " + p.filename().string();
    throw Error("dataset '" + spec + "' is ambiguous; it matches:" + list);
  }
  return from_folder(found.front(), is_raw);
}

}  // namespace nnfleet
