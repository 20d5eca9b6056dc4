// End-to-end tests of `cryo check` on this machine, which offers everything checkpoint/restore needs.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <sys/capability.h>

#include <sstream>

#include "e2e/harness.h"

namespace cryo::e2e {
namespace {

const char* const kFeatureKeys[] = {"time_namespaces", "clone3_set_tid", "ns_last_pid",  "ptrace_seize",
                                    "rseq_configuration", "process_vm_readv", "pidfd_getfd", "pagemap_scan",
                                    "vdso_layout", "capabilities", "posix_timer_ids", "seccomp_suspend"};

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

// Whether this process (the one that runs cryo check) has `name` in its effective set, by libcap.
bool libcap_says_held(const cap_t caps, const std::string& name) {
  cap_value_t value;
  EXPECT_EQ(cap_from_name(name.c_str(), &value), 0) << name;
  cap_flag_value_t flag = CAP_CLEAR;
  EXPECT_EQ(cap_get_flag(caps, value, CAP_EFFECTIVE, &flag), 0) << name;
  return flag == CAP_SET;
}

// Every capability cryo check reports, in JSON and in text, has the status libcap reads for it.
void expect_capabilities_match_libcap(const std::string& json, const std::string& text, cap_t caps) {
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok()) << json;
  const auto& reported = parsed.fields().at("features").struct_value().fields().at("capabilities").struct_value().fields()
                             .at("capabilities").struct_value().fields();
  ASSERT_GE(reported.size(), 8u);
  for (const auto& [name, cap] : reported) {
    bool held = libcap_says_held(caps, name);
    EXPECT_EQ(cap.struct_value().fields().at("held").bool_value(), held) << name;
    // The text table: "  CAP_X   ok" or "  CAP_X   missing ...".
    std::istringstream lines(text);
    std::string line;
    bool found = false;
    while (std::getline(lines, line)) {
      std::istringstream words(line);
      std::string first, status;
      words >> first >> status;
      if (first != name) continue;
      found = true;
      // "MISSING" for a required one, "missing (optional)" for the others.
      if (held)
        EXPECT_EQ(status, "ok") << line;
      else
        EXPECT_TRUE(status == "missing" || status == "MISSING") << line;
    }
    EXPECT_TRUE(found) << name << " is not in the text report:\n" << text;
  }
}

TEST(Check, EachCapabilityHasTheStatusLibcapReads) {
  cap_t caps = cap_get_proc();
  ASSERT_NE(caps, nullptr);
  expect_capabilities_match_libcap(run_cryo({"check", "--json"}).out, run_cryo({"check"}).out, caps);
  cap_free(caps);
}

// The same with capabilities really missing: capsh drops them from the bounding set, so cryo check
// runs without them (and says it is not ready).
TEST(Check, DroppedCapabilitiesAreReportedMissing) {
  const std::string drop = "cap_sys_chroot,cap_dac_override,cap_setgid";
  auto json = run_command({"/usr/sbin/capsh", "--drop=" + drop, "--", "-c", std::string(CRYO_BINARY) + " check --json"});
  auto text = run_command({"/usr/sbin/capsh", "--drop=" + drop, "--", "-c", std::string(CRYO_BINARY) + " check"});
  // What the dropped set looks like to libcap: this process's effective set without them.
  cap_t caps = cap_get_proc();
  ASSERT_NE(caps, nullptr);
  cap_value_t dropped[] = {CAP_SYS_CHROOT, CAP_DAC_OVERRIDE, CAP_SETGID};
  ASSERT_EQ(cap_set_flag(caps, CAP_EFFECTIVE, 3, dropped, CAP_CLEAR), 0);
  expect_capabilities_match_libcap(json.out, text.out, caps);
  cap_free(caps);
}

}  // namespace
}  // namespace cryo::e2e
