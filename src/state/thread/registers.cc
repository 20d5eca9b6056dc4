#include "state/thread/registers.h"

#include <string>

namespace cryo {

Result<> collect_registers(Tracee& tracee, image::ThreadCore& thread) {
  ASSIGN_OR_RETURN(Registers regs, tracee.get_registers());
  thread.set_gpregs(registers_to_bytes(regs));
  ASSIGN_OR_RETURN(std::string xstate, tracee.get_xstate());
  thread.set_xstate(xstate);
  return {};
}

Result<Registers> restore_registers(Tracee& tracee, const image::ThreadCore& thread) {
  RETURN_IF_ERROR_CTX(tracee.set_xstate(thread.xstate()), "FPU/vector registers");
  Registers regs;
  if (!registers_from_bytes(thread.gpregs(), &regs)) return fail("general registers: wrong size");
  return registers_for_resume(regs, ResumeContext::Restored);
}

}  // namespace cryo
