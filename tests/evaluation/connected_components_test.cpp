#include "evaluation/connected_components.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace nnfleet::evaluation {
namespace {

// A 3 x 4 x 4 (z, y, x) volume; voxel (z, y, x) at index (z * 4 + y) * 4 + x.
constexpr std::array<int64_t, 3> kShape{3, 4, 4};
size_t at(int z, int y, int x) { return size_t((z * 4 + y) * 4 + x); }

TEST(ConnectedComponents, DiagonalNeighboursJoinWithFullConnectivity) {
  std::vector<uint8_t> mask(48, 0);
  mask[at(0, 0, 0)] = mask[at(1, 1, 1)] = mask[at(2, 2, 2)] = 1;  // corner-touching chain
  mask[at(0, 3, 3)] = 1;                                          // isolated
  std::vector<uint32_t> labels;
  EXPECT_EQ(label_components(mask, kShape, labels), 2);
  EXPECT_EQ(labels[at(0, 0, 0)], 1u);
  EXPECT_EQ(labels[at(2, 2, 2)], 1u);
  EXPECT_EQ(labels[at(0, 3, 3)], 2u);
  const auto keep = largest_components(mask, kShape);
  EXPECT_EQ(keep[at(1, 1, 1)], 1);
  EXPECT_EQ(keep[at(0, 3, 3)], 0);
}

TEST(ConnectedComponents, KeepsEveryComponentOfTheLargestSize) {
  std::vector<uint8_t> mask(48, 0);
  mask[at(0, 0, 0)] = mask[at(0, 0, 1)] = 1;
  mask[at(2, 3, 2)] = mask[at(2, 3, 3)] = 1;
  mask[at(2, 0, 3)] = 1;
  const auto keep = largest_components(mask, kShape);
  EXPECT_EQ(keep[at(0, 0, 1)], 1);
  EXPECT_EQ(keep[at(2, 3, 3)], 1);
  EXPECT_EQ(keep[at(2, 0, 3)], 0);
}

TEST(ConnectedComponents, RowWrapIsNotAdjacency) {
  // The last voxel of a row and the first of the next row are not neighbours (x = 3 vs x = 0).
  std::vector<uint8_t> mask(48, 0);
  mask[at(0, 0, 3)] = mask[at(0, 1, 0)] = 1;
  std::vector<uint32_t> labels;
  EXPECT_EQ(label_components(mask, kShape, labels), 2);
}

TEST(ConnectedComponents, EmptyMaskKeepsNothingAndWrongSizeIsOurBug) {
  const auto keep = largest_components(std::vector<uint8_t>(48, 0), kShape);
  EXPECT_EQ(std::count(keep.begin(), keep.end(), 1), 0);
  EXPECT_THROW(largest_components(std::vector<uint8_t>(47, 0), kShape), InternalError);
}

}  // namespace
}  // namespace nnfleet::evaluation
