#include "tests/support/test_paths.h"

#include <unistd.h>

#include "dist/mpi_world.h"

namespace nnfleet::test {
namespace fs = std::filesystem;

fs::path test_data() { return NNFLEET_TEST_DATA; }
fs::path bundled_data() { return NNFLEET_BUNDLED_DATA; }
fs::path binary_dir() { return NNFLEET_BINARY_DIR; }

fs::path scratch_dir(const std::string& name, bool shared_across_ranks) {
  const auto world = dist::Comm::borrow(MPI_COMM_WORLD);
  std::string unique = std::to_string(::getpid());
  if (shared_across_ranks) world.broadcast(unique, 0);
  const fs::path dir = binary_dir() / "test-scratch" / (name + "-" + unique);
  if (!shared_across_ranks || world.rank() == 0) {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  if (shared_across_ranks) world.barrier();
  return dir;
}

}  // namespace nnfleet::test
