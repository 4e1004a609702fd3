#include "common/version.h"

namespace nnfleet {
std::string version() { return NNFLEET_VERSION; }
}  // namespace nnfleet
