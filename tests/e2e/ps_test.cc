// cryo ps: detached and restored trees are listed from their records under /run/cryo/trees; a record
// is believed only while its PID still is the tree it names, and a record cryo did not write is
// skipped with a warning. Other engineers' trees may be listed too: every check looks for this
// test's own PIDs only.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>

#include "cli/tree_records.h"
#include "e2e/checkpoint_harness.h"
#include "e2e/harness.h"

namespace cryo::e2e {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

std::string record_path(pid_t pid) { return cli::tree_record_dir() + "/" + std::to_string(pid) + ".tree"; }

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

Struct parse_json(const std::string& text) {
  Struct parsed;
  auto status = google::protobuf::util::JsonStringToMessage(text, &parsed);
  EXPECT_TRUE(status.ok()) << status.message() << "\n" << text;
  return parsed;
}

// The tree of `pid` in `cryo ps --json`, or nullptr.
const Struct* find_tree(const Struct& listing, pid_t pid) {
  auto trees = listing.fields().find("trees");
  if (trees == listing.fields().end()) return nullptr;
  for (const Value& tree : trees->second.list_value().values())
    if (static_cast<pid_t>(tree.struct_value().fields().at("pid").number_value()) == pid) return &tree.struct_value();
  return nullptr;
}

// The line of `cryo ps` that starts with `pid`, or "".
std::string line_of(const std::string& table, pid_t pid) {
  std::istringstream lines(table);
  std::string line;
  while (std::getline(lines, line))
    if (line.rfind(std::to_string(pid) + " ", 0) == 0) return line;
  return "";
}

pid_t start_waiter(const TempDir& tmp, const std::vector<std::string>& run_args, const std::string& name) {
  pid_t pid = run_detached(run_args, {workload("run_wait"), "ignore", tmp / name}, tmp / (name + ".log"));
  if (pid) {
    EXPECT_TRUE(wait_for_text(tmp / (name + ".log"), "ready"));
  }
  return pid;
}

// A file this test put into the record directory, removed when the test ends.
class PlantedFile {
 public:
  explicit PlantedFile(std::string path) : path_(std::move(path)) {}
  ~PlantedFile() { ::unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// Every tree a test starts is killed when the test body ends; the records of those trees are then
// stale, and one `cryo ps` removes them, so that no test leaves anything in /run/cryo/trees.
class Ps : public testing::Test {
 protected:
  void TearDown() override { run_cryo({"ps"}); }
};

TEST_F(Ps, ListsDetachedTreesWithTheirCommandAndClockOffsets) {
  TempDir tmp;
  OwnedPid first(start_waiter(tmp, {"--boottime", "49d"}, "first"));
  OwnedPid second(start_waiter(tmp, {"--monotonic", "36h"}, "second"));
  ASSERT_GT(first.get(), 0);
  ASSERT_GT(second.get(), 0);
  struct stat st;
  ASSERT_EQ(::stat(record_path(first.get()).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat(cli::tree_record_dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);

  auto text = run_cryo({"ps"});
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_EQ(text.out.rfind("PID", 0), 0u) << text.out;
  std::string line = line_of(text.out, first.get());
  EXPECT_NE(line.find(" run "), std::string::npos) << line;
  EXPECT_NE(line.find("+49d"), std::string::npos) << line;
  EXPECT_NE(line.find(workload("run_wait") + " ignore " + (tmp / "first")), std::string::npos) << line;
  EXPECT_NE(line_of(text.out, second.get()).find("+1d12h"), std::string::npos) << text.out;

  auto json = run_cryo({"ps", "--json"});
  ASSERT_EQ(json.status, 0) << json.err;
  Struct listing = parse_json(json.out);
  const Struct* tree = find_tree(listing, first.get());
  ASSERT_NE(tree, nullptr) << json.out;
  EXPECT_EQ(tree->fields().at("origin").string_value(), "run");
  EXPECT_EQ(tree->fields().at("boottime_offset_ns").number_value(), 49.0 * 86400 * 1e9);
  EXPECT_EQ(tree->fields().at("monotonic_offset_ns").number_value(), 0);
  EXPECT_EQ(tree->fields().at("image").kind_case(), Value::kNullValue);
  const auto& command = tree->fields().at("command").list_value().values();
  ASSERT_EQ(command.size(), 3);
  EXPECT_EQ(command[0].string_value(), workload("run_wait"));
  EXPECT_EQ(command[2].string_value(), tmp / "first");
  // Started a moment ago.
  double started = tree->fields().at("started_ns").number_value() / 1e9;
  EXPECT_NEAR(started, static_cast<double>(::time(nullptr)), 120);
  ASSERT_NE(find_tree(listing, second.get()), nullptr);
  EXPECT_EQ(find_tree(listing, second.get())->fields().at("monotonic_offset_ns").number_value(), 36 * 3600e9);
}

TEST_F(Ps, KilledTreeIsNotListedAndItsRecordGoes) {
  TempDir tmp;
  OwnedPid tree(start_waiter(tmp, {}, "killed"));
  ASSERT_GT(tree.get(), 0);
  const pid_t pid = tree.get();
  ASSERT_TRUE(exists(record_path(pid)));
  tree.kill();
  ASSERT_TRUE(wait_for_exit(pid) || !is_alive(pid));
  auto listed = run_cryo({"ps"});
  ASSERT_EQ(listed.status, 0) << listed.err;
  EXPECT_EQ(line_of(listed.out, pid), "") << listed.out;
  EXPECT_FALSE(exists(record_path(pid)));
}

TEST_F(Ps, RestoredTreeIsListedWithItsImageAndDumpRemovesTheRecord) {
  CheckpointSession session;
  pid_t original = session.start("cr_files", {"--dir=" + session.dir().path()});
  ASSERT_GT(original, 0);
  ASSERT_TRUE(exists(record_path(original)));
  // --leave-running: the tree runs on, and so does its record.
  ASSERT_TRUE(session.dump_ok(original, session.image_path("kept"), {"--leave-running"}));
  EXPECT_TRUE(exists(record_path(original)));
  // A dump that ends the tree removes its record itself, before any cryo ps prunes it.
  ASSERT_TRUE(session.dump_ok(original, session.image_path()));
  EXPECT_FALSE(exists(record_path(original)));

  pid_t restored = session.restore_ok(session.image_path());
  ASSERT_GT(restored, 0);
  auto json = run_cryo({"ps", "--json"});
  ASSERT_EQ(json.status, 0) << json.err;
  Struct listing = parse_json(json.out);
  const Struct* tree = find_tree(listing, restored);
  ASSERT_NE(tree, nullptr) << json.out;
  EXPECT_EQ(tree->fields().at("origin").string_value(), "restore");
  char resolved[PATH_MAX];
  ASSERT_NE(::realpath(session.image_path().c_str(), resolved), nullptr);
  EXPECT_EQ(tree->fields().at("image").string_value(), resolved);
  // The restored init's own command line, from its restored memory.
  const auto& command = tree->fields().at("command").list_value().values();
  ASSERT_GE(command.size(), 2);
  EXPECT_EQ(command[0].string_value(), workload("cr_files"));
  EXPECT_EQ(find_tree(listing, original), nullptr);

  auto text = run_cryo({"ps"});
  std::string line = line_of(text.out, restored);
  EXPECT_NE(line.find(" restore "), std::string::npos) << text.out;
  EXPECT_NE(line.find(resolved), std::string::npos) << text.out;
  // The workload still checks itself after all this.
  session.expect_pass_after_check(restored);
  EXPECT_TRUE(wait_for_exit(restored) || !is_alive(restored));
  EXPECT_EQ(line_of(run_cryo({"ps"}).out, restored), "");
  EXPECT_FALSE(exists(record_path(restored)));
}

TEST_F(Ps, StaleRecordsAreNeitherShownNorKept) {
  TempDir tmp;
  OwnedPid gone(start_waiter(tmp, {}, "gone"));
  OwnedPid live(start_waiter(tmp, {}, "live"));
  ASSERT_GT(gone.get(), 0);
  ASSERT_GT(live.get(), 0);
  const std::string gone_record = slurp(record_path(gone.get()));
  ASSERT_FALSE(gone_record.empty());
  gone.kill();

  // The dead tree's PID now "belongs" to another process: a plain sleep, no tree. The record,
  // moved to that PID, still names the dead tree's namespace and start time.
  pid_t sleeper = ::fork();
  if (sleeper == 0) {
    ::execl("/bin/sleep", "sleep", "600", nullptr);
    ::_exit(127);
  }
  OwnedPid owned_sleeper(sleeper);
  auto record = cli::parse_tree_record(gone_record);
  ASSERT_TRUE(record) << record.error().message;
  record->init = sleeper;
  PlantedFile reused(record_path(sleeper));
  write_text(reused.path(), cli::format_tree_record(*record));

  // The live tree's record, with another start time: the PID is the same, the process is not.
  auto live_record = cli::parse_tree_record(slurp(record_path(live.get())));
  ASSERT_TRUE(live_record) << live_record.error().message;
  live_record->identity.init_start_time += 1;
  write_text(record_path(live.get()), cli::format_tree_record(*live_record));

  auto json = run_cryo({"ps", "--json"});
  ASSERT_EQ(json.status, 0) << json.err;
  Struct listing = parse_json(json.out);
  EXPECT_EQ(find_tree(listing, sleeper), nullptr) << json.out;
  EXPECT_EQ(find_tree(listing, live.get()), nullptr) << json.out;
  EXPECT_FALSE(exists(reused.path()));
  EXPECT_FALSE(exists(record_path(live.get())));
  EXPECT_TRUE(is_alive(live.get()));
  EXPECT_TRUE(is_alive(sleeper));
}

TEST_F(Ps, HostileRecordsAreSkippedWithAWarning) {
  TempDir tmp;
  OwnedPid tree(start_waiter(tmp, {}, "honest"));
  ASSERT_GT(tree.get(), 0);
  const std::string dir = cli::tree_record_dir();
  // PIDs above any this host hands out in practice, so no real record is touched.
  std::vector<std::unique_ptr<PlantedFile>> planted;
  auto plant = [&](const std::string& name) {
    planted.push_back(std::make_unique<PlantedFile>(dir + "/" + name));
    return planted.back()->path();
  };
  write_text(plant("4194001.tree"), "garbage\n\x1b]0;owned\x07\n");
  ASSERT_EQ(::symlink("/etc/passwd", plant("4194002.tree").c_str()), 0);
  ASSERT_EQ(::mkfifo(plant("4194003.tree").c_str(), 0600), 0);
  write_text(plant("4194004.tree"), "cryo-tree-record 1\n" + std::string(100 * 1024, 'x') + "\n");
  write_text(plant("not-a-record"), "hello\n");
  // Well formed, and naming a process with its true identity: this test itself. It is no PID
  // namespace's init, so it is no tree, and cryo never wrote this.
  auto self = read_tree_identity(::getpid());
  ASSERT_TRUE(self) << self.error().message;
  cli::TreeRecord fake;
  fake.init = ::getpid();
  fake.identity = *self;
  fake.started_ns = 1;
  fake.command = {"\x1b[31mfake"};
  std::string self_path = plant(std::to_string(::getpid()) + ".tree");
  write_text(self_path, cli::format_tree_record(fake));
  // A good record under the wrong name.
  auto honest = cli::parse_tree_record(slurp(record_path(tree.get())));
  ASSERT_TRUE(honest);
  write_text(plant("4194005.tree"), cli::format_tree_record(*honest));

  auto text = run_cryo({"ps"});
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_NE(line_of(text.out, tree.get()), "") << text.out;
  EXPECT_EQ(line_of(text.out, ::getpid()), "") << text.out;
  for (const char* name : {"4194001.tree", "4194002.tree", "4194003.tree", "4194004.tree", "4194005.tree", "not-a-record"})
    EXPECT_NE(text.err.find("cryo: warning: [ps] skipping " + dir + "/" + name + ": "), std::string::npos) << name << "\n"
                                                                                                       << text.err;
  EXPECT_NE(text.err.find(std::to_string(::getpid()) + ".tree: PID " + std::to_string(::getpid()) + " is not the init"),
            std::string::npos)
      << text.err;
  EXPECT_NE(text.err.find("it names PID " + std::to_string(tree.get()) + " but is called 4194005.tree"), std::string::npos)
      << text.err;
  // No terminal control byte of a hostile file reaches the terminal.
  EXPECT_EQ(text.err.find('\x1b'), std::string::npos);
  EXPECT_EQ(text.out.find('\x1b'), std::string::npos);

  auto json = run_cryo({"ps", "--json"});
  ASSERT_EQ(json.status, 0) << json.err;
  Struct listing = parse_json(json.out);
  EXPECT_NE(find_tree(listing, tree.get()), nullptr);
  EXPECT_EQ(find_tree(listing, ::getpid()), nullptr);
  EXPECT_GE(listing.fields().at("skipped").list_value().values_size(), 7);
  // Skipped, not removed: they are not cryo's to delete. (The symlink's target is untouched.)
  for (const auto& file : planted) EXPECT_TRUE(exists(file->path())) << file->path();
  EXPECT_FALSE(slurp("/etc/passwd").empty());
}

}  // namespace
}  // namespace cryo::e2e
