// Images hold a tree's memory: their directory is 0700 and every file in it 0600, logs included.
// And cryo names the capabilities it lacks and refuses before it does anything.
#include <fcntl.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>

#include "base/fault_injection.h"
#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

namespace fs = std::filesystem;

mode_t mode_of(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

void expect_private(const std::string& dir) {
  EXPECT_EQ(mode_of(dir), 0700u) << dir;
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    EXPECT_TRUE(entry.is_regular_file()) << entry.path();
    EXPECT_EQ(mode_of(entry.path()), 0600u) << entry.path();
    ++files;
  }
  EXPECT_GT(files, 0) << dir << " is empty";
}

// The umask must not be what makes the files private.
class OpenUmask {
 public:
  OpenUmask() : saved_(::umask(0)) {}
  ~OpenUmask() { ::umask(saved_); }

 private:
  mode_t saved_;
};

TEST(Permissions, ImageDirectoryIs0700AndEveryFile0600) {
  OpenUmask umask_zero;
  CheckpointSession session;
  pid_t init = session.start("cr_tree");
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  ASSERT_TRUE(fs::exists(session.image_path() + "/dump.log"));
  expect_private(session.image_path());
  pid_t restored = session.restore_ok(session.image_path());
  ASSERT_GT(restored, 0);
  ASSERT_TRUE(fs::exists(session.image_path() + "/restore.log"));
  expect_private(session.image_path());
  session.expect_pass_after_check(restored);
}

TEST(Permissions, APreexistingOpenDirectoryIsReplacedNeverChmodded) {
  OpenUmask umask_zero;
  CheckpointSession session;
  pid_t init = session.start("cr_memory", {"--mib=4"});
  ASSERT_GT(init, 0);
  ASSERT_EQ(::mkdir(session.image_path().c_str(), 0777), 0);
  ASSERT_EQ(mode_of(session.image_path()), 0777u);
  ASSERT_TRUE(session.dump_ok(init, session.image_path(), {"--leave-running"}));
  expect_private(session.image_path());
  // A failed dump never changes the mode of a directory it did not create: an open one gets no log
  // of the tree's details, and the error says why; a private one gets the log.
  std::string failed = session.image_path("failed");
  ASSERT_EQ(::mkdir(failed.c_str(), 0777), 0);
  ::setenv(kFailAtVariable, "dump:before-commit", 1);
  auto result = session.dump(init, failed, {"--leave-running"});
  ::unsetenv(kFailAtVariable);
  expect_one_clear_error(result, "injected failure");
  EXPECT_NE(result.err.find("does not change the mode"), std::string::npos) << result.err;
  EXPECT_FALSE(fs::exists(failed + "/dump.log"));
  EXPECT_EQ(mode_of(failed), 0777u);
  ASSERT_EQ(::chmod(failed.c_str(), 0700), 0);
  ::setenv(kFailAtVariable, "dump:before-commit", 1);
  result = session.dump(init, failed, {"--leave-running"});
  ::unsetenv(kFailAtVariable);
  expect_one_clear_error(result, "injected failure");
  ASSERT_TRUE(fs::exists(failed + "/dump.log"));
  expect_private(failed);
  session.expect_pass_after_check(init);
}

// Runs cryo with `dropped` removed from its capability bounding set before exec: as root, exec then
// leaves them out of the permitted and effective sets too.
CommandResult run_cryo_without(const std::vector<cap_value_t>& dropped, const std::vector<std::string>& args,
                               const TempDir& scratch) {
  std::string out_path = scratch / "cap.out", err_path = scratch / "cap.err";
  pid_t child = ::fork();
  if (child == 0) {
    for (cap_value_t cap : dropped)
      if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) ::_exit(125);
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(out, 1);
    ::dup2(err, 2);
    std::vector<char*> argv = {const_cast<char*>(CRYO_BINARY)};
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    ::execv(CRYO_BINARY, argv.data());
    ::_exit(127);
  }
  CommandResult result;
  int status = 0;
  EXPECT_EQ(::waitpid(child, &status, 0), child);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = slurp(out_path);
  result.err = slurp(err_path);
  EXPECT_NE(result.status, 125) << "prctl(PR_CAPBSET_DROP) failed";
  return result;
}

TEST(Permissions, DumpAndRestoreNameTheCapabilitiesTheyLackAndDoNothing) {
  CheckpointSession session;
  TempDir scratch;
  pid_t init = session.start("cr_memory", {"--mib=4"});
  ASSERT_GT(init, 0);
  std::string image = session.image_path();
  const struct {
    std::vector<cap_value_t> dropped;
    std::string named;
  } cases[] = {
      {{CAP_SYS_PTRACE}, "CAP_SYS_PTRACE"},
      {{CAP_SYS_ADMIN}, "CAP_SYS_ADMIN"},
      {{CAP_CHECKPOINT_RESTORE, CAP_SETUID}, "CAP_CHECKPOINT_RESTORE, CAP_SETUID"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.named);
    auto dumped = run_cryo_without(c.dropped, {"dump", "-t", std::to_string(init), "-D", image, "--leave-running"}, scratch);
    expect_one_clear_error(dumped, "cryo dump needs " + c.named + ", which this process does not have");
    EXPECT_FALSE(fs::exists(image)) << "dump created its directory";
    std::string status = slurp("/proc/" + std::to_string(init) + "/status");
    EXPECT_NE(status.find("TracerPid:\t0\n"), std::string::npos) << "dump seized the tree";
  }

  ASSERT_TRUE(session.dump_ok(init, image));
  for (const auto& c : cases) {
    SCOPED_TRACE(c.named);
    auto restored = run_cryo_without(c.dropped, {"restore", "-D", image, "--detach"}, scratch);
    expect_one_clear_error(restored, "cryo restore needs " + c.named + ", which this process does not have");
    EXPECT_FALSE(fs::exists(image + "/restore.log")) << "restore started its log";
    session.expect_nothing_left_running();
  }
}

}  // namespace
}  // namespace cryo::e2e
