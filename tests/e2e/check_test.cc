// End-to-end tests of `cryo check` on this machine, which offers everything checkpoint/restore needs.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "e2e/harness.h"

namespace cryo::e2e {
namespace {

const char* const kFeatureKeys[] = {"time_namespaces", "clone3_set_tid", "ns_last_pid",  "ptrace_seize",
                                    "rseq_configuration", "process_vm_readv", "pidfd_getfd", "pagemap_scan",
                                    "vdso_layout", "capabilities", "posix_timer_ids"};

TEST(Check, ReadyOnThisMachine) {
  auto result = run_cryo({"check"});
  EXPECT_EQ(result.status, 0) << result.out << result.err;
  EXPECT_NE(result.out.find("checkpoint/restore: ready"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("[vdso]"), std::string::npos) << result.out;
  // This sandbox lacks CAP_SYS_RESOURCE, which is informational only.
  EXPECT_NE(result.out.find("CAP_SYS_RESOURCE"), std::string::npos) << result.out;
}

TEST(Check, JsonHasEveryFeature) {
  auto result = run_cryo({"check", "--json"});
  EXPECT_EQ(result.status, 0) << result.err;
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(result.out, &parsed).ok()) << result.out;
  EXPECT_TRUE(parsed.fields().at("ready").bool_value());
  const auto& features = parsed.fields().at("features").struct_value().fields();
  for (const char* key : kFeatureKeys) {
    ASSERT_TRUE(features.contains(key)) << key;
    const auto& feature = features.at(key).struct_value().fields();
    EXPECT_TRUE(feature.at("ok").bool_value()) << key << ": " << feature.at("detail").string_value();
  }
  const auto& mappings = features.at("vdso_layout").struct_value().fields().at("mappings").list_value();
  bool has_vdso = false;
  for (const auto& m : mappings.values())
    if (m.struct_value().fields().at("name").string_value() == "[vdso]") has_vdso = true;
  EXPECT_TRUE(has_vdso);
  const auto& caps = features.at("capabilities").struct_value().fields().at("capabilities").struct_value().fields();
  EXPECT_TRUE(caps.at("CAP_SYS_ADMIN").struct_value().fields().at("held").bool_value());
  EXPECT_FALSE(caps.at("CAP_SYS_RESOURCE").struct_value().fields().at("required").bool_value());
}

}  // namespace
}  // namespace cryo::e2e
