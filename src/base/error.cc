#include "base/error.h"

#include <cerrno>
#include <cstring>

namespace cryo {

Error errno_error(const std::string& call, int err) {
  return Error{call + ": " + std::strerror(err), err, {}, 1};
}

Error errno_error(const std::string& call) { return errno_error(call, errno); }

Error make_error(std::string message) { return Error{std::move(message), 0, {}, 1}; }

}  // namespace cryo
