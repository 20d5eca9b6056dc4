#include "state/process/address_randomization.h"

#include <sys/personality.h>
#include <unistd.h>

#include <cstdlib>
#include <string_view>

#include "base/file_util.h"
#include "base/dir_fd.h"
#include "image/image_dir.h"
#include "kernel/proc_stat.h"

namespace cryo {
namespace {

// Set in the environment of the cryo-core exec'd again, so that it never execs a third time.
constexpr const char* kExecutedAgain = "CRYO_EXECUTED_FOR_ADDRESS_RANDOMIZATION";

Result<bool> own_randomization_off() {
  ASSIGN_OR_RETURN(ProcStat own, read_proc_stat(::getpid()));
  return (own.flags & kPfRandomize) == 0;
}

Error cannot_match(bool image_off) {
  if (image_off)
    return make_error("the image's processes ran without address-space randomisation, and cryo-core could not be started so "
                      "(personality ADDR_NO_RANDOMIZE left PF_RANDOMIZE set)");
  return make_error("the image's processes ran with address-space randomisation, which this host has off "
                    "(kernel.randomize_va_space is 0, or cryo was started under setarch -R)")
      .with_hint("restore on a host with it on, or run: sysctl kernel.randomize_va_space=2");
}

}  // namespace

Result<bool> tree_randomization_off(const std::vector<RandomizationOf>& processes) {
  const RandomizationOf* randomized = nullptr;
  const RandomizationOf* fixed = nullptr;
  for (const RandomizationOf& process : processes) (process.stat_flags & kPfRandomize ? randomized : fixed) = &process;
  if (randomized && fixed)
    return fail(make_error(fixed->name + " was started without address-space randomisation (setarch -R, or a debugger) and " +
                           randomized->name + " with it, which cryo cannot dump yet: a restore gives every process of a tree one way")
                    .with_hint("start the whole tree one way (setarch -R cryo run ...)"));
  return fixed != nullptr && randomized == nullptr;
}

Result<> exec_again_for_address_randomization(const std::string& dir) {
  auto opened = DirFd::open(dir);
  if (!opened) return {};
  auto inventory = image::read_inventory(*opened);
  if (!inventory) return {};
  ASSIGN_OR_RETURN(bool own_off, own_randomization_off());
  bool image_off = inventory->address_randomization_off();
  if (own_off == image_off) return {};
  if (std::getenv(kExecutedAgain)) return fail(cannot_match(image_off));
  // The same arguments, from the kernel's copy: cryo-core's argv is not at hand here.
  ASSIGN_OR_RETURN(std::string cmdline, read_file("/proc/self/cmdline"));
  std::vector<char*> argv;
  for (size_t at = 0; at < cmdline.size(); at = cmdline.find('\0', at) + 1) argv.push_back(cmdline.data() + at);
  argv.push_back(nullptr);
  int persona = ::personality(0xffffffff);
  if (persona == -1) return fail_errno("personality");
  persona = image_off ? persona | ADDR_NO_RANDOMIZE : persona & ~ADDR_NO_RANDOMIZE;
  if (::personality(static_cast<unsigned long>(persona)) == -1) return fail_errno("personality(ADDR_NO_RANDOMIZE)");
  ::setenv(kExecutedAgain, "1", 1);
  ::execv("/proc/self/exe", argv.data());
  return fail_errno("exec /proc/self/exe (cryo-core again, for the image's address-space randomisation)");
}

Result<> check_address_randomization(const image::Inventory& inventory) {
  ::unsetenv(kExecutedAgain);
  ASSIGN_OR_RETURN(bool own_off, own_randomization_off());
  if (own_off != inventory.address_randomization_off()) return fail(cannot_match(inventory.address_randomization_off()));
  return {};
}

}  // namespace cryo
