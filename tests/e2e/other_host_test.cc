// Restore on a simulated other host: the workload's executable, the libc and dynamic loader it maps
// and the data file it reads are replaced by copies on a tmpfs (tests/workloads/other_host.c), so
// every device and inode differs while the contents match, as on another machine.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "e2e/checkpoint_harness.h"
#include "e2e/program_scripts.h"

namespace cryo::e2e {
namespace {

// The regular files the process maps, by path, and the device ("fd:00") each is on.
std::map<std::string, std::string> mapped_files(pid_t pid) {
  std::map<std::string, std::string> out;
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream in(line);
    std::string range, perms, offset, dev, inode, path;
    in >> range >> perms >> offset >> dev >> inode >> path;
    if (path.starts_with("/")) out[path] = dev;
  }
  return out;
}

// `other_host --scratch DIR <files> -- cryo ARGS`.
CommandResult on_other_host(const CheckpointSession& session, const std::vector<std::string>& files, const std::vector<std::string>& cryo_args) {
  std::string scratch = session.dir() / "scratch";
  ::mkdir(scratch.c_str(), 0700);
  std::vector<std::string> argv = {workload("other_host"), "--scratch", scratch};
  argv.insert(argv.end(), files.begin(), files.end());
  argv.push_back("--");
  argv.push_back(CRYO_BINARY);
  argv.insert(argv.end(), cryo_args.begin(), cryo_args.end());
  return run_command(argv, std::chrono::seconds(60));
}

struct DumpedFilesWorkload {
  std::string files_dir;
  std::map<std::string, std::string> mapped;  // Of the workload at the dump.
};

// cr_files started and dumped; false after failing the test.
bool dump_files_workload(CheckpointSession& session, DumpedFilesWorkload* out, const std::vector<std::string>& dump_extra = {}) {
  out->files_dir = session.dir() / "files";
  ::mkdir(out->files_dir.c_str(), 0700);
  pid_t init = session.start("cr_files", {"--dir=" + out->files_dir});
  if (init <= 0) return false;
  out->mapped = mapped_files(init);
  EXPECT_GE(out->mapped.size(), 3u) << "the executable, libc and ld.so";
  return session.dump_ok(init, session.image_path(), dump_extra);
}

std::vector<std::string> copies_of(const DumpedFilesWorkload& w, const std::string& changed = "") {
  std::vector<std::string> args;
  for (const auto& [path, dev] : w.mapped) {
    args.push_back(path == changed ? "--change" : "--copy");
    args.push_back(path);
  }
  args.insert(args.end(), {"--copy", w.files_dir + "/data.bin", "--copy", w.files_dir + "/rw.bin"});
  return args;
}

TEST(OtherHost, SameContentOnOtherInodesRestoresWithItsStateIntact) {
  CheckpointSession session;
  DumpedFilesWorkload w;
  ASSERT_TRUE(dump_files_workload(session, &w));
  auto check = on_other_host(session, copies_of(w), {"restore", "--check", "-D", session.image_path()});
  EXPECT_EQ(check.status, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("a restore would start"), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("libc.so.6 (mapped by pid 1): same content as at the dump"), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("rw.bin (fd 12 of pid 1, open for writing): accepted by path"), std::string::npos) << check.out;
  std::cout << "restore --check on the other host:\n" << check.out;

  auto restored = on_other_host(session, copies_of(w), {"restore", "--detach", "-D", session.image_path()});
  ASSERT_EQ(restored.status, 0) << restored.err;
  pid_t init = std::atoi(restored.out.c_str());
  ASSERT_GT(init, 0) << restored.out;
  session.own(init);
  // Really the copies: every mapped file is on the tmpfs now.
  for (const auto& [path, dev] : mapped_files(init)) {
    if (!w.mapped.count(path)) continue;
    EXPECT_NE(dev, w.mapped.at(path)) << path << " is still mapped from the device it was on at the dump";
  }
  session.expect_pass_after_check(init);
  session.expect_nothing_left_running();
}

// A program from Debian's packages, started from `script`, dumped, and restored where its interpreter,
// the libraries it maps and its script are copies on another filesystem. Returns the log.
std::string expect_program_survives_on_other_host(CheckpointSession& session, const std::vector<std::string>& argv,
                                                  const std::string& script) {
  pid_t init = session.start_command(argv);
  if (init <= 0) return "";
  usleep(300 * 1000);
  auto mapped = mapped_files(init);
  EXPECT_GE(mapped.size(), 3u) << "the interpreter, libc and ld.so";
  // SIGUSR2 makes the bash script print its counter ("before: n=N"); python has no handler for it.
  if (argv[0] == "/bin/bash") {
    EXPECT_EQ(::kill(init, SIGUSR2), 0);
    for (int i = 0; i < 100 && slurp(session.log_path()).find("before: n=") == std::string::npos; ++i) usleep(50 * 1000);
  }
  if (!session.dump_ok(init, session.image_path())) return "";
  std::vector<std::string> copies;
  for (const auto& [path, dev] : mapped) copies.insert(copies.end(), {"--copy", path});
  copies.insert(copies.end(), {"--copy", script});
  auto check = on_other_host(session, copies, {"restore", "--check", "-D", session.image_path()});
  EXPECT_EQ(check.status, 0) << check.out << check.err;
  // Other users may follow pid 1 (bash forks a child for each `sleep`, and one caught before its exec
  // still maps bash): "(executable of pid 1, executable of pid 9, mapped by pid 1, and 1 more)".
  EXPECT_TRUE(std::regex_search(check.out, std::regex(R"(\(executable of pid 1, [^)]*\): same content as at the dump)")))
      << check.out;
  EXPECT_NE(check.out.find("libc.so.6 (mapped by pid 1"), std::string::npos) << check.out;
  auto restored = on_other_host(session, copies, {"restore", "--detach", "-D", session.image_path()});
  EXPECT_EQ(restored.status, 0) << restored.err;
  pid_t again = std::atoi(restored.out.c_str());
  if (again <= 0) return "";
  session.own(again);
  for (const auto& [path, dev] : mapped_files(again)) {
    if (mapped.count(path)) {
      EXPECT_NE(dev, mapped.at(path)) << path << " is still mapped from the device it was on at the dump";
    }
  }
  usleep(200 * 1000);
  session.expect_pass_after_check(again);
  session.expect_nothing_left_running();
  return slurp(session.log_path());
}

TEST(OtherHost, Python3KeepsItsObjectsWithItsInterpreterAndLibrariesCopied) {
  CheckpointSession session;
  std::string script = write_script(session, "state.py", kPython);
  expect_program_survives_on_other_host(session, {"/usr/bin/python3", script}, script);
}

TEST(OtherHost, BashKeepsItsVariablesAndCounterWithItsShellAndScriptCopied) {
  CheckpointSession session;
  std::string script = write_script(session, "loop.sh", kBash);
  std::string log = expect_program_survives_on_other_host(session, {"/bin/bash", script}, script);
  std::smatch secret_before, secret_after, before, after;
  ASSERT_TRUE(std::regex_search(log, secret_before, std::regex("^secret=(\\d+)$", std::regex::multiline))) << log;
  ASSERT_TRUE(std::regex_search(log, secret_after, std::regex("after: secret=(\\d+)"))) << log;
  EXPECT_EQ(secret_before[1], secret_after[1]) << log;
  ASSERT_TRUE(std::regex_search(log, before, std::regex("before: n=(\\d+)"))) << log;
  ASSERT_TRUE(std::regex_search(log, after, std::regex("after: n=(\\d+)"))) << log;
  EXPECT_GT(std::stol(after[1]), std::stol(before[1])) << "the counter did not go on from its value before the dump; log:\n" << log;
}

TEST(OtherHost, ACopyWithOtherContentIsRefusedNamingTheFile) {
  CheckpointSession session;
  DumpedFilesWorkload w;
  ASSERT_TRUE(dump_files_workload(session, &w));
  std::string libc;
  for (const auto& [path, dev] : w.mapped)
    if (path.find("/libc.so") != std::string::npos) libc = path;
  ASSERT_FALSE(libc.empty());
  // The same size and mtime, one byte different.
  auto check = on_other_host(session, copies_of(w, libc), {"restore", "--check", "-D", session.image_path()});
  EXPECT_EQ(check.status, 1) << check.out << check.err;
  EXPECT_NE(check.out.find("problem: " + libc + " (mapped by pid 1) is not the dump's file: content (xxh3"), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("a restore would not start: 1 problem"), std::string::npos) << check.out;
  std::cout << "restore --check with a changed libc:\n" << check.out;
  auto restored = on_other_host(session, copies_of(w, libc), {"restore", "--detach", "-D", session.image_path()});
  expect_one_clear_error(restored, libc + " (mapped by pid 1) is not the dump's file: content");
  session.expect_nothing_left_running();
}

TEST(OtherHost, AMissingFileIsRefusedAndPutBackFromAnIncludingImage) {
  {
    CheckpointSession session;
    DumpedFilesWorkload w;
    ASSERT_TRUE(dump_files_workload(session, &w));
    ASSERT_EQ(::unlink((w.files_dir + "/data.bin").c_str()), 0);
    auto check = run_cryo({"restore", "--check", "-D", session.image_path()});
    EXPECT_EQ(check.status, 1) << check.out << check.err;
    EXPECT_NE(check.out.find("data.bin (fd 10 of pid 1, fd 15 of pid 1) is missing on this host (cryo dump --include"), std::string::npos)
        << check.out;
    std::cout << "restore --check with data.bin missing:\n" << check.out;
    expect_one_clear_error(session.restore(session.image_path()), "data.bin (fd 10 of pid 1, fd 15 of pid 1) is missing");
    session.expect_nothing_left_running();
  }
  CheckpointSession session;
  DumpedFilesWorkload w;
  std::string data = session.dir() / "files/data.bin";
  ASSERT_TRUE(dump_files_workload(session, &w, {"--include", data}));
  struct stat before;
  ASSERT_EQ(::stat(data.c_str(), &before), 0);
  ASSERT_EQ(::unlink(data.c_str()), 0);
  auto check = run_cryo({"restore", "--check", "-D", session.image_path()});
  EXPECT_EQ(check.status, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("is missing on this host: put back from the image (--include)"), std::string::npos) << check.out;
  std::cout << "restore --check with data.bin missing, carried by --include:\n" << check.out;
  pid_t init = session.restore_ok(session.image_path());
  ASSERT_GT(init, 0);
  struct stat after;
  ASSERT_EQ(::stat(data.c_str(), &after), 0);
  EXPECT_EQ(after.st_mode, before.st_mode);
  EXPECT_EQ(after.st_uid, before.st_uid);
  EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  session.expect_pass_after_check(init);
  session.expect_nothing_left_running();
}

TEST(OtherHost, CheckPrintsJsonAndCreatesNothing) {
  CheckpointSession session;
  DumpedFilesWorkload w;
  ASSERT_TRUE(dump_files_workload(session, &w));
  auto check = run_cryo({"restore", "--check", "--json", "-D", session.image_path()});
  EXPECT_EQ(check.status, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("\"would_start\":true"), std::string::npos) << check.out;
  EXPECT_EQ(::access((session.image_path() + "/restore.log").c_str(), F_OK), -1) << "--check wrote a restore log";
  EXPECT_TRUE(session.leftover_processes().empty());
}

}  // namespace
}  // namespace cryo::e2e

namespace cryo::e2e {
namespace {

// Another kernel's vdso, simulated: CRYO_TEST_VDSO_REDIRECT makes restore treat this kernel's vdso
// as a different one, so it places it elsewhere and leaves a proxy with jumps at the old entry
// points (restore/vdso_proxy.h). The workload calls through pointers it cached before the dump.
class VdsoRedirectEnv {
 public:
  VdsoRedirectEnv() { ::setenv("CRYO_TEST_VDSO_REDIRECT", "1", 1); }
  ~VdsoRedirectEnv() { ::unsetenv("CRYO_TEST_VDSO_REDIRECT"); }
};

TEST(VdsoRedirect, ARestoredProcessCallsThroughItsCachedPointersIntoTheRedirectedVdso) {
  CheckpointSession session;
  pid_t init = session.start("cr_vdso", {"--moved=1"});
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  VdsoRedirectEnv redirect;
  auto check = run_cryo({"restore", "--check", "-D", session.image_path()});
  EXPECT_EQ(check.status, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("entry points are redirected to it"), std::string::npos) << check.out;
  pid_t restored = session.restore_ok(session.image_path());
  ASSERT_GT(restored, 0);
  session.expect_pass_after_check(restored);
  session.expect_nothing_left_running();
}

// A tree restored through a redirect is dumped again and restored as usual: its proxy is its own
// memory now, and this kernel's vdso goes back where the redirect had put it.
TEST(VdsoRedirect, ATreeRestoredThroughARedirectGoesThroughAnotherRoundTrip) {
  CheckpointSession session;
  pid_t init = session.start("cr_vdso", {"--moved=1"});
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  pid_t restored = 0;
  {
    VdsoRedirectEnv redirect;
    restored = session.restore_ok(session.image_path());
  }
  ASSERT_GT(restored, 0);
  ASSERT_TRUE(session.dump_ok(restored, session.image_path("again")));
  pid_t again = session.restore_ok(session.image_path("again"));
  ASSERT_GT(again, 0);
  session.expect_pass_after_check(again);
  session.expect_nothing_left_running();
}

TEST(VdsoRedirect, WithoutARedirectTheVdsoIsWhereItWas) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_vdso", {"--moved=0"});
}

}  // namespace
}  // namespace cryo::e2e
