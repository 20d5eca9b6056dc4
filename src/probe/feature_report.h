// `cryo check` output: the probed KernelFeatures as an aligned table or as one JSON object.
#pragma once

#include <string>

#include "probe/features.h"

namespace cryo {

// One row per check (and per capability), with what to do under each missing item, then a verdict.
std::string format_features_text(const KernelFeatures& features);

// {"kernel":{...},"ready":bool,"features":{"<key>":{"ok","required","detail","what_to_do",...}}};
// vdso_layout adds "mappings" and capabilities adds "capabilities" (one object per capability).
std::string format_features_json(const KernelFeatures& features);

}  // namespace cryo
