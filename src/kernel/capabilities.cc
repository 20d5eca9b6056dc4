#include "kernel/capabilities.h"

#include <cctype>
#include <memory>

namespace cryo {
namespace {

const CapabilityNeed kNeeds[] = {
    {CAP_SYS_ADMIN, true, "new namespaces, mounting /proc, writing time namespace offsets"},
    {CAP_SYS_PTRACE, true, "seizing and inspecting the tree's processes"},
    {CAP_CHECKPOINT_RESTORE, true, "choosing PIDs (clone3 set_tid, ns_last_pid), /proc/PID/map_files"},
    {CAP_SETUID, true, "restoring the processes' user IDs"},
    {CAP_SETGID, true, "restoring the processes' group IDs"},
    {CAP_SYS_CHROOT, false, "restoring a process whose root directory is not /"},
    {CAP_DAC_OVERRIDE, false, "opening files the tree opened that root's own permissions would refuse"},
    {CAP_SYS_RESOURCE, false, "pipe buffers above /proc/sys/fs/pipe-max-size and rlimits above their hard limit"},
};

struct CapDeleter {
  void operator()(void* p) const { cap_free(p); }
};
using CapHandle = std::unique_ptr<std::remove_pointer_t<cap_t>, CapDeleter>;

Result<CapHandle> current_capabilities() {
  cap_t caps = cap_get_proc();
  if (!caps) return fail_errno("cap_get_proc");
  return CapHandle(caps);
}

Result<bool> holds(cap_t caps, cap_value_t capability) {
  cap_flag_value_t value = CAP_CLEAR;
  if (cap_get_flag(caps, capability, CAP_EFFECTIVE, &value) != 0)
    return fail_errno("cap_get_flag(" + capability_name(capability) + ")");
  return value == CAP_SET;
}

}  // namespace

std::span<const CapabilityNeed> checkpoint_restore_capabilities() { return kNeeds; }

std::vector<cap_value_t> required_checkpoint_restore_capabilities() {
  std::vector<cap_value_t> out;
  for (const auto& need : kNeeds)
    if (need.required) out.push_back(need.capability);
  return out;
}

std::string capability_name(cap_value_t capability) {
  char* text = cap_to_name(capability);
  if (!text) return "capability " + std::to_string(capability);
  std::string name = text;
  cap_free(text);
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

Result<bool> has_capability(cap_value_t capability) {
  ASSIGN_OR_RETURN(CapHandle caps, current_capabilities());
  return holds(caps.get(), capability);
}

Result<> require_capabilities(std::span<const cap_value_t> needed, const std::string& who) {
  ASSIGN_OR_RETURN(CapHandle caps, current_capabilities());
  std::string missing;
  for (cap_value_t capability : needed) {
    ASSIGN_OR_RETURN(bool held, holds(caps.get(), capability));
    if (held) continue;
    if (!missing.empty()) missing += ", ";
    missing += capability_name(capability);
  }
  if (missing.empty()) return {};
  return fail(make_error(who + " needs " + missing + ", which this process does not have")
                  .with_hint("run it as root, or grant these capabilities; 'cryo check' lists what is missing"));
}

}  // namespace cryo
