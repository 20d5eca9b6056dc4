#include "kernel/capabilities.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace cryo {
namespace {

TEST(Capabilities, NamesAsTheKernelSpellsThem) {
  EXPECT_EQ(capability_name(CAP_SYS_ADMIN), "CAP_SYS_ADMIN");
  EXPECT_EQ(capability_name(CAP_CHECKPOINT_RESTORE), "CAP_CHECKPOINT_RESTORE");
}

TEST(Capabilities, RequiredListHoldsTheEssentials) {
  auto required = required_checkpoint_restore_capabilities();
  for (cap_value_t cap : {CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_CHECKPOINT_RESTORE})
    EXPECT_NE(std::find(required.begin(), required.end(), cap), required.end()) << capability_name(cap);
  // Missing in this sandbox, and cryo works without it.
  EXPECT_EQ(std::find(required.begin(), required.end(), CAP_SYS_RESOURCE), required.end());
}

TEST(Capabilities, RequireNamesEveryMissingOne) {
  // The tests run as root with CAP_SYS_ADMIN but without CAP_SYS_RESOURCE (see docs/design.md).
  auto admin = has_capability(CAP_SYS_ADMIN);
  auto resource = has_capability(CAP_SYS_RESOURCE);
  ASSERT_TRUE(admin.has_value() && resource.has_value());
  if (!*admin || *resource) GTEST_SKIP() << "needs root without CAP_SYS_RESOURCE";
  const cap_value_t held[] = {CAP_SYS_ADMIN};
  EXPECT_TRUE(require_capabilities(held, "cryo dump").has_value());
  const cap_value_t some_missing[] = {CAP_SYS_ADMIN, CAP_SYS_RESOURCE};
  auto refused = require_capabilities(some_missing, "cryo restore");
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().message, "cryo restore needs CAP_SYS_RESOURCE, which this process does not have");
  EXPECT_FALSE(refused.error().hint.empty());
}

}  // namespace
}  // namespace cryo
