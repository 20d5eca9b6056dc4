// What cryo cannot checkpoint is refused before the tree is touched: one error line naming the
// process, the fd or mapping and its kind; no image; the tree runs on and its check passes.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

struct Refusal {
  std::string kind;       // cr_unsupported --kind
  std::string mentions;   // What the error line must say.
};

// So that test names and failures show the kind, not the bytes of the struct.
void PrintTo(const Refusal& refusal, std::ostream* out) { *out << refusal.kind; }

class CheckpointRefusals : public ::testing::TestWithParam<Refusal> {};

TEST_P(CheckpointRefusals, DumpRefusesCleanlyAndTheTreeRunsOn) {
  CheckpointSession session;
  pid_t init = session.start("cr_unsupported", {"--kind=" + GetParam().kind, "--dir=" + session.dir().path()});
  ASSERT_GT(init, 0);
  expect_dump_refused(session, init, GetParam().mentions);
  session.expect_pass_after_check(init);
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, CheckpointRefusals,
    ::testing::Values(Refusal{"sysv_shm", "is part of System V shared memory segment"},
                      Refusal{"posix_mq_unlinked", "fd 3 (/cr_unsupported (deleted)) is a POSIX message queue unlinked while open"},
                      Refusal{"posix_mq_notify", "POSIX message queue /cr_unsupported has mq_notify registered (SIGEV_SIGNAL"},
                      Refusal{"proc_kmsg", "(/proc/kmsg) is the kernel log (/proc/kmsg), whose readers consume it"},
                      Refusal{"nsfs_other", "is a file of a uts namespace the tree is not in (the tree's is uts:["},
                      Refusal{"inotify_queued", "inotify fd has 32 bytes of events queued, which cryo cannot dump"},
                      Refusal{"inotify_deleted", "inotify watch 1 (inode "},
                      Refusal{"fifo_unlinked", "is a named FIFO unlinked while open"},
                      Refusal{"fifo_opath", "is an O_PATH fd on a named FIFO"},
                      Refusal{"cpu_timer", "(a CPU-time or alarm clock)"},
                      Refusal{"seccomp_notify", "hands syscalls to a supervisor (SECCOMP_RET_USER_NOTIF)"},
                      Refusal{"nested_pidns", "is in a PID namespace nested in the tree's"},
                      Refusal{"tcp_connected", "is an AF_INET SOCK_STREAM socket connected from 127.0.0.1:"},
                      Refusal{"epoll_shared", "(inherited by fork), and no process holds every file it watches"},
                      Refusal{"pidfd_reaped", "is a pidfd of a process that exited and was reaped, which cryo cannot dump"},
                      Refusal{"pidfd_sibling", "neither the holder nor an ancestor or descendant of it, which cryo cannot dump"},
                      Refusal{"pidfd_shared", "(inherited by fork), which cryo cannot dump"},
                      Refusal{"fanotify_mount", "fanotify mark on mount "},
                      Refusal{"fanotify_queued", "fanotify fd has 24 bytes of events queued, which cryo cannot dump"},
                      Refusal{"fanotify_content", "fanotify fd is of a permission class (FAN_CLASS_CONTENT)"},
                      Refusal{"uffd_missing", "is registered with userfaultfd for missing pages (VmFlags um)"},
                      Refusal{"uffd_wp", "is registered with userfaultfd for write protection (VmFlags uw)"},
                      Refusal{"shared_files", "pid 1 and pid 2 share one fd table (clone CLONE_FILES)"},
                      Refusal{"shared_fs", "pid 1 and pid 2 share one cwd, root and umask (clone CLONE_FS)"},
                      Refusal{"shared_vm", "pid 1 and pid 2 share one address space"},
                      Refusal{"own_mount", "mounts of its own, which cryo cannot dump: tmpfs on /"},
                      Refusal{"ptmx", "(/dev/ptmx) is a pseudo-terminal master"},
                      Refusal{"own_netns", "the tree has its own net namespace"},
                      Refusal{"secretmem_fd", "(/secretmem (deleted)) is secret memory (memfd_secret: no one but the process"},
                      Refusal{"secretmem_map", "is secret memory (memfd_secret: no one but the process can read its pages)"},
                      Refusal{"sud", "uses syscall user dispatch (prctl PR_SET_SYSCALL_USER_DISPATCH, mode 1)"},
                      Refusal{"ldt", "it has a local descriptor table (modify_ldt"},
                      Refusal{"mbind", "has a NUMA memory policy of its own (bind:0, set with mbind), which cryo cannot dump"},
                      Refusal{"mixed_randomization", "(sleep) was started without address-space randomisation (setarch -R, or a debugger) and process "},
                      Refusal{"aio", "(/[aio] (deleted)) is the ring of an AIO context (io_setup)"},
                      Refusal{"dead_leader", "its main thread has ended (pthread_exit) while thread "},
                      Refusal{"thread_files", "has an fd table of its own (unshare(CLONE_FILES) in that thread), which cryo cannot dump"},
                      Refusal{"thread_fs", "has a cwd, root and umask of its own (unshare(CLONE_FS) in that thread), which cryo cannot dump"},
                      Refusal{"thread_nnp", "has no_new_privs set and its leader clear, which cryo cannot dump"},
                      Refusal{"thread_seccomp", "runs under seccomp mode 2 and its leader under mode 0, which cryo cannot dump"},
                      Refusal{"thread_seccomp_more", "runs under seccomp filters other than its leader's, which cryo cannot dump"},
                      Refusal{"thread_personality", "has personality 0x20000 and its leader 0x0, which cryo cannot dump"},
                      Refusal{"thread_uts", ": it is in a uts namespace of its own (the init's is "},
                      Refusal{"thread_keepcaps", "has securebits 0x10 and its leader 0x0 (prctl PR_SET_SECUREBITS or PR_SET_KEEPCAPS in one thread)"},
                      Refusal{"process_keyring", " has a process keyring (key "},
                      Refusal{"orphan_in_live_session", "pid 4 was adopted by the init when its parent exited, but stays in session 2 (whose leader pid 2 is alive)"},
                      Refusal{"deleted_exe", "/sleep-copy (deleted) was deleted or replaced while it runs, which cryo cannot dump yet"}),
    [](const ::testing::TestParamInfo<Refusal>& info) { return info.param.kind; });

// A process that joined the tree's PID namespace with setns (and forked there) has its parent
// outside the tree: the image could not hold it, so the dump is refused and names it.
TEST(CheckpointRefusalsOfMembers, AProcessForkedIntoTheTreesPidNamespaceFromOutsideIsRefused) {
  CheckpointSession session;
  pid_t init = session.start("cr_memory", {"--mib=8"});
  ASSERT_GT(init, 0);
  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  pid_t joiner = ::fork();
  ASSERT_GE(joiner, 0);
  if (joiner == 0) {
    int ns = ::open(("/proc/" + std::to_string(init) + "/ns/pid").c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0 || ::setns(ns, CLONE_NEWPID) != 0) ::_exit(1);
    pid_t member = ::fork();  // In the tree's PID namespace; its parent is not.
    if (member == 0) {
      for (;;) ::pause();
    }
    (void)!::write(report[1], &member, sizeof member);
    for (;;) ::pause();
  }
  OwnedPid owned_joiner(joiner);
  ::close(report[1]);
  pid_t member = 0;
  ASSERT_EQ(::read(report[0], &member, sizeof member), static_cast<ssize_t>(sizeof member)) << "the joiner could not setns and fork";
  ::close(report[0]);
  ASSERT_GT(member, 0);
  OwnedPid owned_member(member);
  // Not "which cryo cannot dump": the user can end that process and dump again, as the hint says.
  auto result = session.dump(init, session.image_path());
  expect_one_clear_error(result, "is in the tree's PID namespace but is not a descendant of its init (did it join with setns?)");
  EXPECT_NE(result.err.find("process " + std::to_string(member) + " "), std::string::npos) << result.err;
  EXPECT_NE(::access((session.image_path() + "/inventory.img").c_str(), F_OK), 0) << "a refused dump left an image";
  owned_member.kill();
  owned_joiner.kill();
  session.expect_pass_after_check(init);
}

}  // namespace
}  // namespace cryo::e2e
