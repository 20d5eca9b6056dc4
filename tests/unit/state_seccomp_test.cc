// The home of seccomp filters (state/process/seccomp): what validation refuses in an image.
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <gtest/gtest.h>

#include <string>

#include "state/process/seccomp.h"
#include "unit/state_problems.h"

namespace cryo {
namespace {

std::string program_of(size_t instructions) {
  sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  std::string program;
  for (size_t i = 0; i < instructions; ++i) program.append(reinterpret_cast<const char*>(&allow), sizeof allow);
  return program;
}

std::string problems_of(const image::ProcessCore& core) {
  return collected([&](auto& sink) { validate_seccomp(core, sink); });
}

TEST(SeccompState, FiltersWithinTheKernelsLimitsAreValid) {
  image::ProcessCore core;
  EXPECT_EQ(problems_of(core), "");
  core.add_seccomp_filters()->set_program(program_of(1));
  auto* logged = core.add_seccomp_filters();
  logged->set_program(program_of(BPF_MAXINSNS));
  logged->set_flags(SECCOMP_FILTER_FLAG_LOG);
  EXPECT_EQ(problems_of(core), "");
}

TEST(SeccompState, ProgramsOfNoWholeInstructionsOrTooManyAreRefused) {
  for (const std::string& program : {std::string(), program_of(1) + "x", program_of(BPF_MAXINSNS + 1)}) {
    image::ProcessCore core;
    core.add_seccomp_filters()->set_program(program);
    EXPECT_NE(problems_of(core).find("seccomp filter 0 has a program of " + std::to_string(program.size()) + " bytes"), std::string::npos)
        << program.size();
  }
}

TEST(SeccompState, FlagsButLogAreRefused) {
  image::ProcessCore core;
  auto* filter = core.add_seccomp_filters();
  filter->set_program(program_of(1));
  filter->set_flags(SECCOMP_FILTER_FLAG_TSYNC);
  EXPECT_NE(problems_of(core).find("beyond SECCOMP_FILTER_FLAG_LOG"), std::string::npos);
}

TEST(SeccompState, AChainLongerThanTheKernelAllowsIsRefused) {
  image::ProcessCore core;
  for (int i = 0; i < 8; ++i) core.add_seccomp_filters()->set_program(program_of(BPF_MAXINSNS));
  EXPECT_NE(problems_of(core).find("more than the kernel's 32768"), std::string::npos) << problems_of(core);
}

}  // namespace
}  // namespace cryo
