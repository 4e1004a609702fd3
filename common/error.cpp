#include "common/error.h"

namespace nnfleet {

void throw_internal(const char* condition, const char* file, int line, const std::string& detail) {
  throw InternalError(std::string("internal error (a bug in nnfleet): ") + condition + " failed at " +
                      file + ":" + std::to_string(line) + (detail.empty() ? "" : ": " + detail));
}

}  // namespace nnfleet
