#include "worker/splits.h"

#include <algorithm>
#include <numeric>

#include <nlohmann/json.hpp>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/log.h"
#include "preprocessing/numpy_random.h"

namespace nnfleet::worker {

std::vector<int64_t> legacy_numpy_permutation(int64_t n, uint32_t seed) {
  // permutation(n) = arange(n) shuffled = choice(n, n, replace=False) in the legacy generator.
  return preprocessing::NumpyLegacyRandom(seed).choice_without_replacement(n, n);
}

std::vector<Fold> kfold_splits(const std::vector<std::string>& cases, int n_splits,
                               uint32_t seed) {
  const auto n = static_cast<int64_t>(cases.size());
  if (n_splits < 2 || n < n_splits)
    throw Error("[splits] cannot make " + std::to_string(n_splits) + " folds from " +
                std::to_string(n) + " cases");
  const auto order = legacy_numpy_permutation(n, seed);
  std::vector<Fold> splits(n_splits);
  int64_t start = 0;
  for (int k = 0; k < n_splits; ++k) {
    const int64_t size = n / n_splits + (k < n % n_splits ? 1 : 0);
    std::vector<bool> is_val(n, false);
    for (int64_t i = start; i < start + size; ++i) is_val[order[i]] = true;
    for (int64_t i = 0; i < n; ++i) (is_val[i] ? splits[k].val : splits[k].train).push_back(cases[i]);
    start += size;
  }
  return splits;
}

std::vector<Fold> read_splits(const std::filesystem::path& file) {
  const nlohmann::json doc = read_json(file);
  if (!doc.is_array() || doc.empty())
    throw Error("[splits] " + file.string() + ": expected a non-empty list of {train, val}");
  std::vector<Fold> splits;
  for (size_t k = 0; k < doc.size(); ++k) {
    const auto& entry = doc[k];
    if (!entry.contains("train") || !entry.contains("val"))
      throw Error("[splits] " + file.string() + ": fold " + std::to_string(k) +
                  " lacks \"train\" or \"val\"");
    splits.push_back({entry["train"].get<std::vector<std::string>>(),
                      entry["val"].get<std::vector<std::string>>()});
  }
  return splits;
}

void write_splits(const std::filesystem::path& file, const std::vector<Fold>& splits) {
  nlohmann::json doc = nlohmann::json::array();
  for (const auto& fold : splits) doc.push_back({{"train", fold.train}, {"val", fold.val}});
  write_json_atomically(file, doc);
}

std::vector<Fold> load_or_create_splits(const std::filesystem::path& preprocessed_dataset,
                                        std::vector<std::string> cases) {
  const auto file = preprocessed_dataset / "splits_final.json";
  if (std::filesystem::exists(file)) {
    spdlog::info("[splits] using the existing {}", file.string());
    return read_splits(file);
  }
  std::sort(cases.begin(), cases.end());
  auto splits = kfold_splits(cases);
  write_splits(file, splits);
  spdlog::info("[splits] wrote five folds of {} cases to {}", cases.size(), file.string());
  return splits;
}

const Fold& select_fold(const std::vector<Fold>& splits, int fold,
                        const std::filesystem::path& file) {
  if (fold < 0 || fold >= static_cast<int>(splits.size()))
    throw Error("[splits] fold " + std::to_string(fold) + " is outside the " +
                std::to_string(splits.size()) + " folds of " + file.string() +
                " (valid: 0.." + std::to_string(static_cast<int>(splits.size()) - 1) + ")");
  if (splits[fold].train.empty())
    throw Error("[splits] fold " + std::to_string(fold) + " of " + file.string() +
                " has no training cases");
  return splits[fold];
}

}  // namespace nnfleet::worker
