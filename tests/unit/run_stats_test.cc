// Stats of a dump or restore: the JSON round trip, the checks that treat a stats file read back as
// untrusted, the text of `cryo show --stats`, the stage timer, and the progress line's text.
#include "image/run_stats.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/progress_line.h"
#include "base/stage_timer.h"
#include "image/framed_file.h"
#include "image/image_dir.h"
#include "image/image_kinds.h"
#include "pstree.pb.h"

namespace cryo::image {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

RunStats sample_dump() {
  RunStats s;
  s.command = StatsCommand::Dump;
  s.stages_ms = {{"preflight", 1.5}, {"freeze", 0.25}, {"collect", 4}, {"pages", 30.125}, {"write", 0.5}, {"sync", 7}, {"kill", 1}};
  s.total_ms = 45;
  s.frozen_ms = 43.5;
  s.processes = 2;
  s.threads = 3;
  s.fds = 7;
  s.mappings = 40;
  s.pages = 256;
  s.pages_bytes = 256 * 4096;
  s.bytes = 1100000;
  return s;
}

TEST(RunStats, JsonRoundTripKeepsEveryFieldAndTheStageOrder) {
  RunStats in = sample_dump();
  std::string text = run_stats_to_json(in);
  auto out = parse_run_stats(text, "test");
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->stages_ms, in.stages_ms);
  EXPECT_EQ(out->processes, 2u);
  EXPECT_EQ(out->threads, 3u);
  EXPECT_EQ(out->fds, 7u);
  EXPECT_EQ(out->mappings, 40u);
  EXPECT_EQ(out->pages, 256u);
  EXPECT_EQ(out->bytes, 1100000u);
  EXPECT_DOUBLE_EQ(out->frozen_ms, 43.5);
  EXPECT_TRUE(out->complete);
  Json j = Json::parse(text);
  EXPECT_EQ(j["command"], "dump");
  EXPECT_EQ(j["bytes_written"], 1100000);
  EXPECT_FALSE(j.contains("bytes_read"));
  // 1100000 bytes in 45 ms.
  EXPECT_NEAR(j["throughput_bytes_per_s"].get<double>(), 1100000 / 0.045, 1);
}

TEST(RunStats, RestoreStatsHaveBytesReadAndNoFrozenTime) {
  RunStats in = sample_dump();
  in.command = StatsCommand::Restore;
  Json j = Json::parse(run_stats_to_json(in));
  EXPECT_EQ(j["command"], "restore");
  EXPECT_EQ(j["bytes_read"], 1100000);
  EXPECT_FALSE(j.contains("frozen_ms"));
  auto out = parse_run_stats(j.dump(), "test");
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->command, StatsCommand::Restore);
}

// Each of these was not written by cryo: refused with a message that names the file, never echoing
// what it holds.
TEST(RunStats, UntrustedInputIsChecked) {
  Json good = Json::parse(run_stats_to_json(sample_dump()));
  auto refused = [&](const std::function<void(Json&)>& change, const std::string& mention) {
    Json j = good;
    change(j);
    auto parsed = parse_run_stats(j.dump(), "DIR/stats-dump.json");
    ASSERT_FALSE(parsed) << j.dump();
    EXPECT_NE(parsed.error().message.find("DIR/stats-dump.json"), std::string::npos);
    EXPECT_NE(parsed.error().message.find(mention), std::string::npos) << parsed.error().message;
  };
  refused([](Json& j) { j["command"] = "run"; }, "command");
  refused([](Json& j) { j.erase("command"); }, "command");
  refused([](Json& j) { j["processes"] = -1; }, "processes");
  refused([](Json& j) { j["processes"] = 1.5; }, "processes");
  refused([](Json& j) { j["processes"] = "2"; }, "processes");
  refused([](Json& j) { j["pages"] = 1ull << 60; }, "pages");
  refused([](Json& j) { j["total_ms"] = -3; }, "total_ms");
  refused([](Json& j) { j["total_ms"] = 1e300; }, "total_ms");
  refused([](Json& j) { j.erase("bytes_written"); }, "bytes_written");
  refused([](Json& j) { j["stages_ms"]["\x1b[2J"] = 1; }, "stage name");
  refused([](Json& j) { j["stages_ms"]["pages"] = "fast"; }, "pages");
  refused([](Json& j) { j["stages_ms"]["pages"] = 1e6; }, "longer than the total");
  refused([](Json& j) { j["frozen_ms"] = 1e6; }, "frozen");
  refused([](Json& j) { j["pages_bytes"] = 5; }, "pages_bytes");
  refused([](Json& j) { j["complete"] = 1; }, "complete");
  refused([](Json& j) {
    for (int i = 0; i < 40; ++i) j["stages_ms"][std::string(1, static_cast<char>('a' + i % 26)) + std::string(i / 26 + 1, 'x')] = 0;
  }, "stages");
  for (const char* text : {"", "[]", "{", "null", "{\"command\":\"dump\"}"}) EXPECT_FALSE(parse_run_stats(text, "f")) << text;
  // Keys a newer cryo may add are ignored.
  Json newer = good;
  newer["something_new"] = {1, 2};
  EXPECT_TRUE(parse_run_stats(newer.dump(), "f"));
}

TEST(RunStats, TextNamesEveryCountAndStage) {
  std::string text = format_run_stats(sample_dump());
  EXPECT_EQ(text.rfind("dump:\n", 0), 0u) << text;
  for (const std::string& part : std::vector<std::string>{"2 processes", "3 threads", "7 fds", "40 mappings", "256 pages (1.0 MiB)", "written in 45.0 ms",
                           "frozen 43.5 ms", "  pages" + std::string(11, ' ') + "30.1 ms\n", "  preflight" + std::string(7, ' ') + "1.50 ms\n"})
    EXPECT_NE(text.find(part), std::string::npos) << part << " in\n" << text;
  RunStats partial = sample_dump();
  partial.complete = false;
  EXPECT_NE(format_run_stats(partial).find("before the sync"), std::string::npos);
}

class StatsFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/cryo-stats-XXXXXX";
    ASSERT_NE(::mkdtemp(templ), nullptr);
    root_ = templ;
    auto opened = DirFd::open(root_);
    ASSERT_TRUE(opened) << opened.error().message;
    dir_ = std::move(*opened);
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string root_;
  DirFd dir_;
};

TEST_F(StatsFileTest, WrittenPrivateAndReplacedAtomically) {
  ASSERT_TRUE(write_stats_file(dir_, sample_dump()));
  struct stat st;
  ASSERT_EQ(::stat((root_ + "/stats-dump.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ino_t first = st.st_ino;
  RunStats second = sample_dump();
  second.processes = 9;
  second.threads = 9;
  ASSERT_TRUE(write_stats_file(dir_, second));
  ASSERT_EQ(::stat((root_ + "/stats-dump.json").c_str(), &st), 0);
  EXPECT_NE(st.st_ino, first);  // A new file renamed over the old one, never rewritten in place.
  auto read = read_stats_file(dir_, StatsCommand::Dump);
  ASSERT_TRUE(read) << read.error().message;
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->processes, 9u);
  size_t entries = 0;
  for (auto& e : fs::directory_iterator(root_)) entries += e.path().filename() == "stats-dump.json" ? 1 : 100;
  EXPECT_EQ(entries, 1u);  // No temporary file left.
  auto none = read_stats_file(dir_, StatsCommand::Restore);
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
}

TEST_F(StatsFileTest, ASymlinkIsNeverFollowed) {
  std::string target = root_ + "/elsewhere";
  std::ofstream(target) << "keep";
  ASSERT_EQ(::symlink(target.c_str(), (root_ + "/stats-restore.json").c_str()), 0);
  // Reading refuses it by name.
  auto read = read_stats_file(dir_, StatsCommand::Restore);
  ASSERT_FALSE(read);
  EXPECT_NE(read.error().message.find("symlink"), std::string::npos) << read.error().message;
  // Writing replaces the link itself; the file it pointed to is untouched.
  RunStats stats = sample_dump();
  stats.command = StatsCommand::Restore;
  ASSERT_TRUE(write_stats_file(dir_, stats));
  std::ifstream in(target);
  std::string kept((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(kept, "keep");
  struct stat st;
  ASSERT_EQ(::lstat((root_ + "/stats-restore.json").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
}

TEST_F(StatsFileTest, ShowRendersBothOrSaysThereAreNone) {
  auto none = render_stats_files(dir_, false);
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("holds no stats"), std::string::npos);
  ASSERT_TRUE(write_stats_file(dir_, sample_dump()));
  auto text = render_stats_files(dir_, false);
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_EQ(text->rfind("== stats-dump.json ==\ndump:\n", 0), 0u) << *text;
  auto json = render_stats_files(dir_, true);
  ASSERT_TRUE(json) << json.error().message;
  Json j = Json::parse(*json);
  EXPECT_EQ(j["dump"]["processes"], 2);
  EXPECT_TRUE(j["restore"].is_null());
  // A damaged file is an error naming it.
  std::ofstream(root_ + "/stats-restore.json") << "{\"command\": \"restore\"";
  auto damaged = render_stats_files(dir_, false);
  ASSERT_FALSE(damaged);
  EXPECT_NE(damaged.error().message.find("stats-restore.json: not valid JSON"), std::string::npos) << damaged.error().message;
}

TEST_F(StatsFileTest, StatsJsonTargetFileIsCreatedPrivate) {
  std::string target = root_ + "/out.json";
  ASSERT_TRUE(write_stats_json(target, sample_dump()));
  struct stat st;
  ASSERT_EQ(::stat(target.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  std::ifstream in(target);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(parse_run_stats(text, target));
  EXPECT_FALSE(write_stats_json(root_ + "/no/such/dir/out.json", sample_dump()));
}

// The dump's stats are committed with the image but not listed in its inventory, so the dump can
// replace them after the commit and a restore can add its own, and the image still opens; a
// withdrawn image loses them with its files.
TEST_F(StatsFileTest, CommittedBesideTheImageOutsideItsInventory) {
  const std::string image = root_ + "/image";
  auto writer = ImageDirWriter::create(image);
  ASSERT_TRUE(writer) << writer.error().message;
  ProcessTree tree;
  ASSERT_TRUE(write_image(writer->dir(), Kind::ProcessTree, 0, tree));
  RunStats partial = sample_dump();
  partial.complete = false;
  ASSERT_TRUE(write_stats_file(writer->dir(), partial));
  ASSERT_TRUE(writer->commit(Inventory()));
  auto inventory = open_image_dir(image);
  ASSERT_TRUE(inventory) << inventory.error().message;
  for (const auto& file : inventory->files()) EXPECT_FALSE(is_stats_file(file.name())) << file.name();
  ASSERT_TRUE(write_stats_file(writer->dir(), sample_dump()));
  RunStats restore = sample_dump();
  restore.command = StatsCommand::Restore;
  ASSERT_TRUE(write_stats_file(writer->dir(), restore));
  // A temporary name left by a killed cryo does not damage the image either.
  std::ofstream(image + "/.stats-restore.json.new") << "{";
  EXPECT_TRUE(open_image_dir(image)) << "stats beside the image made it unreadable";
  auto complete = read_stats_file(writer->dir(), StatsCommand::Dump);
  ASSERT_TRUE(complete && complete->has_value());
  EXPECT_TRUE((*complete)->complete);
  // Any other extra file still is an error.
  std::ofstream(image + "/stats.json") << "{}";
  EXPECT_FALSE(open_image_dir(image));
  ::unlink((image + "/stats.json").c_str());
  writer->withdraw();
  EXPECT_FALSE(fs::exists(image + "/stats-dump.json"));
}

TEST(StatsFileNames, AreOutsideTheInventoryWithTheirTemporaryNames) {
  for (const char* name : {"stats-dump.json", "stats-restore.json", ".stats-dump.json.new", ".stats-restore.json.new"}) {
    EXPECT_TRUE(is_stats_file(name)) << name;
    EXPECT_TRUE(is_outside_inventory(name)) << name;
  }
  for (const char* name : {"stats-dump.jso", "xstats-dump.json", ".stats-dump.json.old", "stats.json", "core-1.img"})
    EXPECT_FALSE(is_stats_file(name)) << name;
  EXPECT_TRUE(is_outside_inventory("dump.log"));
}

}  // namespace
}  // namespace cryo::image

namespace cryo {
namespace {

TEST(StageTimer, StagesAreDisjointAndAStageEnteredAgainAddsUp) {
  StageTimer timer;
  timer.enter("collect");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  timer.enter("pages");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  timer.enter("collect");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  timer.stop();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto stages = timer.stages();
  ASSERT_EQ(stages.size(), 2u);
  EXPECT_EQ(stages[0].first, "collect");
  EXPECT_EQ(stages[1].first, "pages");
  EXPECT_GE(stages[0].second, 10);
  EXPECT_GE(stages[1].second, 5);
  EXPECT_LE(stages[0].second + stages[1].second, timer.elapsed_ms() - 5);
}

TEST(ProgressLine, Text) {
  EXPECT_EQ(format_byte_size(0), "0 B");
  EXPECT_EQ(format_byte_size(1023), "1023 B");
  EXPECT_EQ(format_byte_size(1024), "1.0 KiB");
  EXPECT_EQ(format_byte_size(212ull << 20), "212 MiB");
  EXPECT_EQ(format_byte_size(3ull << 29), "1.5 GiB");
  EXPECT_EQ(format_progress_line("dump", "pages", 100ull << 20, 400ull << 20, 0.5),
            "cryo dump: pages 100 MiB of 400 MiB, 200 MiB/s");
  // Unknown total: the bytes done alone; nothing done yet: no rate.
  EXPECT_EQ(format_progress_line("restore", "processes", 5ull << 20, 0, 1), "cryo restore: processes 5.0 MiB, 5.0 MiB/s");
  EXPECT_EQ(format_progress_line("dump", "freeze", 0, 400ull << 20, 1), "cryo dump: freeze 0 B of 400 MiB");
  // More done than estimated: never "of" less than done.
  EXPECT_EQ(format_progress_line("dump", "pages", 500ull << 20, 400ull << 20, 1), "cryo dump: pages 400 MiB of 400 MiB, 500 MiB/s");
  EXPECT_EQ(format_progress_line("dump", "pages", 100ull << 20, 400ull << 20, 0.5, 20).size(), 20u);
}

TEST(ProgressLine, NothingIsWrittenWhereNoTerminalIs) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_NONBLOCK), 0);
  ::setenv("CRYO_PROGRESS_AFTER_MS", "0", 1);
  {
    ProgressLine line("dump", fds[1], true);
    EXPECT_FALSE(line.active());
    line.set_stage("pages");
    line.add_done(1 << 20);
  }
  ::unsetenv("CRYO_PROGRESS_AFTER_MS");
  char buf[16];
  EXPECT_EQ(::read(fds[0], buf, sizeof buf), -1);  // EAGAIN: empty.
  ::close(fds[0]);
  ::close(fds[1]);
}

}  // namespace
}  // namespace cryo
