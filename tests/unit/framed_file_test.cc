#include "image/framed_file.h"

#include <gtest/gtest.h>

#include "pstree.pb.h"

namespace cryo::image {
namespace {

std::string encode_tree() {
  ProcessTree tree;
  auto* init = tree.add_processes();
  init->set_pid(1);
  init->set_sid(1);
  init->set_pgid(1);
  auto* child = tree.add_processes();
  child->set_pid(42);
  child->set_ppid(1);
  const google::protobuf::Message* one[] = {&tree};
  return encode_records(Kind::ProcessTree, one).value();
}

TEST(FramedFile, RoundTrip) {
  auto records = decode_records(Kind::ProcessTree, encode_tree(), "pstree.img");
  ASSERT_TRUE(records.has_value()) << records.error().message;
  ASSERT_EQ(records->size(), 1u);
  const auto& tree = static_cast<const ProcessTree&>(*records->at(0));
  ASSERT_EQ(tree.processes_size(), 2);
  EXPECT_EQ(tree.processes(1).pid(), 42u);
}

TEST(FramedFile, RefusesWrongMagicNamingFileAndOffset) {
  std::string bytes = encode_tree();
  bytes[0] ^= 1;
  auto records = decode_records(Kind::ProcessTree, bytes, "pstree.img");
  ASSERT_FALSE(records.has_value());
  EXPECT_NE(records.error().message.find("pstree.img: wrong magic"), std::string::npos) << records.error().message;
  EXPECT_NE(records.error().message.find("offset 0"), std::string::npos);
}

TEST(FramedFile, RefusesAnotherKindsFile) {
  auto records = decode_records(Kind::Core, encode_tree(), "core-1.img");
  ASSERT_FALSE(records.has_value());
  EXPECT_NE(records.error().message.find("wrong magic"), std::string::npos);
}

TEST(FramedFile, RefusesWrongVersion) {
  std::string bytes = encode_tree();
  bytes[4] = 9;
  auto records = decode_records(Kind::ProcessTree, bytes, "pstree.img");
  ASSERT_FALSE(records.has_value());
  EXPECT_NE(records.error().message.find("format version 9"), std::string::npos);
}

TEST(FramedFile, RefusesEveryTruncation) {
  std::string bytes = encode_tree();
  for (size_t len = 0; len < bytes.size(); ++len) {
    if (len == 8) continue;  // A header alone is a valid file with no records.
    auto records = decode_records(Kind::ProcessTree, bytes.substr(0, len), "pstree.img");
    EXPECT_FALSE(records.has_value()) << "length " << len;
    if (!records) {
      EXPECT_NE(records.error().message.find("truncated"), std::string::npos) << records.error().message;
    }
  }
}

TEST(FramedFile, RefusesOversizedRecord) {
  std::string bytes = encode_tree().substr(0, 8);
  bytes += std::string("\xff\xff\xff\x7f", 4);
  auto records = decode_records(Kind::ProcessTree, bytes, "pstree.img");
  ASSERT_FALSE(records.has_value());
  EXPECT_NE(records.error().message.find("oversized record"), std::string::npos);
  EXPECT_NE(records.error().message.find("offset 8"), std::string::npos);
}

TEST(FramedFile, RefusesGarbageRecord) {
  std::string bytes = encode_tree().substr(0, 8);
  bytes += std::string("\x03\x00\x00\x00\xff\xff\xff", 7);
  auto records = decode_records(Kind::ProcessTree, bytes, "pstree.img");
  ASSERT_FALSE(records.has_value());
  EXPECT_NE(records.error().message.find("not a valid pstree record"), std::string::npos) << records.error().message;
}

TEST(ImageKinds, FileNamesRoundTrip) {
  for (const auto& info : all_kinds()) {
    uint32_t pid = info.per_process ? 4242 : 0;
    auto id = identify(file_name(info.kind, pid));
    ASSERT_TRUE(id.has_value()) << info.name;
    EXPECT_EQ(id->kind, info.kind);
    EXPECT_EQ(id->pid, pid);
  }
  EXPECT_FALSE(identify("core-.img"));
  EXPECT_FALSE(identify("core-07.img"));
  EXPECT_FALSE(identify("core-1x.img"));
  EXPECT_FALSE(identify("../core-1.img"));
  EXPECT_FALSE(identify("dump.log"));
}

TEST(ImageKinds, MagicsAreDistinct) {
  for (const auto& a : all_kinds()) {
    for (const auto& b : all_kinds()) {
      if (&a != &b && a.magic != 0) {
        EXPECT_NE(a.magic, b.magic) << a.name << " " << b.name;
      }
    }
  }
}

}  // namespace
}  // namespace cryo::image
