#pragma once
#include <string>

namespace nnfleet {
// "0.1.0"; set from the CMake project version.
std::string version();
}  // namespace nnfleet
