// Capabilities the calling process holds, through libcap, and the ones checkpoint/restore needs.
#pragma once

#include <sys/capability.h>

#include <span>
#include <string>
#include <vector>

#include "base/error.h"

namespace cryo {

struct CapabilityNeed {
  cap_value_t capability;
  bool required;        // False: cryo works without it, with the limit `purpose` describes.
  const char* purpose;  // What cryo uses it for.
};

// What checkpoint/restore uses, required ones first.
std::span<const CapabilityNeed> checkpoint_restore_capabilities();
// The required ones only, e.g. for require_capabilities().
std::vector<cap_value_t> required_checkpoint_restore_capabilities();

// "CAP_SYS_ADMIN", as the kernel and capabilities(7) name it.
std::string capability_name(cap_value_t capability);

// Whether the calling process holds `capability` in its effective set.
Result<bool> has_capability(cap_value_t capability);

// Refuses, before anything is done, when the caller lacks any of `needed` in its effective set; the
// error names every missing capability, e.g. "cryo dump needs CAP_SYS_PTRACE, CAP_SYS_ADMIN, which
// this process does not have". `who` names the command ("cryo dump").
Result<> require_capabilities(std::span<const cap_value_t> needed, const std::string& who);

}  // namespace cryo
