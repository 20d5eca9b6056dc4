// The problems a kind's validation (state/) reports, one line each, for the tests of state/.
#pragma once

#include <functional>
#include <string>

#include "image/value_checks.h"

namespace cryo {

inline std::string collected(const std::function<void(const image::ProblemSink&)>& validate) {
  std::string all;
  validate([&](const std::string& p) { all += p + "\n"; });
  return all;
}

}  // namespace cryo
