#pragma once
// The project's one exception type. Library code throws nnfleet::Error for the caller's mistakes
// (bad data, bad flags, missing files) with a message that names where, what and the offending
// value; internal invariants use NNFLEET_CHECK, which throws InternalError ("our bug").
// Only main() turns these into exit codes.

#include <stdexcept>
#include <string>

namespace nnfleet {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

class InternalError : public std::logic_error {
 public:
  explicit InternalError(const std::string& message) : std::logic_error(message) {}
};

[[noreturn]] void throw_internal(const char* condition, const char* file, int line,
                                 const std::string& detail);

}  // namespace nnfleet

#define NNFLEET_CHECK(cond, detail)                                           \
  do {                                                                        \
    if (!(cond)) ::nnfleet::throw_internal(#cond, __FILE__, __LINE__, detail); \
  } while (0)
