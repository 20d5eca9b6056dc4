// restore --lazy: the tree runs before its private memory is in place, which cryo's page server
// fills through userfaultfd (restore/page_server.h). Every byte comes back, nothing of cryo is left
// in the tree once the server is done, and a server that dies takes the tree with it.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "base/fault_injection.h"
#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

using namespace std::chrono_literals;

pid_t parent_of(pid_t pid) {
  std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return 0;
  // "pid (comm) S ppid ...".
  return static_cast<pid_t>(std::stoi(stat.substr(paren + 4)));
}

// Mappings of `pid` still registered with a userfaultfd (VmFlags um).
int registered_mappings(pid_t pid) {
  int count = 0;
  std::istringstream smaps(slurp("/proc/" + std::to_string(pid) + "/smaps"));
  for (std::string line; std::getline(smaps, line);)
    if (line.starts_with("VmFlags:") && (" " + line + " ").find(" um ") != std::string::npos) ++count;
  return count;
}

// The page server of a detached lazy restore is the init's parent until it is done.
bool wait_for_server_done(const std::string& image, std::chrono::milliseconds timeout = 30000ms) {
  return wait_for_text(image + "/restore.log", "lazy: every page in place", timeout);
}

TEST(LazyRestore, DetachedTreeRunsBeforeItsMemoryAndGetsEveryByteBack) {
  CheckpointSession session;
  pid_t init = session.start("cr_memory", {"--mib=256"});
  ASSERT_GT(init, 0);
  std::string image = session.image_path();
  ASSERT_TRUE(session.dump_ok(init, image));
  pid_t restored = session.restore_ok(image, {"--lazy"});
  ASSERT_GT(restored, 0);
  pid_t server = parent_of(restored);
  EXPECT_NE(slurp("/proc/" + std::to_string(server) + "/cmdline").find("--lazy"), std::string::npos)
      << "the init's parent is not the page server";
  ASSERT_TRUE(wait_for_server_done(image)) << slurp(image + "/restore.log");
  // The server is gone, and with it every registration: nothing of cryo is left in the tree.
  EXPECT_TRUE(wait_for_exit(server, 10000ms)) << "the page server did not exit";
  EXPECT_EQ(registered_mappings(restored), 0) << slurp("/proc/" + std::to_string(restored) + "/smaps");
  for (pid_t child : children_of(restored)) EXPECT_EQ(registered_mappings(child), 0);
  session.expect_pass_after_check(restored);
}

TEST(LazyRestore, ForegroundRestoreServesThePagesAndWaitsForTheTree) {
  CheckpointSession session;
  pid_t init = session.start("cr_memory", {"--mib=256"});
  ASSERT_GT(init, 0);
  std::string image = session.image_path();
  ASSERT_TRUE(session.dump_ok(init, image));
  CommandResult result;
  std::thread restore([&] { result = run_cryo({"restore", "--lazy", "-q", "-D", image}, std::chrono::seconds(90)); });
  ASSERT_TRUE(wait_for_text(image + "/restore.log", "the init is host pid", 30000ms));
  std::string log = slurp(image + "/restore.log");
  pid_t restored = static_cast<pid_t>(std::stoi(log.substr(log.find("the init is host pid") + 21)));
  session.own(restored);
  // The check reads all memory at once, pages in place or not.
  session.request_check(restored);
  restore.join();
  EXPECT_EQ(result.status, 0) << result.err;
  EXPECT_NE(slurp(session.log_path()).find("PASS"), std::string::npos) << slurp(session.log_path());
  session.disown_exited(restored);
  session.expect_nothing_left_running();
}

TEST(LazyRestore, KilledServerKillsTheWholeTree) {
  CheckpointSession session;
  pid_t init = session.start("cr_memory", {"--mib=64"});
  ASSERT_GT(init, 0);
  std::string image = session.image_path();
  ASSERT_TRUE(session.dump_ok(init, image));
  pid_t restored;
  {
    ScopedEnv hold(kLazyHoldVariable, "1");  // The server fills nothing by itself: pages stay missing.
    restored = session.restore_ok(image, {"--lazy"});
  }
  ASSERT_GT(restored, 0);
  std::vector<pid_t> children = children_of(restored);
  ASSERT_FALSE(children.empty());
  pid_t server = parent_of(restored);
  ASSERT_GT(server, 1);
  EXPECT_GT(registered_mappings(restored), 0) << "no page was left to the server";
  ASSERT_EQ(::kill(server, SIGKILL), 0);
  // Killed by the kernel (its parent-death signal), never left hanging or running on zero pages.
  EXPECT_TRUE(wait_for_exit(restored, 10000ms)) << "the init outlived the page server";
  for (pid_t child : children) EXPECT_TRUE(wait_for_exit(child, 10000ms)) << "pid " << child << " outlived the page server";
  EXPECT_EQ(slurp(session.log_path()).find("FAIL"), std::string::npos) << slurp(session.log_path());
  session.disown_exited(restored);
  session.expect_nothing_left_running();
}

TEST(LazyRestore, CompressedImageIsRefusedBeforeAnythingIsCreated) {
  CheckpointSession session;
  pid_t init = session.start("cr_memory", {"--mib=4"});
  ASSERT_GT(init, 0);
  std::string image = session.image_path();
  ASSERT_TRUE(session.dump_ok(init, image, {"--compress"}));
  auto result = session.restore(image, {"--lazy"});
  expect_one_clear_error(result, "--lazy cannot serve the compressed pages");
  EXPECT_TRUE(result.out.empty()) << result.out;
  session.expect_nothing_left_running();
}

TEST(LazyRestore, DamagedPagesFileKillsTheTreeOnceTheServerHasCheckedIt) {
  CheckpointSession session;
  pid_t init = session.start("cr_memory", {"--mib=16"});
  ASSERT_GT(init, 0);
  std::string image = session.image_path();
  ASSERT_TRUE(session.dump_ok(init, image));
  {
    // A bit of the data, deep in the file: the structure of the image still passes every check.
    std::fstream pages(image + "/pages-1.img", std::ios::in | std::ios::out | std::ios::binary);
    pages.seekg(8 << 20);
    char byte = 0;
    pages.read(&byte, 1);
    byte ^= 0x20;
    pages.seekp(8 << 20);
    pages.write(&byte, 1);
  }
  pid_t restored = session.restore_ok(image, {"--lazy"});
  ASSERT_GT(restored, 0);
  EXPECT_TRUE(wait_for_exit(restored, 20000ms)) << "the tree runs on a damaged image";
  EXPECT_TRUE(wait_for_text(image + "/restore.log", "pages-1.img does not match its checksum", 10000ms)) << slurp(image + "/restore.log");
  session.disown_exited(restored);
  session.expect_nothing_left_running();
}

}  // namespace
}  // namespace cryo::e2e
