#include "preprocessing/dataset.h"

#include <algorithm>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include "common/atomic_file.h"
#include "common/error.h"
#include "preprocessing/image_io.h"

namespace nnfleet::preprocessing {
namespace fs = std::filesystem;
using nlohmann::json;

std::string Problem::to_string() const {
  std::ostringstream s;
  if (!case_id.empty()) s << "case " << case_id << ": ";
  if (!file.empty()) s << file << ": ";
  if (!field.empty()) s << field << ": ";
  s << message;
  return s.str();
}

std::vector<int> DatasetDescription::label_values() const {
  std::vector<int> values;
  for (const auto& [name, value] : labels) values.push_back(value);
  std::sort(values.begin(), values.end());
  return values;
}

json DatasetDescription::to_v2_json() const {
  nlohmann::json out;
  nlohmann::json channels = nlohmann::json::object();
  for (size_t c = 0; c < channel_names.size(); ++c) channels[std::to_string(c)] = channel_names[c];
  out["channel_names"] = channels;
  nlohmann::json labels_json = nlohmann::json::object();
  for (const auto& [label_name, value] : labels) labels_json[label_name] = value;
  out["labels"] = labels_json;
  out["numTraining"] = static_cast<int>(training.size());
  out["file_ending"] = file_ending;
  out["name"] = name;
  return out;
}

namespace {

const char* kDatasetJson = "dataset.json";

bool is_hidden(const fs::path& p) {
  const std::string n = p.filename().string();
  return n.empty() || n[0] == '.' || n[0] == '_';
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The file ending of an image name: ".nii.gz" or the last extension.
std::string file_ending_of(const std::string& name) {
  if (ends_with(name, ".nii.gz")) return ".nii.gz";
  const auto dot = name.rfind('.');
  return dot == std::string::npos ? "" : name.substr(dot);
}

std::string strip_ending(const std::string& name) {
  return name.substr(0, name.size() - file_ending_of(name).size());
}

std::vector<fs::path> list_files(const fs::path& dir) {
  std::vector<fs::path> files;
  if (!fs::is_directory(dir)) return files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && !is_hidden(entry.path())) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

struct Reader {
  const fs::path folder;
  std::vector<Problem>& problems;
  DatasetDescription d;

  void problem(const std::string& case_id, const std::string& file, const std::string& field,
               const std::string& message) {
    problems.push_back({case_id, file, field, message});
  }
  void json_problem(const std::string& field, const std::string& message) {
    problem("", (folder / kDatasetJson).string(), field, message);
  }

  bool require_keys(const std::vector<std::string>& keys) {
    bool ok = true;
    for (const auto& k : keys) {
      if (!d.json.contains(k)) {
        json_problem(k, "required key is missing");
        ok = false;
      }
    }
    return ok;
  }

  // Resolves a dataset.json path; reports paths that leave the dataset folder.
  std::optional<fs::path> resolve_inside(const std::string& case_id, const std::string& field,
                                         const std::string& relative) {
    const fs::path p = (folder / relative).lexically_normal();
    const fs::path rel = p.lexically_relative(folder.lexically_normal());
    if (rel.empty() || *rel.begin() == "..") {
      problem(case_id, (folder / kDatasetJson).string(), field,
              "path '" + relative + "' leaves the dataset folder");
      return std::nullopt;
    }
    return p;
  }

  void read_channel_names(const std::string& key) {
    const json& m = d.json[key];
    if (!m.is_object() || m.empty()) {
      json_problem(key, "must be a non-empty object {\"0\": \"<name>\", ...}");
      return;
    }
    d.channel_names.assign(m.size(), "");
    for (size_t c = 0; c < m.size(); ++c) {
      const std::string k = std::to_string(c);
      if (!m.contains(k) || !m[k].is_string()) {
        json_problem(key, "keys must be 0.." + std::to_string(m.size() - 1) + " with string names; " +
                              "key \"" + k + "\" is missing or not a string (got " + m.dump() + ")");
        d.channel_names.clear();
        return;
      }
      d.channel_names[c] = m[k].get<std::string>();
    }
  }

  void check_label_values() {
    const std::vector<int> values = d.label_values();
    bool consecutive = !values.empty();
    for (size_t i = 0; i < values.size(); ++i) consecutive = consecutive && values[i] == int(i);
    if (values.empty() || values[0] != 0) {
      json_problem("labels", "must declare background as 0");
    } else if (!consecutive) {
      std::ostringstream s;
      for (size_t i = 0; i < values.size(); ++i) s << (i ? ", " : "") << values[i];
      json_problem("labels", "declared label values must be 0..N-1 without gaps; got " + s.str());
    }
  }

  // MSD: labels are index -> name.
  void read_msd_labels() {
    const json& m = d.json["labels"];
    if (!m.is_object()) return json_problem("labels", "must be an object {\"0\": \"background\"}");
    for (const auto& [key, value] : m.items()) {
      int v = 0;
      try {
        size_t used = 0;
        v = std::stoi(key, &used);
        if (used != key.size()) throw std::invalid_argument(key);
      } catch (const std::exception&) {
        json_problem("labels", "key \"" + key + "\" is not an integer label value");
        continue;
      }
      std::string label_name = value.is_string() ? value.get<std::string>() : value.dump();
      if (d.labels.count(label_name)) label_name += "_" + key;
      d.labels[label_name] = v;
    }
    check_label_values();
  }

  // v2: labels are name -> int (region lists are not supported).
  void read_v2_labels() {
    const json& m = d.json["labels"];
    if (!m.is_object()) return json_problem("labels", "must be an object {\"background\": 0}");
    for (const auto& [key, value] : m.items()) {
      if (!value.is_number_integer()) {
        json_problem("labels", "\"" + key + "\" must map to an integer (region lists are not "
                                            "supported); got " + value.dump());
        continue;
      }
      if (key == "ignore") {
        json_problem("labels", "an \"ignore\" label is not supported");
        continue;
      }
      d.labels[key] = value.get<int>();
    }
    check_label_values();
  }

  void read_num_training() {
    if (!d.json["numTraining"].is_number_integer()) {
      json_problem("numTraining", "must be an integer; got " + d.json["numTraining"].dump());
      return;
    }
    d.num_training = d.json["numTraining"].get<int>();
  }

  void check_num_training(size_t found, const std::string& what) {
    if (d.json.contains("numTraining") && d.num_training != static_cast<int>(found)) {
      json_problem("numTraining", "declares " + std::to_string(d.num_training) + " cases but " +
                                      what + " " + std::to_string(found));
    }
  }

  // Per-channel files <stem>_0000<ending>, ... for the v1 split layout (when they exist).
  std::vector<fs::path> split_channel_files(const fs::path& listed) {
    const std::string stem = strip_ending(listed.filename().string());
    const std::string ending = file_ending_of(listed.filename().string());
    std::vector<fs::path> files;
    for (int c = 0; c < std::max(1, d.num_channels()); ++c) {
      char suffix[16];
      std::snprintf(suffix, sizeof suffix, "_%04d", c);
      files.push_back(listed.parent_path() / (stem + suffix + ending));
    }
    return files;
  }

  void read_msd_case(const json& entry, std::set<std::string>& seen) {
    if (!entry.is_object() || !entry.contains("image") || !entry["image"].is_string()) {
      return json_problem("training", "entry without an \"image\" path: " + entry.dump());
    }
    const std::string image_rel = entry["image"].get<std::string>();
    CaseFiles c;
    c.id = strip_ending(fs::path(image_rel).filename().string());
    if (!seen.insert(c.id).second) {
      return problem(c.id, (folder / kDatasetJson).string(), "training", "case listed twice");
    }
    const auto image = resolve_inside(c.id, "training.image", image_rel);
    if (!image) return;
    if (fs::exists(*image)) {
      c.images = {*image};
    } else if (auto split = split_channel_files(*image); fs::exists(split[0])) {
      c.images = split;
      for (const auto& f : split) {
        if (!fs::exists(f)) problem(c.id, f.string(), "image", "channel file does not exist");
      }
    } else {
      problem(c.id, image->string(), "image", "image file does not exist");
    }
    if (!entry.contains("label") || !entry["label"].is_string()) {
      problem(c.id, (folder / kDatasetJson).string(), "training.label", "entry has no label path");
    } else if (const auto label = resolve_inside(c.id, "training.label", entry["label"])) {
      c.label = *label;
      if (!fs::exists(c.label)) {
        problem(c.id, c.label.string(), "label", "label file does not exist (image without label)");
      }
    }
    d.training.push_back(c);
  }

  // Files in imagesTr / labelsTr that no training entry uses.
  void report_stray_files() {
    std::set<fs::path> used;
    for (const auto& c : d.training) {
      for (const auto& f : c.images) used.insert(f.lexically_normal());
      used.insert(c.label.lexically_normal());
    }
    for (const auto& f : list_files(folder / "imagesTr")) {
      if (used.count(f.lexically_normal())) continue;
      const std::string id = strip_ending(f.filename().string());
      problem(id, f.string(), "image", "image in imagesTr that dataset.json does not list (" +
                                           std::string(fs::exists(folder / "labelsTr" / f.filename())
                                                           ? "its label exists"
                                                           : "no label file either") + ")");
    }
    for (const auto& f : list_files(folder / "labelsTr")) {
      if (used.count(f.lexically_normal())) continue;
      const std::string id = strip_ending(f.filename().string());
      problem(id, f.string(), "label", "label in labelsTr without a listed image (label whose "
                                       "image is missing)");
    }
  }

  void read_msd() {
    d.layout = Layout::kMsd;
    if (!require_keys({"modality", "labels", "training", "numTraining"})) {
      if (d.json.contains("modality")) read_channel_names("modality");
      if (d.json.contains("labels")) read_msd_labels();
      return;
    }
    read_channel_names("modality");
    read_msd_labels();
    read_num_training();
    if (!d.json["training"].is_array()) return json_problem("training", "must be a list");
    std::set<std::string> seen;
    for (const auto& entry : d.json["training"]) read_msd_case(entry, seen);
    check_num_training(d.training.size(), "\"training\" lists");
    report_stray_files();
  }

  void read_v2_explicit_cases() {
    const json& m = d.json["dataset"];
    if (!m.is_object()) return json_problem("dataset", "must be an object {case: {images, label}}");
    for (const auto& [id, entry] : m.items()) {
      CaseFiles c;
      c.id = id;
      if (!entry.contains("images") || !entry["images"].is_array()) {
        problem(id, (folder / kDatasetJson).string(), "dataset.images", "must be a list of paths");
        continue;
      }
      for (const auto& p : entry["images"]) {
        if (const auto f = resolve_inside(id, "dataset.images", p.get<std::string>())) {
          c.images.push_back(*f);
          if (!fs::exists(*f)) problem(id, f->string(), "image", "image file does not exist");
        }
      }
      if (entry.contains("label")) {
        if (const auto f = resolve_inside(id, "dataset.label", entry["label"].get<std::string>())) {
          c.label = *f;
          if (!fs::exists(*f)) problem(id, f->string(), "label", "label file does not exist");
        }
      }
      d.training.push_back(c);
    }
  }

  void read_v2_listed_cases() {
    const std::regex channel_file("^(.+)_(\\d{4})" + std::regex_replace(
        d.file_ending, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") + "$");
    std::map<std::string, std::map<int, fs::path>> by_case;
    for (const auto& f : list_files(folder / "imagesTr")) {
      std::smatch m;
      const std::string name = f.filename().string();
      if (!std::regex_match(name, m, channel_file)) {
        problem("", f.string(), "image", "file name does not match <case>_XXXX" + d.file_ending);
        continue;
      }
      by_case[m[1]][std::stoi(m[2])] = f;
    }
    std::set<std::string> ids;
    for (const auto& [id, channels] : by_case) {
      CaseFiles c;
      c.id = id;
      ids.insert(id);
      for (int ch = 0; ch < std::max(1, d.num_channels()); ++ch) {
        char suffix[16];
        std::snprintf(suffix, sizeof suffix, "_%04d", ch);
        const fs::path expected = folder / "imagesTr" / (id + suffix + d.file_ending);
        if (!channels.count(ch)) problem(id, expected.string(), "channels", "channel file is missing");
        c.images.push_back(expected);
      }
      for (const auto& [ch, f] : channels) {
        if (ch >= d.num_channels()) {
          problem(id, f.string(), "channels", "channel " + std::to_string(ch) + " but dataset.json "
                  "declares " + std::to_string(d.num_channels()) + " channel(s)");
        }
      }
      c.label = folder / "labelsTr" / (id + d.file_ending);
      if (!fs::exists(c.label)) {
        problem(id, c.label.string(), "label", "label file does not exist (image without label)");
      }
      d.training.push_back(c);
    }
    for (const auto& f : list_files(folder / "labelsTr")) {
      const std::string name = f.filename().string();
      if (!ends_with(name, d.file_ending)) continue;
      const std::string id = name.substr(0, name.size() - d.file_ending.size());
      if (!ids.count(id)) {
        problem(id, f.string(), "label", "label in labelsTr without image files (label whose "
                                         "image is missing)");
      }
    }
  }

  void read_v2() {
    d.layout = Layout::kV2;
    // The old key "modality" is still accepted in place of "channel_names".
    const std::string channels_key =
        !d.json.contains("channel_names") && d.json.contains("modality") ? "modality" : "channel_names";
    if (!require_keys({channels_key, "labels", "numTraining", "file_ending"})) {
      if (d.json.contains(channels_key)) read_channel_names(channels_key);
      if (d.json.contains("labels")) read_v2_labels();
      return;
    }
    read_channel_names(channels_key);
    read_v2_labels();
    read_num_training();
    d.file_ending = d.json["file_ending"].get<std::string>();
    if (d.json.contains("dataset")) {
      read_v2_explicit_cases();
    } else {
      read_v2_listed_cases();
    }
    check_num_training(d.training.size(), "imagesTr holds");
  }
};

}  // namespace

DatasetDescription read_dataset(const fs::path& folder, std::vector<Problem>& problems) {
  const fs::path json_file = folder / kDatasetJson;
  if (!fs::exists(json_file)) throw Error("dataset " + folder.string() + ": no dataset.json");
  Reader r{folder, problems, {}};
  r.d.folder = folder;
  r.d.json = read_json(json_file);
  if (!r.d.json.is_object()) throw Error(json_file.string() + ": must hold a JSON object");
  r.d.name = r.d.json.value("name", folder.filename().string());
  const bool msd = r.d.json.contains("training") && !r.d.json.contains("file_ending");
  if (msd) {
    r.read_msd();
  } else {
    r.read_v2();
  }
  std::sort(r.d.training.begin(), r.d.training.end(),
            [](const CaseFiles& a, const CaseFiles& b) { return a.id < b.id; });
  return r.d;
}

DatasetDescription read_dataset_strict(const fs::path& folder) {
  std::vector<Problem> problems;
  DatasetDescription d = read_dataset(folder, problems);
  if (!problems.empty()) {
    std::string message = "dataset " + folder.string() + " has " +
                          std::to_string(problems.size()) + " problem(s):";
    for (const auto& p : problems) message += "\n  " + p.to_string();
    throw Error(message);
  }
  return d;
}

}  // namespace nnfleet::preprocessing
