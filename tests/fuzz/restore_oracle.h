// What restore relies on in an image that validation accepted, checked independently of the
// validation code: when validate_image reports no problem but one of these fails, the fuzzer has found
// a hole in validation (issue 5: addresses canonical and page aligned, ranges not overlapping, sizes
// within the pages file, fd numbers and PIDs in range, paths absolute without ".." tricks).
#pragma once

#include <optional>
#include <string>

#include "image/image_set.h"

namespace cryo::fuzz {

// The first broken promise of an accepted image, or nullopt.
std::optional<std::string> check_accepted_image(const ImageSet& set);

}  // namespace cryo::fuzz
