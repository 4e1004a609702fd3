#include "evaluation/ensemble.h"

#include <algorithm>

#include "common/error.h"
#include "evaluation/evaluate.h"

namespace nnfleet::evaluation {
namespace fs = std::filesystem;
namespace {

std::string size_text(const ProbabilityMap& m) {
  const auto& s = m.geometry.size_xyz;
  return "K=" + std::to_string(m.num_classes) + " size (x, y, z) (" + std::to_string(s[0]) + ", " +
         std::to_string(s[1]) + ", " + std::to_string(s[2]) + ")";
}

void check_same_shape(const ProbabilityMap& a, const ProbabilityMap& b, size_t index) {
  if (b.num_classes != a.num_classes || b.geometry.size_xyz != a.geometry.size_xyz) {
    throw Error("[evaluation] case " + a.case_id + ": probabilities " + size_text(b) + " of input " +
                std::to_string(index) + " differ from " + size_text(a) + " of input 0");
  }
}

}  // namespace

ProbabilityMap average_probabilities(std::vector<ProbabilityMap> maps) {
  NNFLEET_CHECK(!maps.empty(), "nothing to average");
  ProbabilityMap& sum = maps.front();
  for (size_t m = 1; m < maps.size(); ++m) {
    check_same_shape(sum, maps[m], m);
    for (size_t i = 0; i < sum.values.size(); ++i) sum.values[i] += maps[m].values[i];
  }
  const float count = float(maps.size());
  if (maps.size() > 1)
    for (float& v : sum.values) v /= count;
  return std::move(sum);
}

ProbabilityMap average_probability_files(const std::vector<fs::path>& files) {
  std::vector<ProbabilityMap> maps;
  for (const auto& f : files) maps.push_back(read_probability_file(f));
  try {
    return average_probabilities(std::move(maps));
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " (files: " + files.front().string() + ", ...)");
  }
}

std::vector<uint8_t> argmax_labels(const ProbabilityMap& map) {
  if (map.num_classes > 256) {
    throw Error("[evaluation] case " + map.case_id + ": " + std::to_string(map.num_classes) +
                " channels do not fit uint8 labels");
  }
  const int64_t n = map.num_voxels();
  std::vector<uint8_t> labels(n, 0);
  std::vector<float> best(map.channel(0), map.channel(0) + n);
  for (int k = 1; k < map.num_classes; ++k) {
    const float* p = map.channel(k);
    for (int64_t i = 0; i < n; ++i) {
      if (p[i] > best[i]) {
        best[i] = p[i];
        labels[i] = uint8_t(k);
      }
    }
  }
  return labels;
}

std::vector<uint8_t> argmax_of_average(const std::vector<const ProbabilityMap*>& maps) {
  NNFLEET_CHECK(!maps.empty(), "nothing to average");
  if (maps.size() == 1) return argmax_labels(*maps.front());
  for (size_t m = 1; m < maps.size(); ++m) check_same_shape(*maps.front(), *maps[m], m);
  const int64_t n = maps.front()->num_voxels();
  const int classes = maps.front()->num_classes;
  const float count = float(maps.size());
  std::vector<uint8_t> labels(n, 0);
  for (int64_t i = 0; i < n; ++i) {
    float best = 0;
    for (int k = 0; k < classes; ++k) {
      // Same float32 operations as summing whole arrays, then dividing.
      float v = maps[0]->channel(k)[i];
      for (size_t m = 1; m < maps.size(); ++m) v += maps[m]->channel(k)[i];
      v /= count;
      if (k == 0 || v > best) {
        best = v;
        labels[i] = uint8_t(k);
      }
    }
  }
  return labels;
}

preprocessing::LabelImage segmentation_from_probabilities(const ProbabilityMap& map) {
  preprocessing::LabelImage seg;
  seg.geometry = map.geometry;
  seg.voxels = argmax_labels(map);
  return seg;
}

std::vector<std::string> ensemble_cases(const std::vector<fs::path>& folders) {
  if (folders.empty()) throw Error("[evaluation] ensemble: no input folders");
  const auto cases = list_cases(folders.front(), ".h5");
  if (cases.empty()) throw Error("[evaluation] ensemble: no .h5 probability files in " + folders.front().string());
  for (size_t f = 1; f < folders.size(); ++f) {
    const auto other = list_cases(folders[f], ".h5");
    std::vector<std::string> missing;
    std::set_symmetric_difference(cases.begin(), cases.end(), other.begin(), other.end(),
                                  std::back_inserter(missing));
    if (!missing.empty()) {
      throw Error("[evaluation] ensemble: " + folders[f].string() + " and " + folders.front().string() +
                  " do not hold the same cases; case " + missing.front() + " is in only one (" +
                  std::to_string(missing.size()) + " differ)");
    }
  }
  return cases;
}

std::vector<std::string> ensemble_folders(const EnsembleOptions& o, const dist::Comm& world) {
  const auto cases = ensemble_cases(o.input_folders);
  if (world.rank() == 0) {
    fs::create_directories(o.output_folder);
    const fs::path dataset_json = o.input_folders.front() / "dataset.json";
    if (fs::is_regular_file(dataset_json))
      fs::copy_file(dataset_json, o.output_folder / "dataset.json", fs::copy_options::overwrite_existing);
  }
  world.barrier();
  std::vector<std::string> mine;
  for (size_t c = world.rank(); c < cases.size(); c += world.size()) {
    std::vector<fs::path> files;
    for (const auto& folder : o.input_folders) files.push_back(folder / (cases[c] + ".h5"));
    const ProbabilityMap average = average_probability_files(files);
    preprocessing::LabelImage seg = segmentation_from_probabilities(average);
    if (o.postprocessing) apply_postprocessing(seg, *o.postprocessing);
    preprocessing::write_label(o.output_folder / (cases[c] + o.file_ending), seg);
    if (o.save_probabilities) write_probability_file(o.output_folder / (cases[c] + ".h5"), average);
    mine.push_back(cases[c]);
  }
  world.barrier();
  return mine;
}

}  // namespace nnfleet::evaluation
