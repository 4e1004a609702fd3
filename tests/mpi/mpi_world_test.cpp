// MPI world and groups, run with 2 and 4 ranks.
#include "dist/mpi_world.h"

#include <gtest/gtest.h>

#include <numeric>

namespace nnfleet::dist {
namespace {

const Comm& world() {
  static Comm w = Comm::borrow(MPI_COMM_WORLD);
  return w;
}

TEST(MpiWorld, AllreduceSumsEveryRanksValues) {
  const int n = world().size();
  const int r = world().rank();
  std::vector<double> values{1.0, static_cast<double>(r), 0.5 * r * r};
  world().allreduce_sum(values);
  double squares = 0;
  for (int i = 0; i < n; ++i) squares += 0.5 * i * i;
  EXPECT_DOUBLE_EQ(values[0], n);
  EXPECT_DOUBLE_EQ(values[1], n * (n - 1) / 2.0);
  EXPECT_DOUBLE_EQ(values[2], squares);
}

TEST(MpiWorld, GatherAndBroadcastCarryStringsOfDifferentLengths) {
  const int r = world().rank();
  const std::string mine(static_cast<std::size_t>(r) * 3, static_cast<char>('a' + r));
  const auto all = world().allgather(mine);
  ASSERT_EQ(static_cast<int>(all.size()), world().size());
  for (int i = 0; i < world().size(); ++i)
    EXPECT_EQ(all[i], std::string(static_cast<std::size_t>(i) * 3, static_cast<char>('a' + i)));
  std::string text = r == 0 ? "plans from rank 0" : "";
  world().broadcast(text, 0);
  EXPECT_EQ(text, "plans from rank 0");
}

TEST(MpiWorld, LocalRanksCoverTheNode) {
  Comm local = world().split_shared();
  std::vector<long long> seen(static_cast<std::size_t>(local.size()), 0);
  seen[static_cast<std::size_t>(local.rank())] = 1;
  local.allreduce_sum(seen);
  for (long long s : seen) EXPECT_EQ(s, 1);
}

TEST(MpiWorld, GroupsFormWithoutTheOtherRanks) {
  // Even and odd ranks form two groups independently; each sums only its own members.
  const int r = world().rank();
  std::vector<int> members;
  for (int i = r % 2; i < world().size(); i += 2) members.push_back(i);
  Comm group = world().create_group(members, /*tag=*/r % 2);
  ASSERT_TRUE(group.valid());
  EXPECT_EQ(group.size(), static_cast<int>(members.size()));
  std::vector<long long> sum{r};
  group.allreduce_sum(sum);
  EXPECT_EQ(sum[0], std::accumulate(members.begin(), members.end(), 0LL));
}

}  // namespace
}  // namespace nnfleet::dist
