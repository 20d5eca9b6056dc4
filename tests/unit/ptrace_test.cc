// The ptrace layer on real child processes: seize, inject syscalls, and leave the child unharmed.
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "ptrace/remote_syscalls.h"
#include "ptrace/tracee.h"

namespace cryo {
namespace {

// A child blocked in read() on a pipe; it exits with the byte it reads.
struct BlockedReader {
  pid_t pid = -1;
  int write_end = -1;
  BlockedReader() {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    pid = ::fork();
    if (pid == 0) {
      ::close(fds[1]);
      char c = 0;
      ssize_t n = ::read(fds[0], &c, 1);
      ::_exit(n == 1 ? c : 100 + (n < 0 ? 1 : 0));
    }
    ::close(fds[0]);
    write_end = fds[1];
    ::usleep(50 * 1000);  // Let it block in read().
  }
  ~BlockedReader() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    ::close(write_end);
  }
  int finish(char byte) {
    EXPECT_EQ(::write(write_end, &byte, 1), 1);
    int status = 0;
    EXPECT_EQ(::waitpid(pid, &status, 0), pid);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 200 + WTERMSIG(status);
  }
};

TEST(Registers, ResumeReexecutesInterruptedSyscall) {
  Registers stopped;
  stopped.gp.rip = 0x1002;
  stopped.gp.rax = static_cast<uint64_t>(kErestartSys);
  stopped.gp.orig_rax = SYS_read;
  Registers same = registers_for_resume(stopped, ResumeContext::SameProcess);
  EXPECT_EQ(same.gp.rip, 0x1000u);
  EXPECT_EQ(same.gp.rax, static_cast<uint64_t>(SYS_read));
  EXPECT_EQ(same.gp.orig_rax, static_cast<uint64_t>(-1));

  stopped.gp.rax = static_cast<uint64_t>(kErestartRestartBlock);
  stopped.gp.orig_rax = SYS_nanosleep;
  EXPECT_EQ(registers_for_resume(stopped, ResumeContext::SameProcess).gp.rax, static_cast<uint64_t>(SYS_restart_syscall));
  EXPECT_EQ(registers_for_resume(stopped, ResumeContext::Restored).gp.rax, static_cast<uint64_t>(SYS_nanosleep));

  Registers running;
  running.gp.rip = 0x5000;
  running.gp.rax = 7;
  running.gp.orig_rax = static_cast<uint64_t>(-1);
  EXPECT_EQ(registers_for_resume(running, ResumeContext::Restored).gp.rip, 0x5000u);
  EXPECT_EQ(registers_for_resume(running, ResumeContext::Restored).gp.rax, 7u);
}

TEST(Registers, BytesRoundTrip) {
  Registers regs;
  regs.gp.r12 = 0x1122334455667788;
  Registers back;
  ASSERT_TRUE(registers_from_bytes(registers_to_bytes(regs), &back));
  EXPECT_EQ(back.gp.r12, regs.gp.r12);
  EXPECT_FALSE(registers_from_bytes("short", &back));
}

TEST(Tracee, SeizeStopsAThreadBlockedInRead) {
  BlockedReader child;
  auto tracee = Tracee::seize(child.pid);
  ASSERT_TRUE(tracee.has_value()) << tracee.error().message;
  auto regs = tracee->get_registers();
  ASSERT_TRUE(regs.has_value());
  EXPECT_TRUE(regs->in_restartable_syscall());
  EXPECT_EQ(regs->gp.orig_rax, static_cast<uint64_t>(SYS_read));
  auto xstate = tracee->get_xstate();
  ASSERT_TRUE(xstate.has_value());
  EXPECT_GE(xstate->size(), 576u);  // Legacy FXSAVE area plus the XSAVE header at least.
  ASSERT_TRUE(tracee->detach().has_value());
  EXPECT_EQ(child.finish(42), 42);
}

TEST(Tracee, SeizeOfMissingPidNamesIt) {
  auto tracee = Tracee::seize(0x3fffff);
  ASSERT_FALSE(tracee.has_value());
  EXPECT_NE(tracee.error().message.find("tid 4194303"), std::string::npos) << tracee.error().message;
}

TEST(RemoteSyscalls, InjectedSyscallsLeaveTheReaderUnharmed) {
  BlockedReader child;
  auto tracee = Tracee::seize(child.pid);
  ASSERT_TRUE(tracee.has_value()) << tracee.error().message;
  auto site = find_syscall_site(child.pid);
  ASSERT_TRUE(site.has_value()) << site.error().message;
  {
    auto remote = RemoteSyscalls::create(*tracee, *site);
    ASSERT_TRUE(remote.has_value()) << remote.error().message;
    auto pid = remote->call("getpid", SYS_getpid);
    ASSERT_TRUE(pid.has_value()) << pid.error().message;
    EXPECT_EQ(*pid, static_cast<uint64_t>(child.pid));

    // A trampoline page: `syscall; int3` lets later syscalls run with PTRACE_CONT.
    auto page = remote->call("mmap", SYS_mmap,
                             {0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, uint64_t(-1), 0});
    ASSERT_TRUE(page.has_value()) << page.error().message;
    unsigned char code[] = {0x0f, 0x05, 0xcc};
    iovec local{code, sizeof code};
    iovec target{reinterpret_cast<void*>(*page), sizeof code};
    ASSERT_EQ(::process_vm_writev(child.pid, &local, 1, &target, 1, 0), 3);
    ASSERT_TRUE(remote->use_site({*page, true}).has_value());
    EXPECT_TRUE(remote->traps());
    auto ppid = remote->call("getppid", SYS_getppid);
    ASSERT_TRUE(ppid.has_value()) << ppid.error().message;
    EXPECT_EQ(*ppid, static_cast<uint64_t>(::getpid()));
    auto bad = remote->call("close(-1)", SYS_close, {uint64_t(-1)});
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().err, EBADF);
    EXPECT_NE(bad.error().message.find("remote close(-1)"), std::string::npos);
    // Unmapping the trampoline from itself works only with syscall stops: the int3 after it is gone.
    ASSERT_TRUE(remote->use_site({*page, false}).has_value());
    auto unmapped = remote->call("munmap", SYS_munmap, {*page, 4096});
    ASSERT_TRUE(unmapped.has_value()) << unmapped.error().message;
  }
  ASSERT_TRUE(tracee->detach().has_value());
  // The read() that was interrupted is restarted and gets the byte.
  EXPECT_EQ(child.finish(7), 7);
}

TEST(CpuPin, PinsAndRestores) {
  BlockedReader child;
  cpu_set_t before;
  ASSERT_EQ(::sched_getaffinity(0, sizeof before, &before), 0);
  {
    auto pin = CpuPin::pin(::gettid(), child.pid);
    ASSERT_TRUE(pin.has_value()) << pin.error().message;
    cpu_set_t now;
    ASSERT_EQ(::sched_getaffinity(child.pid, sizeof now, &now), 0);
    EXPECT_EQ(CPU_COUNT(&now), 1);
  }
  cpu_set_t after;
  ASSERT_EQ(::sched_getaffinity(0, sizeof after, &after), 0);
  EXPECT_TRUE(CPU_EQUAL(&before, &after));
}

}  // namespace
}  // namespace cryo
