// A hidden switch for tests: with CRYO_FAIL_AT=<step> in its environment, cryo dump or restore fails
// at that named step with "injected failure at <step>", so the tests can prove that a failure at
// any stage leaves no process of cryo's behind, the dumped tree unharmed and no image that looks
// complete. Not a user option: it is not in --help and no one but the tests should set it.
#pragma once

#include <span>
#include <string_view>

#include "base/error.h"

namespace cryo {

// The environment variable that names the step to fail at.
inline constexpr const char* kFailAtVariable = "CRYO_FAIL_AT";

// Every step at which a failure can be injected, in the order dump and then restore reach them.
// The e2e tests iterate over this list, so a step added here is tested without further ado.
std::span<const std::string_view> fault_steps();

// Fails with "injected failure at <step>" when CRYO_FAIL_AT names `step`. A `step` that is not in
// fault_steps() fails always (whatever the environment), so a fault point the list forgot to name
// breaks every test that passes through it instead of silently escaping the fault tests.
Result<> fault_point(std::string_view step);

// The other hidden switch: with CRYO_DIE_AT=<n>, cryo kills itself with SIGKILL during its n-th
// injected syscall (counted from 1), while the tracee runs it, so the tests can prove that a cryo
// killed at the worst moment leaves the tracee unharmed.
inline constexpr const char* kDieAtVariable = "CRYO_DIE_AT";
void die_point_in_injected_call();

}  // namespace cryo

namespace cryo {

// A third hidden switch: with CRYO_TEST_VDSO_REDIRECT=1, restore treats this kernel's vdso as
// another kernel's and redirects the image's entry points to it through a proxy (vdso_proxy.h),
// so the tests can run a restored process through the redirect on a machine with one kernel.
inline constexpr const char* kVdsoRedirectVariable = "CRYO_TEST_VDSO_REDIRECT";

// A fourth: with CRYO_TEST_LAZY_HOLD=1, the page server of restore --lazy answers faults but fills
// nothing in the background, so the tests can kill it while pages are still missing.
inline constexpr const char* kLazyHoldVariable = "CRYO_TEST_LAZY_HOLD";

// A fifth: with CRYO_TEST_RELEASE_GAP_MS=<n>, restore waits n ms after releasing the first thread
// (the init's) before it releases the others, so the tests can let a released process act on
// processes cryo still holds, as it may by chance on a loaded machine.
inline constexpr const char* kReleaseGapVariable = "CRYO_TEST_RELEASE_GAP_MS";

// A sixth: with CRYO_TEST_TIMER_READ_DELAY_MS=<n>, dump waits n ms before it reads a process's
// timers, so the tests can make a timer expire between the read of its pending signals and the
// read of the timers, as one may by chance.
inline constexpr const char* kTimerReadDelayVariable = "CRYO_TEST_TIMER_READ_DELAY_MS";

// The number of milliseconds one of these variables gives, 0 when unset.
long test_delay_ms(const char* variable);

}  // namespace cryo
