// A thread's registers: the general ones (user_regs_struct) and the FPU/vector state (the XSAVE
// area in its standard format). Dump reads them through ptrace before any syscall is injected, as
// the freeze left them; restore sets them at each thread's final step, just before its release.
#pragma once

#include <cstdint>

#include "base/error.h"
#include "core.pb.h"
#include "image/value_checks.h"
#include "ptrace/registers.h"
#include "ptrace/tracee.h"

namespace cryo {

// Registers as captured: if the thread was stopped inside a syscall they still say so (orig_rax,
// rax = -ERESTART*), and restore decides how to resume it.
Result<> collect_registers(Tracee& tracee, image::ThreadCore& thread);

// General registers of the kernel's size, an XSAVE area in the standard format holding no component
// outside the image's XCR0 `xsave_features` (registers_validation.cc). `problem` gets the thread's
// problems unprefixed by the thread.
void validate_registers(const image::ThreadCore& thread, uint64_t xsave_features, const image::ProblemSink& problem);

// Sets the FPU/vector state of `tracee` and returns the general registers it is to resume with:
// the image's, with a syscall the freeze interrupted made to run again.
Result<Registers> restore_registers(Tracee& tracee, const image::ThreadCore& thread);

}  // namespace cryo
