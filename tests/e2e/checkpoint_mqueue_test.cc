// POSIX message queues of the tree's own IPC namespace survive dump and restore: every queue, open
// or not, with its name, owner, mode, attributes and messages in order with their priorities; every
// mqd fd with its flags, sharing its open file as before; a process blocked in mq_receive waits on.
// The dump takes each queue's messages and gives them back at once, so a tree left running finds
// them all. A queue of the host's IPC namespace is refused.
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

// cr_mqueue: four queues (one closed, one full, one owned by another user, one a child waits on)
// under fs.mqueue limits lowered after they were made; after restore the init checks the limits,
// every queue's attributes, owner and mode, the fds' flags and sharing, every message in order,
// and wakes the child, which checks its inherited fd.
TEST(PosixMqueue, QueuesComeBackWithAttributesMessagesAndFds) {
  for (const std::string& method : pid_methods()) {
    SCOPED_TRACE(method);
    CheckpointSession session;
    session.expect_round_trip_passes("cr_mqueue", {}, {"--pid-method", method});
  }
}

// The messages a dump took are back before the tree runs on, in the same order: the tree's own
// check passes, and the image it left restores too.
TEST(PosixMqueue, DumpLeavesTheQueuesOfARunningTreeAsTheyWere) {
  CheckpointSession session;
  pid_t init = session.start("cr_mqueue");
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path(), {"--leave-running"}));
  session.expect_pass_after_check(init);
  pid_t restored = session.restore_ok(session.image_path());
  ASSERT_GT(restored, 0);
  session.expect_pass_after_check(restored);
}

// A PID namespace of its own and nothing else: the tree shares the test's (the host's) IPC
// namespace. Returns the host PID of its init, which writes its output to the session's log.
pid_t start_in_host_ipc_namespace(CheckpointSession& session, const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  std::string log = session.log_path();
  int report[2];
  if (::pipe(report) != 0) return 0;
  pid_t helper = ::fork();
  if (helper == 0) {
    ::close(report[0]);
    if (::unshare(CLONE_NEWPID) != 0) ::_exit(1);
    pid_t init = ::fork();
    if (init == 0) {
      int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (out < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0) ::_exit(1);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    (void)!::write(report[1], &init, sizeof init);
    ::waitpid(init, nullptr, 0);
    ::_exit(0);
  }
  ::close(report[1]);
  pid_t init = 0;
  if (helper < 0 || ::read(report[0], &init, sizeof init) != sizeof init || init <= 0) init = 0;
  ::close(report[0]);
  if (init > 0) session.own(init);
  if (helper > 0) session.own(helper);
  if (init > 0 && !wait_for_text(session.log_path(), "READY", std::chrono::seconds(20))) {
    ADD_FAILURE() << "the workload did not report READY; log:\n" << slurp(session.log_path());
    return 0;
  }
  return init;
}

TEST(PosixMqueue, AQueueOfTheHostsIpcNamespaceIsRefused) {
  CheckpointSession session;
  std::string queue = "/cryo-e2e-host-" + std::to_string(::getpid());
  pid_t init = start_in_host_ipc_namespace(
      session, {workload("cr_unsupported"), "--kind=posix_mq_host", "--queue=" + queue, "--tag=" + session.dir().path()});
  ASSERT_GT(init, 0);
  expect_dump_refused(session, init, "is a POSIX message queue of the host's IPC namespace");
  session.expect_pass_after_check(init);
  ::mq_unlink(queue.c_str());
}

}  // namespace
}  // namespace cryo::e2e
