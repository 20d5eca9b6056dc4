// clone3 with a chosen PID: the kernel's EEXIST for a PID in use is reported naming the PID.
#include "ns/clone3.h"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace cryo {
namespace {

TEST(Clone3, APidInUseIsNamed) {
  // The test's own PID is in use in its namespace for as long as the test runs.
  pid_t self = ::getpid();
  auto got = clone3_with_pid(self);
  if (got && *got == 0) ::_exit(0);  // Never expected: the child of a clone that should have failed.
  if (got) ::waitpid(*got, nullptr, 0);
  ASSERT_FALSE(got.has_value()) << "clone3 gave the test's own PID " << self << " to pid " << *got;
  EXPECT_EQ(got.error().err, EEXIST);
  EXPECT_NE(got.error().message.find("PID " + std::to_string(self) + " is in use"), std::string::npos)
      << got.error().message;
}

}  // namespace
}  // namespace cryo
