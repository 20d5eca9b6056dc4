// Stats and progress of dump and restore: `--stats-json` to a file and to stdout, the stats kept
// beside the image (stats-dump.json, stats-restore.json), `cryo show --stats`, and the progress
// line on a terminal (a pseudo-terminal made by the test), which must be erased at the end and
// absent with --quiet or when stderr is a pipe. The numbers are checked against the truth: the
// workload's processes, threads, fds and mappings as /proc shows them before the dump, and the sizes
// of the image's files.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

std::string link_of(const std::string& path) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

size_t entries_of(const std::string& dir) {
  std::error_code ec;
  size_t n = 0;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) ++n;
  return n;
}

// What /proc shows of every process in the PID namespace of `init`.
struct TreeTruth {
  uint64_t processes = 0, threads = 0, fds = 0, mappings = 0;
};

TreeTruth read_truth(pid_t init) {
  TreeTruth truth;
  const std::string ns = link_of("/proc/" + std::to_string(init) + "/ns/pid");
  EXPECT_FALSE(ns.empty());
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string proc = "/proc/" + name;
    if (link_of(proc + "/ns/pid") != ns) continue;
    ++truth.processes;
    truth.threads += entries_of(proc + "/task");
    truth.fds += entries_of(proc + "/fd");
    std::string maps = slurp(proc + "/maps");
    truth.mappings += static_cast<uint64_t>(std::count(maps.begin(), maps.end(), '\n'));
  }
  return truth;
}

struct ImageSizes {
  uint64_t pages = 0;      // pages-*.img
  uint64_t image = 0;      // Every file of the image (not the logs and stats beside it).
  uint64_t inventory = 0;  // inventory.img
};

ImageSizes sizes_of(const std::string& dir) {
  ImageSizes sizes;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename();
    if (name.ends_with(".log") || name.ends_with(".json")) continue;
    uint64_t size = fs::file_size(entry.path());
    sizes.image += size;
    if (name.starts_with("pages-")) sizes.pages += size;
    if (name == "inventory.img") sizes.inventory = size;
  }
  return sizes;
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode;
}

// The stages cryo reports are disjoint parts of the whole.
void expect_stages_within_total(const Json& stats, const std::vector<std::string>& must_have) {
  double sum = 0;
  for (const auto& [name, ms] : stats["stages_ms"].items()) {
    EXPECT_GE(ms.get<double>(), 0) << name;
    sum += ms.get<double>();
  }
  EXPECT_LE(sum, stats["total_ms"].get<double>() + 0.01) << stats.dump(2);
  EXPECT_GT(stats["total_ms"].get<double>(), 0);
  for (const auto& name : must_have) EXPECT_TRUE(stats["stages_ms"].contains(name)) << name << " in " << stats.dump(2);
}

Json parse_json(const std::string& text) {
  Json j = Json::parse(text, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << text;
  return j;
}

TEST(Stats, DumpAndRestoreReportWhatTheyMovedToAFileAndToStdout) {
  CheckpointSession session;
  pid_t init = session.start("cr_memory", {"--mib=16"});
  ASSERT_GT(init, 0);
  TreeTruth truth = read_truth(init);
  ASSERT_EQ(truth.processes, 2u);  // cr_memory forks one child.
  const std::string image = session.image_path();
  const std::string dump_json = session.dir() / "dump-stats.json";
  ASSERT_TRUE(session.dump_ok(init, image, {"--stats-json", dump_json}));

  Json dump = parse_json(slurp(dump_json));
  ASSERT_TRUE(dump.is_object());
  EXPECT_EQ(mode_of(dump_json) & 07777, 0600u);
  ImageSizes sizes = sizes_of(image);
  EXPECT_EQ(dump["command"], "dump");
  EXPECT_EQ(dump["complete"], true);
  EXPECT_EQ(dump["processes"], truth.processes);
  EXPECT_EQ(dump["threads"], truth.threads);
  EXPECT_EQ(dump["fds"], truth.fds);
  EXPECT_EQ(dump["mappings"], truth.mappings);
  EXPECT_EQ(dump["pages_bytes"], sizes.pages);
  EXPECT_EQ(dump["pages"].get<uint64_t>() * 4096, sizes.pages);
  EXPECT_GE(sizes.pages, 16u << 20);  // The 16 MiB of random data, at least.
  EXPECT_EQ(dump["bytes_written"], sizes.image);
  EXPECT_GT(dump["frozen_ms"].get<double>(), 0);
  EXPECT_LE(dump["frozen_ms"].get<double>(), dump["total_ms"].get<double>());
  expect_stages_within_total(dump, {"preflight", "freeze", "collect", "pages", "write", "sync", "kill"});
  EXPECT_NEAR(dump["throughput_bytes_per_s"].get<double>(),
              static_cast<double>(sizes.image) / (dump["total_ms"].get<double>() / 1000), 2);
  // The same object is kept beside the image, private, and the image still verifies with it there.
  EXPECT_EQ(slurp(image + "/stats-dump.json"), slurp(dump_json));
  EXPECT_EQ(mode_of(image + "/stats-dump.json") & 07777, 0600u);
  auto show = run_cryo({"show", "-D", image});
  EXPECT_EQ(show.status, 0) << show.err;

  auto restored = session.restore(image, {"--stats-json", "-"});
  ASSERT_EQ(restored.status, 0) << restored.err;
  // The PID stays the first line; the JSON object follows.
  size_t newline = restored.out.find('\n');
  ASSERT_NE(newline, std::string::npos) << restored.out;
  pid_t restored_init = static_cast<pid_t>(std::atoi(restored.out.substr(0, newline).c_str()));
  ASSERT_GT(restored_init, 0) << restored.out;
  session.own(restored_init);
  Json restore = parse_json(restored.out.substr(newline + 1));
  EXPECT_EQ(restore["command"], "restore");
  EXPECT_EQ(restore["processes"], truth.processes);
  EXPECT_EQ(restore["threads"], truth.threads);
  EXPECT_EQ(restore["fds"], truth.fds);
  EXPECT_EQ(restore["mappings"], truth.mappings);
  EXPECT_EQ(restore["pages_bytes"], sizes.pages);
  // Every file the inventory lists was read to verify it (the inventory itself is not among them).
  EXPECT_EQ(restore["bytes_read"], sizes.image - sizes.inventory);
  EXPECT_FALSE(restore.contains("frozen_ms"));
  expect_stages_within_total(restore, {"read", "check", "create", "processes", "verify", "release"});
  EXPECT_EQ(slurp(image + "/stats-restore.json"), restored.out.substr(newline + 1));
  EXPECT_EQ(mode_of(image + "/stats-restore.json") & 07777, 0600u);
  session.expect_pass_after_check(restored_init);

  // show --stats prints both, as text and as JSON.
  auto text = run_cryo({"show", "--stats", "-D", image});
  EXPECT_EQ(text.status, 0) << text.err;
  EXPECT_EQ(text.out.rfind("== stats-dump.json ==\ndump:\n  2 processes, 2 threads, ", 0), 0u) << text.out;
  EXPECT_NE(text.out.find("== stats-restore.json ==\nrestore:\n  2 processes"), std::string::npos) << text.out;
  auto json = run_cryo({"show", "--stats", "--json", "-D", image});
  EXPECT_EQ(json.status, 0) << json.err;
  Json shown = parse_json(json.out);
  EXPECT_EQ(shown["dump"], dump);
  EXPECT_EQ(shown["restore"], restore);

  // A second restore replaces the restore's stats; the dump's stay.
  auto second = session.restore_ok(image);
  ASSERT_GT(second, 0);
  Json again = parse_json(slurp(image + "/stats-restore.json"));
  EXPECT_NE(again["total_ms"], restore["total_ms"]);
  EXPECT_EQ(slurp(image + "/stats-dump.json"), slurp(dump_json));
  session.expect_pass_after_check(second);
  session.expect_nothing_left_running();
}

TEST(Stats, ShowRefusesADamagedStatsFileByName) {
  CheckpointSession session;
  pid_t init = session.start("cr_memory", {"--mib=1"});
  ASSERT_GT(init, 0);
  const std::string image = session.image_path();
  ASSERT_TRUE(session.dump_ok(init, image));
  Json stats = parse_json(slurp(image + "/stats-dump.json"));
  stats["processes"] = -1;
  {
    FILE* f = std::fopen((image + "/stats-dump.json").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(stats.dump().c_str(), f);
    std::fclose(f);
  }
  auto shown = run_cryo({"show", "--stats", "-D", image});
  expect_one_clear_error(shown, image + "/stats-dump.json: \"processes\" is not a non-negative integer");
  // The stats are outside the inventory: the image itself is still whole.
  EXPECT_EQ(run_cryo({"show", "-D", image}).status, 0);
}

// --stats-json into the image directory would put a file there that no image holds: refused before
// anything is done, the tree untouched.
TEST(Stats, AStatsFileInsideTheImageDirectoryIsRefused) {
  CheckpointSession session;
  pid_t init = session.start("cr_memory", {"--mib=1"});
  ASSERT_GT(init, 0);
  const std::string image = session.image_path();
  auto dumped = session.dump(init, image, {"--stats-json", image + "/stats.json"});
  EXPECT_EQ(dumped.status, 2);
  expect_one_clear_error(dumped, "--stats-json " + image + "/stats.json is inside the image directory");
  EXPECT_EQ(::kill(init, 0), 0) << "the tree must still run";
  ASSERT_TRUE(session.dump_ok(init, image));
  auto restored = session.restore(image, {"--stats-json", session.dir() / "image/../image/x.json"});
  EXPECT_EQ(restored.status, 2);
  expect_one_clear_error(restored, "is inside the image directory");
  pid_t again = session.restore_ok(image);
  ASSERT_GT(again, 0);
  session.expect_pass_after_check(again);
}

// A restore from a directory it cannot write (read-only media) works and warns.
TEST(Stats, ARestoreFromAReadOnlyImageDirectoryWarnsAndRestores) {
  CheckpointSession session;
  pid_t init = session.start("cr_memory", {"--mib=1"});
  ASSERT_GT(init, 0);
  const std::string image = session.image_path();
  ASSERT_TRUE(session.dump_ok(init, image));
  const std::string ro = session.image_path("readonly");
  ASSERT_EQ(::mkdir(ro.c_str(), 0700), 0);
  ASSERT_EQ(::mount(image.c_str(), ro.c_str(), nullptr, MS_BIND, nullptr), 0) << std::strerror(errno);
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{ro};
  ASSERT_EQ(::mount(nullptr, ro.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr), 0) << std::strerror(errno);
  auto result = session.restore(ro);
  ASSERT_EQ(result.status, 0) << result.err;
  pid_t restored = static_cast<pid_t>(std::atoi(result.out.c_str()));
  ASSERT_GT(restored, 0);
  session.own(restored);
  EXPECT_NE(result.err.find("no stats-restore.json kept"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("Read-only file system"), std::string::npos) << result.err;
  EXPECT_FALSE(fs::exists(image + "/stats-restore.json"));
  session.expect_pass_after_check(restored);
}

// Runs argv with stdin, stdout and stderr on a new pseudo-terminal; returns its exit status and
// everything written to the terminal.
struct PtyResult {
  int status = -1;
  std::string out;
};

PtyResult run_in_pty(const std::vector<std::string>& argv, const std::string& progress_after_ms) {
  PtyResult result;
  int master = -1;
  pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
  if (pid < 0) {
    ADD_FAILURE() << "forkpty: " << std::strerror(errno);
    return result;
  }
  if (pid == 0) {
    if (!progress_after_ms.empty()) ::setenv("CRYO_PROGRESS_AFTER_MS", progress_after_ms.c_str(), 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  OwnedPid owned(pid);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  char buf[4096];
  bool exited = false;
  int status = 0;
  // Read until the child has exited and the terminal holds nothing more (a process the child left
  // holding the terminal must not hang the test), or until the deadline.
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{master, POLLIN, 0};
    int ready = ::poll(&p, 1, 100);
    if (ready > 0) {
      ssize_t n = ::read(master, buf, sizeof buf);
      if (n > 0) {
        result.out.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (exited || n == 0 || errno == EIO) {
        if (!exited && ::waitpid(pid, &status, 0) == pid) exited = true;
        break;
      }
    }
    if (exited) break;
    if (::waitpid(pid, &status, WNOHANG) == pid) exited = true;  // One more poll drains what is left.
  }
  ::close(master);
  if (exited) {
    owned.forget();
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  } else {
    ADD_FAILURE() << argv[1] << " under a pseudo-terminal did not end; output:\n" << result.out;
  }
  return result;
}

constexpr std::string_view kErase = "\r\033[K";

// The progress line was drawn (with the stage, bytes done of the total and the rate), every log
// line starts on a cleared line, and the terminal is left with the line erased.
void expect_progress_drawn_and_erased(const std::string& out, const std::string& command) {
  const std::string prefix = "cryo " + command + ": ";
  ASSERT_NE(out.find(std::string(kErase) + prefix), std::string::npos) << out;
  bool with_bytes = false;
  for (size_t at = out.find(prefix); at != std::string::npos; at = out.find(prefix, at + 1)) {
    size_t end = out.find('\r', at);
    std::string line = out.substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (line.find(" of ") != std::string::npos && line.find("/s") != std::string::npos) with_bytes = true;
  }
  EXPECT_TRUE(with_bytes) << "no line with bytes done of the total and a rate in:\n" << out;
  // Log lines ("cryo: info: ...") start on a cleared line or a new one, never after the progress.
  for (size_t at = out.find("cryo: "); at != std::string::npos; at = out.find("cryo: ", at + 1)) {
    bool cleared = at == 0 || out[at - 1] == '\n' || (at >= kErase.size() && out.compare(at - kErase.size(), kErase.size(), kErase) == 0);
    EXPECT_TRUE(cleared) << "a log line at " << at << " runs into the progress line:\n" << out;
  }
  // After the last erase, nothing of the line is drawn again.
  size_t last_erase = out.rfind(kErase);
  EXPECT_EQ(out.find(prefix, last_erase), std::string::npos) << out;
}

TEST(Progress, ALineOnATerminalIsDrawnAndErased) {
  CheckpointSession session;
  // A few hundred MiB, so that pages are read in many batches and the line moves.
  pid_t init = session.start("cr_memory", {"--mib=256"});
  ASSERT_GT(init, 0);
  const std::string image = session.image_path();
  // The delay before the line is drawn is a second; 0 here so that it shows whatever the machine's speed.
  auto dumped = run_in_pty({CRYO_BINARY, "dump", "-v", "-t", std::to_string(init), "-D", image}, "0");
  ASSERT_EQ(dumped.status, 0) << dumped.out;
  EXPECT_TRUE(wait_for_exit(init));
  session.disown_exited(init);
  expect_progress_drawn_and_erased(dumped.out, "dump");
  EXPECT_NE(dumped.out.find("cryo: info: [dump] dumped 2 processes"), std::string::npos) << dumped.out;
  // The image's stats are not affected by the terminal.
  Json stats = parse_json(slurp(image + "/stats-dump.json"));
  EXPECT_GE(stats["pages_bytes"].get<uint64_t>(), 256u << 20);

  auto restored = run_in_pty({CRYO_BINARY, "restore", "--detach", "-D", image}, "0");
  ASSERT_EQ(restored.status, 0) << restored.out;
  size_t last_erase = restored.out.rfind(kErase);
  ASSERT_NE(last_erase, std::string::npos) << restored.out;
  // The PID comes after the line is gone (the pty turns "\n" into "\r\n").
  std::string after = restored.out.substr(last_erase + kErase.size());
  pid_t restored_init = static_cast<pid_t>(std::atoi(after.c_str()));
  ASSERT_GT(restored_init, 0) << restored.out;
  session.own(restored_init);
  expect_progress_drawn_and_erased(restored.out.substr(0, last_erase + kErase.size()), "restore");
  session.expect_pass_after_check(restored_init);
  session.expect_nothing_left_running();
}

TEST(Progress, QuietDrawsNothingOnATerminal) {
  CheckpointSession session;
  pid_t quiet_init = session.start("cr_memory", {"--mib=64"});
  ASSERT_GT(quiet_init, 0);
  const std::string quiet_image = session.image_path("quiet");
  auto quiet = run_in_pty({CRYO_BINARY, "dump", "--quiet", "-t", std::to_string(quiet_init), "-D", quiet_image}, "0");
  ASSERT_EQ(quiet.status, 0) << quiet.out;
  EXPECT_TRUE(wait_for_exit(quiet_init));
  session.disown_exited(quiet_init);
  EXPECT_EQ(quiet.out, "");
  auto quiet_restore = run_in_pty({CRYO_BINARY, "restore", "-q", "--detach", "-D", quiet_image}, "0");
  ASSERT_EQ(quiet_restore.status, 0) << quiet_restore.out;
  pid_t quiet_restored = static_cast<pid_t>(std::atoi(quiet_restore.out.c_str()));
  ASSERT_GT(quiet_restored, 0) << quiet_restore.out;
  session.own(quiet_restored);
  EXPECT_EQ(quiet_restore.out, std::to_string(quiet_restored) + "\r\n");
  session.expect_pass_after_check(quiet_restored);
  session.expect_nothing_left_running();
}

// With stderr a pipe (run_cryo captures it): nothing, not even a control character.
TEST(Progress, NothingReachesAPipe) {
  CheckpointSession session;
  pid_t piped_init = session.start("cr_memory", {"--mib=64"});
  ASSERT_GT(piped_init, 0);
  ::setenv("CRYO_PROGRESS_AFTER_MS", "0", 1);
  auto piped = run_cryo({"dump", "-t", std::to_string(piped_init), "-D", session.image_path("piped")});
  ::unsetenv("CRYO_PROGRESS_AFTER_MS");
  EXPECT_EQ(piped.status, 0) << piped.err;
  EXPECT_EQ(piped.err, "");
  EXPECT_TRUE(wait_for_exit(piped_init));
  session.disown_exited(piped_init);
  ::setenv("CRYO_PROGRESS_AFTER_MS", "0", 1);
  auto restored = session.restore(session.image_path("piped"));
  ::unsetenv("CRYO_PROGRESS_AFTER_MS");
  EXPECT_EQ(restored.status, 0) << restored.err;
  EXPECT_EQ(restored.err, "");
  pid_t restored_init = static_cast<pid_t>(std::atoi(restored.out.c_str()));
  ASSERT_GT(restored_init, 0) << restored.out;
  session.own(restored_init);
  session.expect_pass_after_check(restored_init);
  session.expect_nothing_left_running();
}

}  // namespace
}  // namespace cryo::e2e
