#pragma once
// Paths tests use: committed fixtures, the bundled real data, and a fresh scratch folder.

#include <filesystem>
#include <string>

namespace nnfleet::test {

std::filesystem::path test_data();     // tests/data
std::filesystem::path bundled_data();  // data/ (Task04_Hippocampus subset)
std::filesystem::path binary_dir();    // the CMake build folder
// A new empty folder under the build folder, unique per test and process; collective-safe name
// when `shared_across_ranks` (same path on every rank of the world, created by rank 0).
std::filesystem::path scratch_dir(const std::string& name, bool shared_across_ranks = false);

}  // namespace nnfleet::test
