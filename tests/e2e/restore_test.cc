// Restore-specific behaviour: the foreground mode, --detach leaving nothing of cryo behind, and
// failures before and after the placeholders exist, each one error naming process, step and reason,
// with nothing left running.
#include <fcntl.h>
#include <signal.h>
#include <linux/kcmp.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <functional>
#include <thread>

#include "core.pb.h"
#include "e2e/checkpoint_harness.h"
#include "e2e/image_tamper.h"
#include "files.pb.h"
#include "image/framed_file.h"
#include "image/image_dir.h"
#include "inventory.pb.h"

namespace cryo::e2e {
namespace {

// `cryo run --detach` of run_wait, which has one process and prints "ready" when its handler is set.
pid_t start_waiter(CheckpointSession& session) {
  pid_t init = run_detached({}, {workload("run_wait"), "handle", "--tag=" + session.dir().path()}, session.log_path());
  session.own(init);
  if (init > 0 && !wait_for_text(session.log_path(), "ready")) {
    ADD_FAILURE() << "run_wait did not start; log:\n" << slurp(session.log_path());
    return 0;
  }
  return init;
}

TEST(Restore, ForegroundForwardsSignalsAndExitsWithTheInitsStatus) {
  CheckpointSession session;
  pid_t init = start_waiter(session);
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));

  pid_t cryo = ::fork();
  ASSERT_GE(cryo, 0);
  if (cryo == 0) {
    ::execl(CRYO_BINARY, CRYO_BINARY, "restore", "-D", session.image_path().c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  OwnedPid cryo_owned(cryo);
  // The restored init is cryo's child: cryo waits for it. Its command line is run_wait's as soon
  // as its memory is back, while cryo still traces it; only once released (no tracer) does cryo
  // forward signals rather than take them as an interrupted restore.
  auto released = [](pid_t child) {
    return slurp("/proc/" + std::to_string(child) + "/status").find("TracerPid:\t0\n") != std::string::npos;
  };
  pid_t restored = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (restored == 0 && std::chrono::steady_clock::now() < deadline) {
    for (pid_t child : children_of(cryo))
      if (slurp("/proc/" + std::to_string(child) + "/cmdline").find("run_wait") != std::string::npos && released(child))
        restored = child;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GT(restored, 0) << "no restored init under the foreground cryo";
  session.own(restored);
  // Still in the pause() it was frozen in, and the handler survived: SIGTERM makes it exit 42.
  ASSERT_EQ(::kill(cryo, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(cryo, &status, 0), cryo);
  cryo_owned.forget();
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 42) << "log:\n" << slurp(session.log_path());
  EXPECT_NE(slurp(session.log_path()).find("got SIGTERM"), std::string::npos);
  EXPECT_TRUE(wait_for_exit(restored, std::chrono::seconds(5)));
}

TEST(Restore, DetachLeavesNoProcessOfCryoBehind) {
  CheckpointSession session;
  pid_t init = start_waiter(session);
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  pid_t restored = session.restore_ok(session.image_path());
  ASSERT_GT(restored, 0);
  // The init was handed to the host: its parent is no cryo (the restore helper exited too).
  std::string stat = slurp("/proc/" + std::to_string(restored) + "/stat");
  pid_t parent = std::atoi(stat.substr(stat.rfind(')') + 4).c_str());
  std::string parent_cmdline = slurp("/proc/" + std::to_string(parent) + "/cmdline");
  EXPECT_EQ(parent_cmdline.find("cryo"), std::string::npos) << "parent " << parent << ": " << parent_cmdline;
  std::string status = slurp("/proc/" + std::to_string(restored) + "/status");
  EXPECT_NE(status.find("TracerPid:\t0\n"), std::string::npos) << status;
  EXPECT_NE(status.find("NSpid:\t" + std::to_string(restored) + "\t1\n"), std::string::npos) << status;
  // It is the process that was dumped, not a new one: the handler is there and it printed nothing new.
  ASSERT_EQ(::kill(restored, SIGTERM), 0);
  EXPECT_TRUE(wait_for_exit(restored, std::chrono::seconds(5)));
  std::string log = slurp(session.log_path());
  EXPECT_NE(log.find("got SIGTERM"), std::string::npos) << log;
  EXPECT_EQ(log.find("ready"), log.rfind("ready")) << "the workload started again:\n" << log;
}

// `cryo run` in the foreground gives its init the parent-death signal SIGKILL (the tree must not
// outlive it), and the workload keeps it across exec. Restored with --detach, the init's parent is
// the restoring cryo, which exits at once: given back, that signal would kill the tree as soon as
// it runs, while the restore printed its PID and succeeded.
TEST(Restore, DetachKeepsATreeOfAForegroundRunAlive) {
  CheckpointSession session;
  pid_t run = ::fork();
  ASSERT_GE(run, 0);
  if (run == 0) {
    int log = ::open(session.log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (log < 0 || ::dup2(log, 1) < 0 || ::dup2(log, 2) < 0) ::_exit(127);
    std::string tag = "--tag=" + session.dir().path();
    ::execl(CRYO_BINARY, CRYO_BINARY, "run", "--", workload("run_wait").c_str(), "handle", tag.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  OwnedPid run_owned(run);
  ASSERT_TRUE(wait_for_text(session.log_path(), "ready")) << slurp(session.log_path());
  auto children = children_of(run);
  ASSERT_EQ(children.size(), 1u);
  pid_t init = children[0];
  session.own(init);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  int status = 0;
  ASSERT_EQ(::waitpid(run, &status, 0), run);  // Its tree ended with the dump.
  run_owned.forget();

  CommandResult result;
  pid_t restored = session.restore_ok(session.image_path(), {}, &result);
  ASSERT_GT(restored, 0);
  EXPECT_NE(result.err.find("parent-death signal SIGKILL (PR_SET_PDEATHSIG) is not given back"), std::string::npos) << result.err;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::string stat = slurp("/proc/" + std::to_string(restored) + "/stat");
  ASSERT_FALSE(stat.empty()) << "the restored init is gone; log:\n" << slurp(session.log_path());
  EXPECT_EQ(stat.substr(stat.rfind(')') + 2, 1), "S") << stat;
  // The process that was dumped, handler and all.
  ASSERT_EQ(::kill(restored, SIGTERM), 0);
  EXPECT_TRUE(wait_for_exit(restored, std::chrono::seconds(5)));
  std::string log = slurp(session.log_path());
  EXPECT_NE(log.find("got SIGTERM"), std::string::npos) << log;
  EXPECT_EQ(log.find("ready"), log.rfind("ready")) << "the workload started again:\n" << log;
}

TEST(Restore, EveryHostProblemIsListedInOneErrorAndNothingStarts) {
  CheckpointSession session;
  // A private copy of the workload, so that the test can change "its" executable.
  std::string binary = session.dir() / "run_wait";
  ASSERT_EQ(run_command({"/bin/cp", workload("run_wait"), binary}).status, 0);
  pid_t init = run_detached({}, {binary, "handle"}, session.log_path());
  session.own(init);
  ASSERT_TRUE(wait_for_text(session.log_path(), "ready"));
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));

  ASSERT_EQ(run_command({"/bin/sh", "-c", "echo >> " + binary}).status, 0);  // changed executable
  ASSERT_EQ(::unlink(session.log_path().c_str()), 0);                          // vanished open file
  auto result = session.restore(session.image_path());
  expect_one_clear_error(result, "2 problems");
  EXPECT_NE(result.err.find(binary + " (executable of pid 1, mapped by pid 1) is not the dump's file: size"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find(session.log_path() + " (fd 1 of pid 1, fd 2 of pid 1, open for writing) is missing on this host"), std::string::npos)
      << result.err;
  EXPECT_NE(result.err.find("nothing was started"), std::string::npos) << result.err;
  session.expect_nothing_left_running();
}

TEST(Restore, APlaceholderFailureNamesTheProcessAndStepAndKillsTheTree) {
  CheckpointSession session;
  pid_t init = start_waiter(session);
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  // Valid in the image, impossible on the host: /dev/null is no directory. (stdin is /dev/null and
  // shares its open file with no other fd, so the placeholder itself opens it.)
  rewrite_image<image::ProcessFiles>(session.image_path(), image::Kind::Files, 1, [](image::ProcessFiles& files) {
    for (auto& fd : *files.mutable_fds())
      if (fd.fd() == 0) fd.set_flags(fd.flags() | O_DIRECTORY);
  });
  for (const std::string& method : pid_methods()) {
    auto result = session.restore(session.image_path(), {"--pid-method", method});
    expect_one_clear_error(result, "restore pid 1: fd 0 (/dev/null): open: Not a directory");
    session.expect_nothing_left_running();
  }
}

TEST(Restore, AFailureWhileInjectingKillsEverythingCreated) {
  CheckpointSession session;
  pid_t init = start_waiter(session);
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  // A signal stack too small for this CPU: only the kernel's sigaltstack() can tell.
  rewrite_image<image::ProcessCore>(session.image_path(), image::Kind::Core, 1, [](image::ProcessCore& core) {
    auto* stack = core.mutable_threads(0)->mutable_altstack();
    stack->set_flags(0);
    stack->set_sp(core.mm().start_stack() & ~uint64_t(4095));
    stack->set_size(64);
  });
  auto result = session.restore(session.image_path());
  expect_one_clear_error(result, "restore pid 1: thread 1: sigaltstack: Cannot allocate memory");
  session.expect_nothing_left_running();
}

// Threads are traced by cryo too: a failure after they exist must kill and reap them all, not hang.
TEST(Restore, AFailureAfterThreadsExistKillsThemAll) {
  CheckpointSession session;
  pid_t init = session.start("cr_threads");
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  // A last thread whose signal stack the kernel refuses: found while injecting into it, once the
  // leader and the other threads are already there.
  rewrite_image<image::ProcessCore>(session.image_path(), image::Kind::Core, 1, [](image::ProcessCore& core) {
    auto* stack = core.mutable_threads(core.threads_size() - 1)->mutable_altstack();
    stack->set_flags(0);
    stack->set_sp(core.mm().start_stack() & ~uint64_t(4095));
    stack->set_size(64);
  });
  for (const std::string& method : pid_methods()) {
    auto result = session.restore(session.image_path(), {"--pid-method", method});
    expect_one_clear_error(result, "restore pid 1: thread 6: sigaltstack: Cannot allocate memory");
    session.expect_nothing_left_running();
  }
}

TEST(Restore, FdsSharingAnOpenFileShareItAgain) {
  CheckpointSession session;
  pid_t init = start_waiter(session);
  ASSERT_GT(init, 0);
  // cryo run opened the log once for stdout and stderr: one open file behind both.
  ASSERT_EQ(::syscall(SYS_kcmp, init, init, KCMP_FILE, 1, 2), 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  // Say so in the image in case the dumper did not (restore is what is tested here).
  rewrite_image<image::ProcessFiles>(session.image_path(), image::Kind::Files, 1, [](image::ProcessFiles& files) {
    for (auto& fd : *files.mutable_fds())
      if (fd.fd() == 1 || fd.fd() == 2) fd.set_open_file_id(77);
  });
  pid_t restored = session.restore_ok(session.image_path());
  ASSERT_GT(restored, 0);
  EXPECT_EQ(::syscall(SYS_kcmp, restored, restored, KCMP_FILE, 1, 2), 0) << "stdout and stderr no longer share one open file";
  EXPECT_NE(::syscall(SYS_kcmp, restored, restored, KCMP_FILE, 0, 1), 0);
}

TEST(Restore, UnknownOptionValuesAreUsageErrors) {
  CheckpointSession session;
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"restore", "-D", session.image_path(), "--pid-method", "fork"},
           {"restore", "-D", session.image_path(), "--clock", "later"},
           {"restore", "-D", session.image_path(), "--shift", "5x"},
       }) {
    auto result = run_cryo(args);
    EXPECT_EQ(result.status, 2) << args.back() << ": " << result.err;
    EXPECT_EQ(result.err.rfind("cryo: error: ", 0), 0u) << result.err;
  }
}

}  // namespace
}  // namespace cryo::e2e
