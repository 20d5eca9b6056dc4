#include "probe/feature_report.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <sstream>

namespace cryo {
namespace {

// A made-up machine: one required feature missing, one optional capability missing.
KernelFeatures sample() {
  KernelFeatures f;
  f.kernel_release = "6.18.0";
  f.machine = "x86_64";
  for (FeatureCheck* c : {&f.time_namespaces, &f.clone3_set_tid, &f.ns_last_pid, &f.ptrace_seize,
                          &f.rseq_configuration, &f.process_vm_readv, &f.pidfd_getfd, &f.pagemap_scan,
                          &f.vdso_layout, &f.capabilities, &f.posix_timer_ids, &f.seccomp_suspend}) {
    c->key = "key" + std::to_string(c - &f.time_namespaces);
    c->title = "title";
    c->ok = true;
    c->detail = "works";
  }
  f.time_namespaces.key = "time_namespaces";
  f.pagemap_scan.key = "pagemap_scan";
  f.pagemap_scan.ok = false;
  f.pagemap_scan.detail = "ioctl(PAGEMAP_SCAN): Inappropriate ioctl for device";
  f.pagemap_scan.remedy = "use Linux 6.7 or later";
  f.vdso_layout.key = "vdso_layout";
  f.capabilities.key = "capabilities";
  f.special_mappings = {{"[vvar]", 0x1000, 0x5000}, {"[vdso]", 0x5000, 0x7000}};
  f.capability_states = {{"CAP_SYS_ADMIN", true, true, "namespaces"},
                         {"CAP_SYS_RESOURCE", false, false, "pipe \"buffers\"\n"}};
  return f;
}

TEST(FeatureReport, ReadyOnlyWhenEveryRequiredCheckPasses) {
  KernelFeatures f = sample();
  EXPECT_FALSE(f.ready());
  f.pagemap_scan.ok = true;
  EXPECT_TRUE(f.ready());
  f.ns_last_pid.required = false;
  f.ns_last_pid.ok = false;
  EXPECT_TRUE(f.ready());
}

TEST(FeatureReport, TextIsAlignedAndSaysWhatToDo) {
  std::string text = format_features_text(sample());
  EXPECT_NE(text.find("what to do: use Linux 6.7 or later"), std::string::npos) << text;
  EXPECT_NE(text.find("NOT ready"), std::string::npos) << text;
  EXPECT_NE(text.find("missing (optional)"), std::string::npos) << text;
  // Every table row has its STATUS column at the same offset as the header's.
  std::istringstream in(text);
  std::string line;
  size_t status_column = std::string::npos;
  while (std::getline(in, line)) {
    if (line.rfind("FEATURE", 0) == 0) {
      status_column = line.find("STATUS");
      continue;
    }
    if (status_column == std::string::npos || line.empty() || line.find("what to do") != std::string::npos) continue;
    if (line.rfind("checkpoint/restore", 0) == 0) continue;
    ASSERT_GT(line.size(), status_column) << line;
    EXPECT_EQ(line[status_column - 1], ' ') << line;
    EXPECT_NE(line[status_column], ' ') << line;
  }
  EXPECT_NE(status_column, std::string::npos);
}

TEST(FeatureReport, JsonParsesAndEscapes) {
  std::string json = format_features_json(sample());
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok()) << json;
  EXPECT_FALSE(parsed.fields().at("ready").bool_value());
  const auto& features = parsed.fields().at("features").struct_value().fields();
  const auto& scan = features.at("pagemap_scan").struct_value().fields();
  EXPECT_FALSE(scan.at("ok").bool_value());
  EXPECT_EQ(scan.at("what_to_do").string_value(), "use Linux 6.7 or later");
  const auto& mappings = features.at("vdso_layout").struct_value().fields().at("mappings").list_value();
  ASSERT_EQ(mappings.values_size(), 2);
  EXPECT_EQ(mappings.values(0).struct_value().fields().at("start").string_value(), "0x1000");
  EXPECT_EQ(mappings.values(0).struct_value().fields().at("size").number_value(), 0x4000);
  const auto& caps = features.at("capabilities").struct_value().fields().at("capabilities").struct_value().fields();
  EXPECT_EQ(caps.at("CAP_SYS_RESOURCE").struct_value().fields().at("purpose").string_value(), "pipe \"buffers\"\n");
}

}  // namespace
}  // namespace cryo
