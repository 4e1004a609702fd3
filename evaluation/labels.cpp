#include "evaluation/labels.h"

#include <algorithm>
#include <map>

#include "common/atomic_file.h"
#include "common/error.h"

namespace nnfleet::evaluation {
namespace {

bool is_integer_text(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int label_value(const nlohmann::json& v, const std::string& name, const std::string& where) {
  if (v.is_array()) {
    throw Error("[evaluation] " + where + ": label '" + name +
                "' is a region (list of values); region-based evaluation is not supported");
  }
  if (!v.is_number_integer() || v.get<int>() < 0 || v.get<int>() > 255) {
    throw Error("[evaluation] " + where + ": label '" + name + "' has value " + v.dump() +
                "; expected an integer in 0..255");
  }
  return v.get<int>();
}

// MSD / v1: "labels": {"0": "background", "1": "Anterior"}.
LabelSet parse_msd(const nlohmann::json& labels, const std::string& where) {
  std::map<int, std::string> by_value;
  for (const auto& [key, name] : labels.items()) {
    if (!name.is_string()) throw Error("[evaluation] " + where + ": label " + key + " has no name");
    by_value[std::stoi(key)] = name.get<std::string>();
  }
  LabelSet set;
  for (const auto& [value, name] : by_value) {
    if (value == 0) continue;
    set.foreground.push_back(value);
    set.names.push_back(name);
  }
  return set;
}

// v2: "labels": {"background": 0, "Anterior": 1, "ignore": 3}.
LabelSet parse_v2(const nlohmann::json& labels, const std::string& where) {
  LabelSet set;
  std::map<int, std::string> by_value;
  for (const auto& [name, v] : labels.items()) {
    const int value = label_value(v, name, where);
    if (name == "ignore") {
      set.ignore_label = value;
    } else if (value != 0) {
      if (by_value.count(value)) {
        throw Error("[evaluation] " + where + ": labels '" + by_value[value] + "' and '" + name +
                    "' share value " + std::to_string(value));
      }
      by_value[value] = name;
    }
  }
  for (const auto& [value, name] : by_value) {
    set.foreground.push_back(value);
    set.names.push_back(name);
  }
  return set;
}

}  // namespace

int LabelSet::max_label() const {
  int m = foreground.empty() ? 0 : *std::max_element(foreground.begin(), foreground.end());
  return m;
}

LabelSet parse_labels(const nlohmann::json& dataset_json, const std::string& where) {
  if (!dataset_json.is_object() || !dataset_json.contains("labels") ||
      !dataset_json["labels"].is_object() || dataset_json["labels"].empty()) {
    throw Error("[evaluation] " + where + ": no \"labels\" object");
  }
  const nlohmann::json& labels = dataset_json["labels"];
  bool msd = true;
  for (const auto& item : labels.items()) msd = msd && is_integer_text(item.key());
  LabelSet set = msd ? parse_msd(labels, where) : parse_v2(labels, where);
  if (set.foreground.empty()) throw Error("[evaluation] " + where + ": no foreground label");
  return set;
}

LabelSet read_labels(const std::filesystem::path& file) {
  const nlohmann::json j = read_json(file);
  return parse_labels(j, file.string());
}

nlohmann::json labels_to_v2_json(const LabelSet& labels) {
  nlohmann::json j = {{"background", 0}};
  for (size_t i = 0; i < labels.foreground.size(); ++i) j[labels.names[i]] = labels.foreground[i];
  if (labels.ignore_label) j["ignore"] = *labels.ignore_label;
  return j;
}

}  // namespace nnfleet::evaluation
