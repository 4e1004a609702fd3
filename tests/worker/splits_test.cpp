// Cross-validation splits against nnunetv2's generate_crossval_split for the bundled hippocampus
// case list (tests/data/worker/hippocampus_splits_final.json) and NumPy's permutation.

#include "worker/splits.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "common/atomic_file.h"
#include "common/error.h"
#include "tests/support/test_paths.h"

namespace nnfleet::worker {
namespace {

std::vector<std::string> names(int n) {
  std::vector<std::string> cases;
  for (int i = 0; i < n; ++i) cases.push_back("case_" + std::to_string(100 + i));
  return cases;
}

TEST(Splits, PermutationEqualsNumpyLegacyRandomState) {
  // np.random.RandomState(12345).permutation(10) and RandomState(0).permutation(7).
  EXPECT_EQ(legacy_numpy_permutation(10, 12345),
            (std::vector<int64_t>{0, 7, 3, 9, 6, 4, 1, 8, 5, 2}));
  EXPECT_EQ(legacy_numpy_permutation(7, 0), (std::vector<int64_t>{6, 2, 1, 3, 0, 5, 4}));
}

TEST(Splits, FiveFoldsEqualNnunetv2ForTheHippocampusCases) {
  const auto ref = read_json(test::test_data() / "worker" / "hippocampus_splits_final.json");
  const auto cases = ref.at("cases").get<std::vector<std::string>>();
  const auto splits = kfold_splits(cases);
  ASSERT_EQ(splits.size(), 5u);
  for (size_t k = 0; k < 5; ++k) {
    EXPECT_EQ(splits[k].train, ref["splits"][k]["train"].get<std::vector<std::string>>()) << k;
    EXPECT_EQ(splits[k].val, ref["splits"][k]["val"].get<std::vector<std::string>>()) << k;
  }
}

TEST(Splits, UnevenCountsGiveTheFirstFoldsOneMore) {
  const auto splits = kfold_splits(names(12));
  std::vector<size_t> sizes;
  for (const auto& f : splits) sizes.push_back(f.val.size());
  EXPECT_EQ(sizes, (std::vector<size_t>{3, 3, 2, 2, 2}));
  EXPECT_THROW(kfold_splits(names(4)), Error);
}

TEST(Splits, WritesSplitsWhenAbsentAndReusesAnExistingFile) {
  const auto dir = test::scratch_dir("splits");
  auto cases = names(10);
  std::reverse(cases.begin(), cases.end());  // sorted before splitting
  const auto made = load_or_create_splits(dir, cases);
  ASSERT_TRUE(std::filesystem::exists(dir / "splits_final.json"));
  EXPECT_EQ(made[0].val, kfold_splits(names(10))[0].val);

  write_splits(dir / "splits_final.json", {{{"case_100"}, {"case_101"}}, {{"case_101"}, {"case_100"}}});
  const auto custom = load_or_create_splits(dir, cases);
  ASSERT_EQ(custom.size(), 2u);
  EXPECT_EQ(custom[1].val, std::vector<std::string>{"case_100"});
}

TEST(Splits, FoldOutsideTheSplitsIsAClearError) {
  const auto splits = kfold_splits(names(10));
  EXPECT_EQ(select_fold(splits, 4, "splits_final.json").val.size(), 2u);
  try {
    select_fold(splits, 5, "splits_final.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fold 5 is outside the 5 folds"), std::string::npos)
        << e.what();
  }
}

TEST(Splits, MalformedFileIsAClearError) {
  const auto dir = test::scratch_dir("splits_bad");
  write_text_atomically(dir / "splits_final.json", R"([{"train": ["a"]}])");
  EXPECT_THROW(read_splits(dir / "splits_final.json"), Error);
}

}  // namespace
}  // namespace nnfleet::worker
