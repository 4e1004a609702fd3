#pragma once
// Cross-validation splits made the way nnU-Net v2 makes them (method reference 5.7):
// scikit-learn KFold(n_splits=5, shuffle=True, random_state=12345) over the sorted case
// identifiers, whose shuffle is NumPy's legacy RandomState(12345).shuffle (MT19937 with the
// legacy bounded-integer draw), reproduced here so the same cases land in the same fold.
// No LibTorch here.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace nnfleet::worker {

struct Fold {
  std::vector<std::string> train, val;  // each in the sorted case order, as KFold returns them
};

// NumPy's np.random.RandomState(seed).permutation(n): MT19937 seeded with init_genrand(seed),
// Fisher-Yates from the end with the legacy masked rejection draw of [0, i]
// (preprocessing/numpy_random.h).
std::vector<int64_t> legacy_numpy_permutation(int64_t n, uint32_t seed);

// KFold(n_splits, shuffle=True, random_state=seed).split(cases): the shuffled indices are cut
// into n_splits consecutive chunks (the first n % n_splits one longer); chunk k is fold k's val.
// `cases` is used in the given order (nnU-Net passes them sorted). Throws nnfleet::Error when
// there are fewer cases than splits.
std::vector<Fold> kfold_splits(const std::vector<std::string>& cases, int n_splits = 5,
                               uint32_t seed = 12345);

// splits_final.json: [{"train": [...], "val": [...]}, ...] (nnU-Net v2's layout).
std::vector<Fold> read_splits(const std::filesystem::path& file);
void write_splits(const std::filesystem::path& file, const std::vector<Fold>& splits);

// <preprocessed_dataset>/splits_final.json if it exists (custom splits welcome, any number of
// folds); otherwise the five nnU-Net folds of sorted(cases), written there atomically.
// Only one rank of a job should call it when the file may not exist yet.
std::vector<Fold> load_or_create_splits(const std::filesystem::path& preprocessed_dataset,
                                        std::vector<std::string> cases);

// splits[fold], or nnfleet::Error naming the fold, the split count and the file.
const Fold& select_fold(const std::vector<Fold>& splits, int fold,
                        const std::filesystem::path& file);

}  // namespace nnfleet::worker
