// GoogleTest main shared by every test executable: brings up MPI (a world of one outside mpiexec)
// and lets only rank 0 print results, so MPI tests read like ordinary ones.

#include <gtest/gtest.h>

#include "dist/mpi_world.h"

int main(int argc, char** argv) {
  nnfleet::dist::MpiSession mpi(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  if (mpi.world().rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int status = RUN_ALL_TESTS();
  // Any failing rank fails the whole test.
  std::vector<double> failed{status != 0 ? 1.0 : 0.0};
  mpi.world().allreduce_sum(failed);
  return failed[0] > 0 ? 1 : 0;
}
