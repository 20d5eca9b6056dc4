#include "kernel/proc_status.h"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "base/file_util.h"

namespace cryo {
namespace {

std::string fixture(const std::string& name) {
  auto text = read_file(std::string(CRYO_TEST_FIXTURES) + "/proc/" + name);
  EXPECT_TRUE(text) << name;
  return text ? *text : "";
}

TEST(ProcStatus, ParsesANamespaceInitCapturedOnThisKernel) {
  auto s = parse_proc_status(fixture("status_sleep_init.txt"));
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->name, "sleep");
  EXPECT_EQ(s->umask, 022u);
  EXPECT_EQ(s->state, 'S');
  EXPECT_EQ(s->pid, 8017);
  EXPECT_EQ(s->ppid, 8015);
  EXPECT_EQ(s->tracer_pid, 0);
  EXPECT_EQ(s->ns_pid, (std::vector<pid_t>{8017, 1}));
  EXPECT_EQ(s->ns_tgid, (std::vector<pid_t>{8017, 1}));
  // The group and session leaders live outside the namespace: the kernel shows 0 there.
  EXPECT_EQ(s->ns_pgid, (std::vector<pid_t>{8013, 0}));
  EXPECT_EQ(s->ns_sid, (std::vector<pid_t>{3740, 0}));
  EXPECT_TRUE(s->groups.empty());
  EXPECT_EQ(s->threads, 1u);
  EXPECT_EQ(s->sig_ignored, 6u);
  EXPECT_EQ(s->cap_effective, 0x1fffeffffffull);
  EXPECT_FALSE(s->no_new_privs);
  EXPECT_EQ(s->seccomp, 0u);
}

TEST(ProcStatus, ParsesCredsGroupsMasksAndNestedNamespaces) {
  auto s = parse_proc_status(fixture("status_threads_groups.txt"));
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->name, "my worker (x)");
  EXPECT_EQ(s->umask, 027u);
  EXPECT_EQ(s->state, 'T');
  EXPECT_EQ(s->tracer_pid, 77);
  EXPECT_EQ(s->uids, (std::array<uint32_t, 4>{1000, 1001, 1002, 1003}));
  EXPECT_EQ(s->gids, (std::array<uint32_t, 4>{100, 101, 102, 103}));
  EXPECT_EQ(s->groups, (std::vector<uint32_t>{4, 24, 27}));
  EXPECT_EQ(s->ns_pid, (std::vector<pid_t>{4242, 17, 3}));
  EXPECT_EQ(s->ns_sid, (std::vector<pid_t>{4100, 1, 0}));
  EXPECT_EQ(s->threads, 3u);
  EXPECT_EQ(s->sig_pending, 0x200u);
  EXPECT_EQ(s->shared_pending, 0x4000u);
  EXPECT_EQ(s->sig_blocked, 0x10002u);
  EXPECT_EQ(s->sig_caught, 0x180004a02ull);
  EXPECT_EQ(s->cap_inheritable, 1u);
  EXPECT_EQ(s->cap_permitted, 0xa80425fbull);
  EXPECT_EQ(s->cap_bounding, 0x1ffffffffffull);
  EXPECT_EQ(s->cap_ambient, 0x400u);
  EXPECT_TRUE(s->no_new_privs);
  EXPECT_EQ(s->seccomp, 2u);
}

TEST(ProcStatus, MissingLineIsAnErrorNamingIt) {
  auto s = parse_proc_status("Name:\tx\nState:\tS (sleeping)\n");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("Tgid"), std::string::npos) << s.error().message;
}

TEST(ProcStatus, MalformedNumberIsAnError) {
  std::string text = fixture("status_sleep_init.txt");
  text.replace(text.find("CapEff:\t"), 24, "CapEff:\tnothex0000000000");
  auto s = parse_proc_status(text);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("CapEff"), std::string::npos) << s.error().message;
}

TEST(ProcStatus, VmLckIsReadInKibAndAbsentWithoutMemory) {
  std::string text = fixture("status_sleep_init.txt");
  ASSERT_NE(text.find("VmLck:\t       0 kB"), std::string::npos);
  text.replace(text.find("VmLck:\t       0 kB"), 18, "VmLck:\t      12 kB");
  auto s = parse_proc_status(text);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->locked_kib, 12u);
  // A zombie's status has no Vm lines.
  text.erase(text.find("VmLck:"), text.find('\n', text.find("VmLck:")) - text.find("VmLck:") + 1);
  s = parse_proc_status(text);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->locked_kib, 0u);
}

TEST(ProcStatus, ReadsTheCallingProcess) {
  auto s = read_proc_status(::getpid());
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->pid, ::getpid());
  EXPECT_EQ(s->ns_pid.back(), ::getpid());
}

// A process, its parent and its child: each is in the line of the ones above it, not below. (Not
// PID 1: a process started by a kernel helper, as CI's runner is, descends from kthreadd.)
TEST(ProcStatus, TheLineOfDescentRunsFromAProcessUpToItsAncestors) {
  int hold[2];
  ASSERT_EQ(::pipe(hold), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(hold[1]);
    char byte;
    (void)!::read(hold[0], &byte, 1);
    ::_exit(0);
  }
  ::close(hold[0]);
  EXPECT_TRUE(in_line_of_descent(::getpid(), ::getpid()));
  EXPECT_TRUE(in_line_of_descent(::getpid(), ::getppid()));
  EXPECT_TRUE(in_line_of_descent(child, ::getppid()));
  EXPECT_FALSE(in_line_of_descent(::getpid(), child));
  EXPECT_FALSE(in_line_of_descent(::getppid(), ::getpid()));
  ::close(hold[1]);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  EXPECT_FALSE(in_line_of_descent(child, ::getpid())) << "a reaped process has no line";
}

}  // namespace
}  // namespace cryo
