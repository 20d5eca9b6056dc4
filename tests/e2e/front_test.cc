// End-to-end tests of the two executables (src/cli/core_binary.h): `cryo` runs `cryo run` itself,
// mapping no shared library, and execs the cryo-core beside it, or the installed one, for the rest,
// whose output and errors are cryo-core's own.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>

#include "e2e/harness.h"

namespace cryo::e2e {
namespace {

const std::string kCryo = CRYO_BINARY;
const std::string kCore = kCryo.substr(0, kCryo.rfind('/') + 1) + "cryo-core";

int line_count(const std::string& text) { return static_cast<int>(std::count(text.begin(), text.end(), '\n')); }

// Every occurrence of `from` in `text` replaced by `to`: the usage line names the binary it ran as.
std::string replaced(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

TEST(Front, RunMapsNoSharedLibrary) {
  pid_t cryo = fork();
  ASSERT_GE(cryo, 0);
  if (cryo == 0) {
    execl(kCryo.c_str(), kCryo.c_str(), "run", "--", "sleep", "30", nullptr);
    _exit(127);
  }
  OwnedPid owned(cryo);
  // Once the workload runs, cryo waits for it: its maps are final.
  std::string maps;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (slurp("/proc/" + std::to_string(cryo) + "/task/" + std::to_string(cryo) + "/children") != "") {
      maps = slurp("/proc/" + std::to_string(cryo) + "/maps");
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_NE(maps, "") << "cryo run started no workload";
  EXPECT_EQ(maps.find(".so"), std::string::npos) << maps;
  EXPECT_EQ(maps.find("cryo-core"), std::string::npos) << maps;
  // The tree dies with a foreground cryo.
}

TEST(Front, OtherCommandsAreCryoCoresOwn) {
  auto front = run_cryo({"--version"});
  EXPECT_EQ(front.status, 0);
  EXPECT_EQ(front.out, "cryo " CRYO_VERSION "\n");
  auto core = run_command({kCore, "--help"});
  auto help = run_cryo({"--help"});
  EXPECT_EQ(help.status, core.status);
  EXPECT_EQ(help.out, replaced(core.out, kCore, kCryo));
  auto dump = run_cryo({"dump", "-t", "1"});
  auto core_dump = run_command({kCore, "dump", "-t", "1"});
  EXPECT_EQ(dump.status, 2);
  EXPECT_EQ(dump.err, core_dump.err);
}

TEST(Front, RunHelpAndUsageErrorsAreCryoCoresOwn) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"run", "--help"}, {"run", "--bogus", "--", "true"}, {"run"},
        {"run", "--log", "x", "--", "true"}, {"run", "--uptime", "1d", "--boottime", "1d", "--", "true"}}) {
    auto front = run_cryo(args);
    std::vector<std::string> core_argv{kCore};
    core_argv.insert(core_argv.end(), args.begin(), args.end());
    auto core = run_command(core_argv);
    EXPECT_EQ(front.status, core.status) << args[1];
    EXPECT_EQ(front.out, replaced(core.out, kCore, kCryo)) << args[1];
    EXPECT_EQ(front.err, replaced(core.err, kCore, kCryo)) << args[1];
  }
}

// A directory of its own beside the build's, for hard links to the built binaries (same filesystem).
std::string scratch_dir() {
  std::string dir = kCryo.substr(0, kCryo.rfind('/') + 1) + "front-test-XXXXXX";
  return mkdtemp(dir.data()) ? dir : "";
}

TEST(Front, FindsCryoCoreWhereTheInstallPutsIt) {
  std::string dir = scratch_dir();
  ASSERT_NE(dir, "");
  std::string bin = dir + "/bin", libexec = dir + "/libexec", core_dir = libexec + "/cryo";
  std::string cryo = bin + "/cryo", core = core_dir + "/cryo-core";
  bool linked = mkdir(bin.c_str(), 0700) == 0 && mkdir(libexec.c_str(), 0700) == 0 && mkdir(core_dir.c_str(), 0700) == 0 &&
                link(kCryo.c_str(), cryo.c_str()) == 0 && link(kCore.c_str(), core.c_str()) == 0;
  auto version = run_command({cryo, "--version"});
  auto ps = run_command({cryo, "ps"});
  for (const auto& path : {core, cryo}) unlink(path.c_str());
  for (const auto& path : {core_dir, libexec, bin, dir}) rmdir(path.c_str());
  ASSERT_TRUE(linked);
  EXPECT_EQ(version.status, 0) << version.err;
  EXPECT_EQ(version.out, "cryo " CRYO_VERSION "\n");
  EXPECT_EQ(ps.status, 0) << ps.err;
}

TEST(Front, MissingCoreIsOneErrorAndRunStillWorks) {
  // A link to cryo alone in a directory of its own.
  std::string dir_template = scratch_dir();
  ASSERT_NE(dir_template, "");
  std::string alone = dir_template + "/cryo";
  ASSERT_EQ(link(kCryo.c_str(), alone.c_str()), 0);
  auto version = run_command({alone, "--version"});
  auto run = run_command({alone, "run", "--", "true"});
  unlink(alone.c_str());
  rmdir(dir_template.c_str());
  EXPECT_EQ(version.status, 1);
  EXPECT_EQ(version.out, "");
  EXPECT_EQ(line_count(version.err), 1) << version.err;
  EXPECT_EQ(version.err.rfind("cryo: error: cannot execute cryo-core, which runs every command but 'run' (looked for " +
                                  dir_template + "/cryo-core and " + dir_template + "/../libexec/cryo/cryo-core)",
                              0),
            0u)
      << version.err;
  EXPECT_EQ(run.status, 0) << run.err;
}

}  // namespace
}  // namespace cryo::e2e
