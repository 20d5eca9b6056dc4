// The record files of cryo ps (cli/tree_records.h) round-trip, and anything cryo would not have
// written is refused; untrusted strings print safely (base/display_text.h).
#include <gtest/gtest.h>

#include "base/display_text.h"
#include "cli/tree_records.h"

namespace cryo::cli {
namespace {

TreeRecord sample() {
  TreeRecord record;
  record.init = 4242;
  record.identity = {"0c5e4a8a-1f2b-4c3d-9e8f-0123456789ab", 4026532890, 123456};
  record.origin = TreeOrigin::Restore;
  record.started_ns = 1764652800123456789;
  record.image = "/var/tmp/an image\nwith a newline";
  record.offsets = {-7200'000'000'000, 49ll * 86400 * 1'000'000'000};
  record.command = {"/usr/bin/prog", "", "two words", "\x1b[31m\\x41\xff"};
  return record;
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(TreeRecords, RoundTripKeepsEveryByte) {
  TreeRecord record = sample();
  std::string text = format_tree_record(record);
  // One key and value per line, no raw control byte or space inside a value.
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_NE(text.find("image /var/tmp/an\\x20image\\x0awith\\x20a\\x20newline\n"), std::string::npos) << text;
  auto parsed = parse_tree_record(text);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, record);

  record.origin = TreeOrigin::Run;
  record.image.clear();
  parsed = parse_tree_record(format_tree_record(record));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, record);
}

TEST(TreeRecords, RefusesWhatCryoWouldNotWrite) {
  const std::string good = format_tree_record(sample());
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"", "does not start"},
      {"cryo-tree-record 2\n", "does not start"},
      {good.substr(0, good.size() - 1), "cut off"},
      {replace(good, "init 4242\n", ""), "no 'init'"},
      {replace(good, "init 4242\n", "init 4242\ninit 4242\n"), "twice"},
      {replace(good, "init 4242\n", "init 0\n"), "init '0'"},
      {replace(good, "init 4242\n", "init 99999999\n"), "init"},
      {replace(good, "init 4242\n", "init 42x\n"), "init"},
      {replace(good, "init 4242\n", "init -1\n"), "init"},
      {replace(good, "init 4242\n", "init\n"), "without a value"},
      {replace(good, "init 4242\n", "init 4242\ncolour red\n"), "unknown key"},
      {replace(good, "pidns_inode 4026532890", "pidns_inode 0"), "pidns_inode"},
      {replace(good, "pidns_inode 4026532890", "pidns_inode 99999999999999999999999"), "pidns_inode"},
      {replace(good, "boot_id 0c5e", "boot_id zz5e"), "boot id"},
      {replace(good, "origin restore", "origin fork"), "neither"},
      {replace(good, "image /var", "image var"), "absolute"},
      {replace(good, "arg /usr/bin/prog", "arg /usr/bin/\\x4"), "bad escape"},
      {replace(good, "arg /usr/bin/prog", "arg /usr/bin/\\y41"), "bad escape"},
      {replace(good, "arg /usr/bin/prog", "arg /usr/\tbin"), "raw byte"},
      {replace(good, "started_ns 1764652800123456789", "started_ns 0"), "started_ns"},
  };
  for (const auto& [text, why] : bad) {
    auto parsed = parse_tree_record(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_NE(parsed.error().message.find(why), std::string::npos) << parsed.error().message << " for\n" << text;
  }
  // A run has no image, a restore has one.
  auto run = parse_tree_record(replace(good, "origin restore", "origin run"));
  ASSERT_FALSE(run);
  EXPECT_NE(run.error().message.find("has no image"), std::string::npos) << run.error().message;
  TreeRecord restore = sample();
  restore.image.clear();
  EXPECT_FALSE(parse_tree_record(format_tree_record(restore)));
  // No command at all, and too many arguments.
  TreeRecord empty = sample();
  empty.command.clear();
  EXPECT_FALSE(parse_tree_record(format_tree_record(empty)));
  TreeRecord many = sample();
  many.command.assign(kMaxRecordArgs + 1, "x");
  EXPECT_FALSE(parse_tree_record(format_tree_record(many)));
  EXPECT_FALSE(parse_tree_record(std::string(kMaxRecordFileSize + 1, 'x')));
}

TEST(TreeRecords, LongCommandsAreShortenedSoTheRecordReadsBack) {
  // Bytes that escape to four each, in the most arguments, with the longest image path.
  std::vector<std::string> argv(kMaxRecordArgs + 10, std::string(kMaxRecordArgBytes + 10, '\xff'));
  TreeRecord record = sample();
  record.image = "/" + std::string(kMaxRecordArgBytes - 1, ' ');
  record.command = bounded_command(argv);
  EXPECT_EQ(record.command.front().size(), kMaxRecordArgBytes);
  size_t total = 0;
  for (const auto& arg : record.command) total += arg.size();
  EXPECT_EQ(total, kMaxRecordCommandBytes);
  auto parsed = parse_tree_record(format_tree_record(record));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, record);
  // Many short arguments: the count is bounded too, empty ones included.
  record.command = bounded_command(std::vector<std::string>(kMaxRecordArgs * 2, ""));
  EXPECT_EQ(record.command.size(), kMaxRecordArgs);
}

TEST(DisplayText, TerminalSafeEscapesControlBytes) {
  EXPECT_EQ(terminal_safe("plain text/ok"), "plain text/ok");
  EXPECT_EQ(terminal_safe("\x1b]0;title\x07"), "\\x1b]0;title\\x07");
  EXPECT_EQ(terminal_safe("a\\b\n\xc3\xa9"), "a\\x5cb\\x0a\\xc3\\xa9");
}

TEST(DisplayText, JsonStringIsAlwaysValidJson) {
  EXPECT_EQ(json_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
  EXPECT_EQ(json_string("\x01\x7f"), "\"\\u0001\\u007f\"");
  EXPECT_EQ(json_string("caf\xc3\xa9"), "\"caf\xc3\xa9\"");       // Valid UTF-8 passes.
  EXPECT_EQ(json_string("\xff\xc3"), "\"\\u00ff\\u00c3\"");       // Invalid bytes do not.
  EXPECT_EQ(json_string("\xed\xa0\x80"), "\"\\u00ed\\u00a0\\u0080\"");  // A surrogate is invalid.
  EXPECT_EQ(json_string("\xc0\xaf"), "\"\\u00c0\\u00af\"");       // So is an overlong form.
}

}  // namespace
}  // namespace cryo::cli
