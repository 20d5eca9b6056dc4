// Validation of images and of the host before restore: every problem is found, and all of them at once.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/user.h>

#include <sys/inotify.h>

#include <gtest/gtest.h>

#include <map>

#include "restore/host_check.h"
#include "restore/image_validation.h"

namespace cryo::restore {
namespace {

constexpr uint64_t kVvar = 0x7f0000000000;

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

image::Vma* add_vma(image::MemoryMap* mm, uint64_t start, uint64_t end, uint32_t prot, image::VmaKind kind, const std::string& path = "") {
  auto* vma = mm->add_vmas();
  vma->set_start(start);
  vma->set_end(end);
  vma->set_prot(prot);
  vma->set_kind(kind);
  vma->set_path(path);
  bool shared = kind == image::VMA_ANON_SHARED || kind == image::VMA_FILE_SHARED;
  vma->set_flags(shared ? MAP_SHARED : MAP_PRIVATE);
  if (kind == image::VMA_FILE_PRIVATE || kind == image::VMA_FILE_SHARED) {
    vma->mutable_file()->set_dev(8);
    vma->mutable_file()->set_ino(100);
    vma->mutable_file()->set_size(20000);
    vma->mutable_file()->set_mtime_ns(1000);
  }
  return vma;
}

// A small image that is valid in every respect: one process running /bin/prog.
ImageSet valid_image() {
  ImageSet set;
  set.dir = "/images/x";
  set.inventory.set_arch("x86_64");
  set.inventory.set_kernel_release("6.18.0");
  set.inventory.set_process_count(1);
  set.inventory.set_xsave_features(0x7);
  set.inventory.add_cpu_flags("fpu");
  set.inventory.add_cpu_flags("avx");
  set.namespaces.set_own_pid(true);
  set.namespaces.set_own_time(true);

  ProcessImage p;
  p.entry.set_pid(1);
  p.entry.set_pgid(1);
  p.entry.set_sid(1);
  p.entry.add_threads(1);
  auto& core = p.core;
  core.set_pid(1);
  core.set_comm("prog");
  core.set_umask(022);
  core.set_exit_signal(17);
  for (int i = 0; i < 4; ++i) {
    core.mutable_creds()->add_uids(0);
    core.mutable_creds()->add_gids(0);
  }
  core.mutable_creds()->set_cap_permitted((1ull << 41) - 1);
  auto* t = core.add_threads();
  t->set_tid(1);
  t->set_gpregs(std::string(sizeof(user_regs_struct), '\0'));
  std::string xstate(832, '\0');
  xstate[512] = 0x3;  // XSTATE_BV: x87 and SSE
  t->set_xstate(xstate);
  t->mutable_altstack()->set_flags(2);  // SS_DISABLE
  t->mutable_rseq()->set_address(0x7ffdf000);
  t->mutable_rseq()->set_length(32);
  t->mutable_rseq()->set_signature(0x53053053);
  t->set_robust_list(0x7ffdf100);
  t->set_robust_list_len(24);
  auto* action = core.add_sigactions();
  action->set_signo(10);
  action->set_handler(0x401000);
  auto* mm = core.mutable_mm();
  mm->set_start_code(0x400000);
  mm->set_end_code(0x401800);
  mm->set_start_data(0x403000);
  mm->set_end_data(0x403100);
  mm->set_start_brk(0x404000);
  mm->set_brk(0x405000);
  mm->set_start_stack(0x7ffff000);
  mm->set_arg_start(0x7fffe000);
  mm->set_arg_end(0x7fffe010);
  mm->set_env_start(0x7fffe010);
  mm->set_env_end(0x7fffe020);
  mm->set_auxv(std::string(32, '\0'));
  mm->set_exe("/bin/prog");
  mm->mutable_exe_identity()->set_dev(8);
  mm->mutable_exe_identity()->set_ino(100);
  mm->mutable_exe_identity()->set_size(20000);
  mm->mutable_exe_identity()->set_mtime_ns(1000);

  add_vma(&p.mm, 0x400000, 0x402000, PROT_READ | PROT_EXEC, image::VMA_FILE_PRIVATE, "/bin/prog");
  add_vma(&p.mm, 0x403000, 0x405000, PROT_READ | PROT_WRITE, image::VMA_ANON_PRIVATE);
  add_vma(&p.mm, 0x7ffde000, 0x7ffff000, PROT_READ | PROT_WRITE, image::VMA_ANON_PRIVATE, "[stack]")
      ->set_flags(MAP_PRIVATE | MAP_GROWSDOWN);
  add_vma(&p.mm, kVvar, kVvar + 0x4000, PROT_READ, image::VMA_VVAR, "[vvar]");
  add_vma(&p.mm, kVvar + 0x4000, kVvar + 0x6000, PROT_READ, image::VMA_VVAR_VCLOCK, "[vvar_vclock]");
  add_vma(&p.mm, kVvar + 0x6000, kVvar + 0x8000, PROT_READ | PROT_EXEC, image::VMA_VDSO, "[vdso]");
  auto* run = p.pagemap.add_runs();
  run->set_vaddr(0x403000);
  run->set_nr_pages(2);
  run->set_offset(0);
  run = p.pagemap.add_runs();
  run->set_vaddr(0x7fffd000);
  run->set_nr_pages(2);
  run->set_offset(0x2000);
  p.pagemap.set_pages_file_size(0x4000);
  p.pages_file_size = 0x4000;

  auto* fd = p.files.add_fds();
  fd->set_fd(0);
  fd->set_kind(image::FD_CHARDEV);
  fd->set_path("/dev/null");
  fd->set_rdev(makedev(1, 3));
  fd = p.files.add_fds();
  fd->set_fd(1);
  fd->set_kind(image::FD_REGULAR);
  fd->set_flags(O_WRONLY | O_APPEND);
  fd->set_path("/var/log/prog.log");
  fd->mutable_identity()->set_dev(8);
  fd->mutable_identity()->set_ino(200);
  fd->mutable_identity()->set_size(5);
  fd = p.files.add_fds();
  fd->set_fd(3);
  fd->set_kind(image::FD_REGULAR);
  fd->set_flags(O_RDONLY);
  fd->set_pos(7);
  fd->set_path("/data/input");
  fd->mutable_identity()->set_dev(8);
  fd->mutable_identity()->set_ino(300);
  fd->mutable_identity()->set_size(50);
  p.files.set_cwd("/");
  p.files.set_root("/");

  set.index[1] = 0;
  set.processes.push_back(std::move(p));
  return set;
}

std::vector<std::string> problems_of(const ImageSet& set) {
  std::vector<std::string> problems;
  validate_image(set, &problems);
  return problems;
}

void expect_problem(const ImageSet& set, const std::string& text) {
  auto problems = problems_of(set);
  EXPECT_NE(joined(problems).find(text), std::string::npos) << "expected a problem mentioning '" << text << "', got:\n"
                                                            << joined(problems);
}

TEST(RestoreValidation, AValidImageHasNoProblem) {
  auto problems = problems_of(valid_image());
  EXPECT_TRUE(problems.empty()) << joined(problems);
}

TEST(RestoreValidation, RefusesAFingerprintOfAnotherPidOrOversized) {
  ImageSet set = valid_image();
  auto& print = set.processes[0].fingerprint.emplace();
  print.set_pid(set.processes[0].pid());
  auto* field = print.add_fields();
  field->set_subject("tid 1");
  field->set_file("status");
  field->set_name("Umask");
  field->set_value("0022");
  EXPECT_TRUE(problems_of(set).empty()) << joined(problems_of(set));
  print.set_pid(set.processes[0].pid() + 100);
  expect_problem(set, "fingerprint is of pid");
  print.set_pid(set.processes[0].pid());
  field->set_value(std::string(kMaxFingerprintValue + 1, 'x'));
  expect_problem(set, "longer than");
  field->set_value("0022");
  field->set_name("");
  expect_problem(set, "is empty");
}

TEST(RestoreValidation, CleanAbsolutePaths) {
  EXPECT_TRUE(is_clean_absolute_path("/"));
  EXPECT_TRUE(is_clean_absolute_path("/usr/lib/x86_64-linux-gnu/libc.so.6"));
  EXPECT_TRUE(is_clean_absolute_path("/a/..b/c."));
  for (const char* bad : {"", "relative/path", "/a/../etc/shadow", "/a/./b", "/a//b", "/a/", "/.."})
    EXPECT_FALSE(is_clean_absolute_path(bad)) << bad;
  EXPECT_FALSE(is_clean_absolute_path(std::string("/a\0b", 4)));
}

TEST(RestoreValidation, RefusesBadMappings) {
  struct Case {
    std::function<void(image::MemoryMap&)> damage;
    std::string expect;
  } cases[] = {
      {[](auto& mm) { mm.mutable_vmas(1)->set_start(0x403800); }, "not page aligned"},
      {[](auto& mm) { mm.mutable_vmas(1)->set_start(0x401000); }, "overlaps or is out of order"},
      {[](auto& mm) { mm.mutable_vmas(1)->set_end(0x403000); }, "empty"},
      {[](auto& mm) { mm.mutable_vmas(5)->set_end(0x800000001000); }, "outside user space"},
      {[](auto& mm) { mm.mutable_vmas(0)->set_path("/bin/../etc/prog"); }, "not a clean absolute path"},
      {[](auto& mm) { mm.mutable_vmas(0)->set_pgoff(100); }, "file offset"},
      {[](auto& mm) { mm.mutable_vmas(1)->set_prot(0x10); }, "protection"},
      {[](auto& mm) { mm.mutable_vmas(1)->set_flags(MAP_SHARED); }, "MAP_PRIVATE only"},
      {[](auto& mm) { mm.mutable_vmas(4)->set_path("[vsyscall]"); }, "named"},
      {[](auto& mm) { mm.mutable_vmas(1)->set_kind(static_cast<image::VmaKind>(42)); }, "unknown kind"},
  };
  for (const auto& c : cases) {
    ImageSet set = valid_image();
    c.damage(set.processes[0].mm);
    expect_problem(set, c.expect);
  }
}

TEST(RestoreValidation, RefusesPageRunsOutsideWhatRestoreFills) {
  struct Case {
    std::function<void(ProcessImage&)> damage;
    std::string expect;
  } cases[] = {
      {[](auto& p) { p.pagemap.mutable_runs(0)->set_vaddr(0x402000); }, "in no mapping"},
      {[](auto& p) { p.pagemap.mutable_runs(0)->set_offset(0x3000); }, "beyond the end of the pages file"},
      {[](auto& p) { p.pagemap.mutable_runs(0)->set_offset(0xffffffffffff0000); }, "beyond the end of the pages file"},
      {[](auto& p) { p.pagemap.mutable_runs(0)->set_nr_pages(0); }, "malformed"},
      {[](auto& p) { p.pagemap.mutable_runs(1)->set_vaddr(0x403000); }, "out of order"},
      {[](auto& p) { p.pagemap.mutable_runs(0)->set_vaddr(kVvar + 0x6000); }, "a kernel mapping"},
      {[](auto& p) { p.pagemap.set_pages_file_size(0x8000); }, "the inventory"},
  };
  for (const auto& c : cases) {
    ImageSet set = valid_image();
    c.damage(set.processes[0]);
    expect_problem(set, c.expect);
  }
}

TEST(RestoreValidation, RefusesPagesSharedWithTheParentThatAreNotStored) {
  auto shared = [](ProcessImage& p, uint64_t vaddr, uint64_t pages) {
    p.entry.set_ppid(7);
    auto* span = p.pagemap.add_shared_with_parent();
    span->set_vaddr(vaddr);
    span->set_nr_pages(pages);
  };
  {
    ImageSet set = valid_image();
    shared(set.processes[0], 0x403000, 2);
    std::vector<std::string> problems;
    validate_memory(set.processes[0], &problems);
    EXPECT_TRUE(problems.empty()) << joined(problems);
  }
  struct Case {
    std::function<void(ProcessImage&)> damage;
    std::string expect;
  } cases[] = {
      {[&](auto& p) { shared(p, 0x403000, 3); }, "is not stored"},
      {[&](auto& p) { shared(p, 0x402000, 1); }, "is not stored"},
      {[&](auto& p) { shared(p, 0x403000, 0); }, "malformed"},
      {[&](auto& p) { shared(p, 0x403001, 1); }, "malformed"},
      {[&](auto& p) { shared(p, 0xfffffffffffff000, 1); }, "malformed"},
      {[&](auto& p) { shared(p, 0x404000, 1); shared(p, 0x403000, 1); }, "out of order"},
      {[&](auto& p) { shared(p, 0x403000, 1); p.entry.set_ppid(0); }, "no parent"},
  };
  for (const auto& c : cases) {
    ImageSet set = valid_image();
    c.damage(set.processes[0]);
    std::vector<std::string> problems;
    validate_memory(set.processes[0], &problems);
    EXPECT_NE(joined(problems).find(c.expect), std::string::npos) << "expected '" << c.expect << "' in: " << joined(problems);
  }
}

TEST(RestoreValidation, RefusesBadProcessState) {
  struct Case {
    std::function<void(ProcessImage&)> damage;
    std::string expect;
  } cases[] = {
      {[](auto& p) { p.core.mutable_threads(0)->set_gpregs("short"); }, "general registers"},
      {[](auto& p) { p.core.mutable_threads(0)->set_xstate(std::string(100, '\0')); }, "not a valid XSAVE area"},
      {[](auto& p) { (*p.core.mutable_threads(0)->mutable_xstate())[512] = 0x20; }, "outside the image's XCR0"},
      {[](auto& p) { (*p.core.mutable_threads(0)->mutable_xstate())[527] = char(0x80); }, "compacted format"},
      {[](auto& p) { p.core.mutable_threads(0)->mutable_rseq()->set_address(0x500000); }, "not in writable memory"},
      {[](auto& p) { p.core.mutable_threads(0)->set_robust_list_len(8); }, "robust list"},
      {[](auto& p) { p.core.mutable_threads(0)->add_pending("tiny"); }, "pending signal record"},
      {[](auto& p) { p.core.mutable_sigactions(0)->set_signo(9); }, "signal action for signal 9"},
      {[](auto& p) { p.core.mutable_sigactions(0)->set_handler(0xffff800000000000); }, "outside user space"},
      {[](auto& p) { p.core.mutable_creds()->clear_uids(); }, "4 uids"},
      {[](auto& p) { p.core.mutable_creds()->set_cap_effective(1ull << 50); }, "beyond the last capability"},
      {[](auto& p) {
         auto* r = p.core.add_rlimits();
         r->set_resource(7);
         r->set_cur(10);
         r->set_max(5);
       }, "soft limit above the hard limit"},
      {[](auto& p) { p.core.set_umask(01777); }, "umask"},
      {[](auto& p) { p.core.mutable_mm()->set_brk(0x403000); }, "start_brk is above brk"},
      {[](auto& p) { p.core.mutable_mm()->set_auxv(std::string(20, '\0')); }, "auxv"},
      {[](auto& p) { p.core.mutable_mm()->set_exe("prog"); }, "executable path"},
      {[](auto& p) { p.core.set_pid(7); }, "core image is of pid 7"},
      {[](auto& p) {
         for (uint32_t tid = 2; tid <= 4097; ++tid) {
           p.entry.add_threads(tid);
           *p.core.add_threads() = p.core.threads(0);
           p.core.mutable_threads(p.core.threads_size() - 1)->set_tid(tid);
         }
       }, "threads, more than the 4096 cryo restores"},
      {[](auto& p) {
         p.entry.add_threads(2);
         *p.core.add_threads() = p.core.threads(0);
         p.core.mutable_threads(1)->set_tid(3);
       }, "is tid 3 in the core image but 2 in the tree"},
      {[](auto& p) { p.core.add_posix_timers()->set_clock_id(2); }, "POSIX timer 0: clock 2 is not one cryo restores"},
      {[](auto& p) {
         auto* t = p.core.add_posix_timers();
         t->set_clock_id(1);
         t->set_signo(10);
         t->set_notify(4);  // SIGEV_SIGNAL | SIGEV_THREAD_ID
         t->set_notify_tid(99);
       }, "POSIX timer 0 signals thread 99, not one of the process's"},
      {[](auto& p) {
         p.core.add_posix_timers()->set_id(5);
         p.core.add_posix_timers()->set_id(5);
       }, "POSIX timer 5 has an invalid or repeated ID"},
      {[](auto& p) { p.core.add_posix_timers()->set_value_ns(~0ull); }, "POSIX timer 0: its time is out of range"},
      {[](auto& p) {
         p.core.set_stop_signal(SIGUSR1);
         p.core.mutable_threads(0)->set_group_stopped(true);
       }, "not a job-control stop signal"},
      {[](auto& p) { p.core.set_stop_reported(true); }, "marked as reported but it was not stopped"},
      {[](auto& p) { p.core.set_stop_signal(SIGTSTP); }, "thread 1 is not in the process's job-control stop"},
      {[](auto& p) { p.core.mutable_threads(0)->set_group_stopped(true); }, "thread 1 is in the process's job-control stop"},
  };
  for (const auto& c : cases) {
    ImageSet set = valid_image();
    c.damage(set.processes[0]);
    expect_problem(set, c.expect);
  }
}

TEST(RestoreValidation, RefusesBadFiles) {
  struct Case {
    std::function<void(ImageSet&)> damage;
    std::string expect;
  } cases[] = {
      {[](auto& s) { s.processes[0].files.mutable_fds(1)->set_fd(0); }, "appears twice"},
      {[](auto& s) { s.processes[0].files.mutable_fds(1)->set_fd(-1); }, "out of range"},
      {[](auto& s) { s.processes[0].files.mutable_fds(1)->set_path("/var/log/../../etc/shadow"); }, "not a clean absolute path"},
      {[](auto& s) {
         s.processes[0].files.mutable_fds(1)->set_kind(image::FD_PIPE);
         s.processes[0].files.mutable_fds(1)->set_pipe_id(99);
       }, "pipe 99 is not in pipes.img"},
      {[](auto& s) { s.processes[0].files.set_cwd("tmp"); }, "working directory"},
      {[](auto& s) { s.processes[0].files.mutable_fds(1)->set_flags(O_ACCMODE); }, "access mode"},
      {[](auto& s) {
         s.processes[0].files.mutable_fds(1)->set_open_file_id(5);
         s.processes[0].files.mutable_fds(2)->set_open_file_id(5);
       }, "shares open file 5"},
      {[](auto& s) {
         auto* pipe = s.pipes.add_pipes();
         pipe->set_pipe_id(1);
         pipe->set_capacity(4096);
         pipe->set_data(std::string(5000, 'x'));
       }, "do not fit its capacity"},
      // A named FIFO is reopened at its path: the path, its inode and its fds' paths must agree.
      {[](auto& s) {
         auto* pipe = s.pipes.add_pipes();
         pipe->set_pipe_id(7);
         pipe->set_fifo_path("/tmp/../etc/fifo");
         pipe->set_fifo_ino(7);
       }, "FIFO path '/tmp/../etc/fifo' is not a clean absolute path"},
      {[](auto& s) {
         auto* pipe = s.pipes.add_pipes();
         pipe->set_pipe_id(7);
         pipe->set_fifo_path("/tmp/fifo");
         pipe->set_fifo_ino(8);
       }, "FIFO /tmp/fifo: inode 8 is not its pipe id 7"},
      {[](auto& s) {
         for (uint64_t id : {7, 8}) {
           auto* pipe = s.pipes.add_pipes();
           pipe->set_pipe_id(id);
           pipe->set_fifo_path("/tmp/fifo");
           pipe->set_fifo_ino(id);
         }
       }, "FIFO /tmp/fifo appears twice"},
      {[](auto& s) { s.pipes.add_pipes()->set_fifo_ino(3); }, "a FIFO identity without a FIFO path"},
      {[](auto& s) {
         auto* pipe = s.pipes.add_pipes();
         pipe->set_pipe_id(7);
         pipe->set_fifo_path("/tmp/fifo");
         pipe->set_fifo_ino(7);
         auto* fd = s.processes[0].files.mutable_fds(1);
         fd->set_kind(image::FD_PIPE);
         fd->set_pipe_id(7);
         fd->set_path("/tmp/other");
       }, "path '/tmp/other' is not the path '/tmp/fifo' of pipe 7"},
      {[](auto& s) {
         s.pipes.add_pipes()->set_pipe_id(7);
         auto* fd = s.processes[0].files.mutable_fds(1);
         fd->set_kind(image::FD_PIPE);
         fd->set_pipe_id(7);
         fd->set_path("/tmp/fifo");
       }, "path '/tmp/fifo' is not the path '' of pipe 7"},
  };
  for (const auto& c : cases) {
    ImageSet set = valid_image();
    c.damage(set);
    expect_problem(set, c.expect);
  }
}

// An inotify fd with watches 1 (/tmp) and 3 (/etc/hosts): restore adds them in this order.
image::Fd* add_inotify_fd(ImageSet& set) {
  auto* fd = set.processes[0].files.add_fds();
  fd->set_fd(9);
  fd->set_kind(image::FD_INOTIFY);
  int number = 1;
  for (const char* path : {"/tmp", "/etc/hosts"}) {
    auto* watch = fd->mutable_inotify()->add_watches();
    watch->set_wd(number);
    watch->set_mask(IN_CREATE | IN_ONESHOT);
    watch->set_path(path);
    watch->mutable_identity()->set_dev(8);
    watch->mutable_identity()->set_ino(100 + number);
    watch->set_handle(std::string(8, 'h'));
    watch->set_handle_type(1);
    number += 2;
  }
  return fd;
}

TEST(RestoreValidation, InotifyWatches) {
  {
    ImageSet set = valid_image();
    add_inotify_fd(set);
    auto problems = problems_of(set);
    EXPECT_TRUE(problems.empty()) << joined(problems);
  }
  struct Case {
    std::function<void(image::InotifyState&)> damage;
    std::string expect;
  } cases[] = {
      {[](auto& s) { s.mutable_watches(0)->set_wd(0); }, "inotify watch 0: a wd is a positive number"},
      {[](auto& s) { s.mutable_watches(1)->set_wd(1); }, "inotify watch 1 is not above the watch before it (1)"},
      {[](auto& s) { s.mutable_watches(0)->set_wd(5); }, "inotify watch 3 is not above the watch before it (5)"},
      {[](auto& s) { s.mutable_watches(1)->set_mask(IN_DONT_FOLLOW); }, "inotify watch 3: unknown mask bits"},
      {[](auto& s) { s.mutable_watches(1)->set_path("/etc/../etc/shadow"); }, "inotify watch 3: path '/etc/../etc/shadow' is not a clean absolute path"},
      {[](auto& s) { s.mutable_watches(1)->set_path("etc/hosts"); }, "inotify watch 3: path 'etc/hosts' is not a clean absolute path"},
      {[](auto& s) { s.mutable_watches(1)->clear_identity(); }, "inotify watch 3: no identity"},
      {[](auto& s) { s.mutable_watches(1)->clear_handle(); }, "inotify watch 3: no file handle"},
      {[](auto& s) { s.mutable_watches(1)->set_handle(std::string(129, 'h')); }, "inotify watch 3: no file handle, or one longer"},
      {[](auto& s) { s.mutable_watches(1)->mutable_identity()->set_ino(101); }, "inotify watch 3: a second watch on the same file"},
      {[](auto& s) { s.mutable_watches(1)->set_wd(1 << 21); }, "inotify watches reach wd 2097152, skipping more than 1048576 numbers"},
  };
  for (const auto& c : cases) {
    ImageSet set = valid_image();
    c.damage(*add_inotify_fd(set)->mutable_inotify());
    expect_problem(set, "fd 9: " + c.expect);
  }
}

// Restore gives every process its PID: a PID listed twice could not be had twice, and is named.
TEST(RestoreValidation, RefusesAPidListedTwiceNamingIt) {
  ImageSet set = valid_image();
  set.processes.push_back(set.processes[0]);
  expect_problem(set, "pid 1 appears twice in the tree");
}

TEST(RestoreValidation, RefusesNamespacesItCannotRestore) {
  ImageSet set = valid_image();
  set.namespaces.set_own_net(true);
  expect_problem(set, "network namespace");
  set = valid_image();
  set.namespaces.set_own_pid(false);
  expect_problem(set, "own PID namespace");
  set = valid_image();
  set.inventory.set_process_count(3);
  expect_problem(set, "counts 3 processes");
}

TEST(RestoreValidation, ListsEveryProblemAtOnce) {
  ImageSet set = valid_image();
  set.processes[0].files.set_cwd("tmp");
  set.processes[0].core.set_umask(01777);
  set.processes[0].mm.mutable_vmas(0)->set_pgoff(100);
  EXPECT_EQ(problems_of(set).size(), 3u) << joined(problems_of(set));
}

// The host as the valid image expects it.
struct FakeHost {
  RestoreHostFacts facts;
  std::map<std::string, PathStat> files;
  FakeHost() {
    facts.kernel_release = "6.18.0";
    facts.arch = "x86_64";
    facts.cpu_flags = {"fpu", "avx", "sse"};
    facts.xsave.xcr0 = 0x7;
    facts.pid_max = 32768;
    facts.vdso_layout = {{"[vvar]", 0x7f1000000000, 0x7f1000004000},
                         {"[vvar_vclock]", 0x7f1000004000, 0x7f1000006000},
                         {"[vdso]", 0x7f1000006000, 0x7f1000008000}};
    files["/bin/prog"] = {0, 8, 100, 20000, 1000, S_IFREG | 0755, 0};
    files["/dev/null"] = {0, 5, 4, 0, 0, S_IFCHR | 0666, makedev(1, 3)};
    files["/var/log/prog.log"] = {0, 8, 200, 5, 0, S_IFREG | 0644, 0};
    files["/data/input"] = {0, 8, 300, 50, 0, S_IFREG | 0644, 0};
    files["/"] = {0, 8, 2, 4096, 0, S_IFDIR | 0755, 0};
  }
  HostCheck check(const ImageSet& set) const {
    return check_host(set, facts, [this](const std::string& path) {
      auto it = files.find(path);
      if (it == files.end()) return PathStat{ENOENT};
      return it->second;
    });
  }
};

TEST(RestoreHostCheck, TheMatchingHostHasNoProblem) {
  FakeHost host;
  auto result = host.check(valid_image());
  EXPECT_TRUE(result.problems.empty()) << joined(result.problems);
}

TEST(RestoreHostCheck, RefusesChangedOrMissingFiles) {
  FakeHost host;
  host.files["/bin/prog"].size = 20001;
  host.files.erase("/data/input");
  host.files["/dev/null"].rdev = makedev(1, 5);
  auto result = host.check(valid_image());
  std::string all = joined(result.problems);
  EXPECT_NE(all.find("/bin/prog (executable of pid 1, mapped by pid 1) changed since the dump"), std::string::npos) << all;
  EXPECT_NE(all.find("/data/input (fd 3 of pid 1) is missing on this host"), std::string::npos) << all;
  EXPECT_NE(all.find("/dev/null (fd 0 of pid 1) is not the character device 1:3"), std::string::npos) << all;
}

TEST(RestoreHostCheck, AReplacedFileIsRefusedWithoutAContentRecord) {
  // Images from before contents.img: device and inode are all there is to go by.
  FakeHost host;
  host.files["/data/input"].ino = 301;
  auto result = host.check(valid_image());
  EXPECT_NE(joined(result.problems).find("/data/input (fd 3 of pid 1) is another file than at the dump"), std::string::npos)
      << joined(result.problems);
}

TEST(RestoreHostCheck, AWritableFileIsTakenByPathIfLongEnough) {
  FakeHost host;
  ImageSet set = valid_image();
  set.processes[0].files.mutable_fds(1)->set_pos(5);
  host.files["/var/log/prog.log"].ino = 201;  // Another file, as on another host.
  auto result = host.check(set);
  EXPECT_TRUE(result.problems.empty()) << joined(result.problems);
  EXPECT_NE(joined(result.notes).find("/var/log/prog.log (fd 1 of pid 1, open for writing): accepted by path, 5 bytes, at least its position 5"),
            std::string::npos)
      << joined(result.notes);
  host.files["/var/log/prog.log"].size = 4;
  EXPECT_NE(joined(host.check(set).problems).find("is 4 bytes, shorter than the position 5"), std::string::npos);
}

TEST(RestoreHostCheck, AFileTheTreeWritesMayHaveGrown) {
  // The tree appends to its log; an earlier restore of the same image may have written to it.
  FakeHost host;
  host.files["/var/log/prog.log"].size = 500;
  auto result = host.check(valid_image());
  EXPECT_TRUE(result.problems.empty()) << joined(result.problems);
  EXPECT_NE(joined(result.notes).find("open for writing"), std::string::npos) << joined(result.notes);
}

TEST(RestoreHostCheck, RefusesAnotherCpuOrKernelLayout) {
  FakeHost host;
  std::erase(host.facts.cpu_flags, "avx");
  host.facts.xsave.xcr0 = 0x3;
  host.facts.vdso_layout[2].end += 0x1000;
  host.facts.pid_max = 0;  // Unknown: not checked.
  auto result = host.check(valid_image());
  std::string all = joined(result.problems);
  EXPECT_NE(all.find("lacks features the image's processes may use: avx"), std::string::npos) << all;
  EXPECT_NE(all.find("XSAVE features 0x7, this host enables 0x3"), std::string::npos) << all;
  EXPECT_NE(all.find("[vdso] is 8192 bytes, 12288 on this kernel"), std::string::npos) << all;
}

TEST(RestoreHostCheck, RefusesVdsoMappingsAtOtherDistances) {
  FakeHost host;
  host.facts.vdso_layout[2].start += 0x1000;
  host.facts.vdso_layout[2].end += 0x1000;
  auto result = host.check(valid_image());
  EXPECT_NE(joined(result.problems).find("distances between its vdso mappings"), std::string::npos) << joined(result.problems);
}

TEST(RestoreHostCheck, RefusesPidsAbovePidMax) {
  FakeHost host;
  host.facts.pid_max = 0;
  ImageSet set = valid_image();
  host.facts.pid_max = 1;
  EXPECT_TRUE(host.check(set).problems.empty());
  set.processes[0].entry.set_pid(2);
  EXPECT_NE(joined(host.check(set).problems).find("above the pid_max of a new PID namespace"), std::string::npos);
}

TEST(RestoreHostCheck, RefusesPosixTimersWhereTheirIdsCannotComeBack) {
  FakeHost host;
  ImageSet set = valid_image();
  set.processes[0].core.add_posix_timers()->set_clock_id(1);
  EXPECT_TRUE(host.check(set).problems.empty());
  host.facts.posix_timer_ids = false;
  EXPECT_NE(joined(host.check(set).problems).find("pid 1 has POSIX timers, and this kernel cannot give them back their IDs"),
            std::string::npos);
}

TEST(RestoreHostCheck, AnotherKernelReleaseIsOnlyANote) {
  FakeHost host;
  host.facts.kernel_release = "6.19.0";
  auto result = host.check(valid_image());
  EXPECT_TRUE(result.problems.empty()) << joined(result.problems);
  EXPECT_NE(joined(result.notes).find("dumped on kernel 6.18.0"), std::string::npos);
}

// The valid image plus one fd of every kind of issue 4 (fds 10-16), valid too.
ImageSet image_with_special_fds() {
  ImageSet set = valid_image();
  auto& files = set.processes[0].files;
  auto add = [&](int number, image::FdKind kind) {
    auto* fd = files.add_fds();
    fd->set_fd(number);
    fd->set_kind(kind);
    fd->set_flags(O_RDWR);
    return fd;
  };
  add(10, image::FD_EVENTFD)->mutable_eventfd()->set_count(5);
  auto* timer = add(11, image::FD_TIMERFD)->mutable_timerfd();
  timer->set_clockid(CLOCK_REALTIME);
  timer->set_settime_flags(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET);
  timer->set_remaining_ns(1'000'000'000);
  timer->set_expiry_ns(2'000'000'000'000'000'000);
  add(12, image::FD_SIGNALFD)->mutable_signalfd()->set_mask(1u << (SIGUSR2 - 1));
  auto* watch = add(13, image::FD_EPOLL)->mutable_epoll()->add_targets();
  watch->set_fd(10);
  watch->set_events(EPOLLIN | EPOLLET);
  for (int i = 0; i < 2; ++i) {
    auto* s = add(14 + i, image::FD_UNIX_SOCKET)->mutable_unix_socket();
    s->set_socket_id(500 + i);
    s->set_peer_id(501 - i);
    s->set_type(SOCK_DGRAM);
    s->add_queue("datagram");
  }
  auto* listener = add(16, image::FD_TCP_LISTENER)->mutable_tcp_listener();
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(8080);
  listener->set_socket_id(600);
  listener->set_family(AF_INET);
  listener->set_address(std::string(reinterpret_cast<const char*>(&address), sizeof address));
  return set;
}

TEST(RestoreValidation, SpecialFdsOfAValidImageHaveNoProblem) {
  auto problems = problems_of(image_with_special_fds());
  EXPECT_TRUE(problems.empty()) << joined(problems);
}

// A stream end whose peer closed stands alone: no peer in the image, nothing to pair with.
TEST(RestoreValidation, AStreamSocketWhosePeerClosedHasNoProblem) {
  ImageSet set = image_with_special_fds();
  auto* orphan = set.processes[0].files.add_fds();
  orphan->set_fd(30);
  orphan->set_kind(image::FD_UNIX_SOCKET);
  orphan->set_flags(O_RDWR);
  auto* s = orphan->mutable_unix_socket();
  s->set_socket_id(900);
  s->set_type(SOCK_STREAM);
  s->set_peer_closed(true);
  s->set_peer_reset(true);
  s->add_queue("left behind");
  auto problems = problems_of(set);
  EXPECT_TRUE(problems.empty()) << joined(problems);
}

TEST(RestoreValidation, RefusesBadSpecialFdState) {
  auto fd = [](ImageSet& s, int index) { return s.processes[0].files.mutable_fds(3 + index); };
  struct Case {
    std::function<void(ImageSet&)> damage;
    std::string problem;
  } cases[] = {
      {[&](auto& s) { fd(s, 0)->mutable_eventfd()->set_count(UINT64_MAX); }, "eventfd counter is out of range"},
      {[&](auto& s) { fd(s, 1)->mutable_timerfd()->set_clockid(CLOCK_PROCESS_CPUTIME_ID); }, "not one a timerfd can use"},
      {[&](auto& s) { fd(s, 1)->mutable_timerfd()->set_settime_flags(8); }, "settime flags 8 are unknown"},
      {[&](auto& s) { fd(s, 1)->mutable_timerfd()->set_clockid(CLOCK_MONOTONIC); }, "TFD_TIMER_CANCEL_ON_SET needs"},
      {[&](auto& s) { fd(s, 1)->mutable_timerfd()->set_interval_ns(UINT64_MAX); }, "timerfd times are out of range"},
      {[&](auto& s) { fd(s, 1)->mutable_timerfd()->set_expiry_ns(-5); }, "absolute timerfd expiry -5"},
      {[&](auto& s) { fd(s, 2)->mutable_signalfd()->set_mask(1u << (SIGKILL - 1)); }, "SIGKILL or SIGSTOP"},
      {[&](auto& s) { fd(s, 3)->mutable_epoll()->mutable_targets(0)->set_fd(99); }, "watch of fd 99: no such other fd"},
      {[&](auto& s) { fd(s, 3)->mutable_epoll()->mutable_targets(0)->set_fd(13); }, "watch of fd 13: no such other fd"},
      {[&](auto& s) { *fd(s, 3)->mutable_epoll()->add_targets() = fd(s, 3)->epoll().targets(0); }, "appears twice"},
      {[&](auto& s) { fd(s, 3)->mutable_epoll()->mutable_targets(0)->set_events(1u << 20); }, "unknown event bits"},
      {[&](auto& s) { fd(s, 4)->mutable_unix_socket()->set_type(SOCK_RAW); }, "socket type 3 is not one cryo restores"},
      {[&](auto& s) { fd(s, 4)->mutable_unix_socket()->set_peer_id(777); }, "is not in the image as the other end"},
      {[&](auto& s) { fd(s, 4)->mutable_unix_socket()->set_peer_id(500); }, "has no valid peer"},
      {[&](auto& s) { fd(s, 5)->mutable_unix_socket()->set_type(SOCK_STREAM); }, "is not in the image as the other end"},
      {[&](auto& s) {
         fd(s, 5)->mutable_unix_socket()->set_type(SOCK_STREAM);
         fd(s, 4)->mutable_unix_socket()->set_type(SOCK_STREAM);
         fd(s, 4)->mutable_unix_socket()->add_queue("second");
       },
       "a stream socket's queue is one byte string"},
      {[&](auto& s) {
         auto* copy = s.processes[0].files.add_fds();
         *copy = *fd(s, 4);
         copy->set_fd(20);
         copy->mutable_unix_socket()->add_queue("more");
       },
       "differs from another holder's"},
      {[&](auto& s) { fd(s, 4)->mutable_unix_socket()->set_peer_closed(true); }, "must be a stream or seqpacket socket without a peer id"},
      {[&](auto& s) { fd(s, 4)->mutable_unix_socket()->set_peer_reset(true); }, "reset by a peer that did not close"},
      {[&](auto& s) { fd(s, 6)->mutable_tcp_listener()->set_family(AF_UNIX); }, "is neither AF_INET nor AF_INET6"},
      {[&](auto& s) { fd(s, 6)->mutable_tcp_listener()->set_address("short"); }, "TCP listener address is not a sockaddr_in"},
      {[&](auto& s) { fd(s, 6)->mutable_tcp_listener()->set_family(AF_INET6); }, "TCP listener address is not a sockaddr_in6"},
      {[&](auto& s) { fd(s, 6)->mutable_tcp_listener()->set_v6only(true); }, "IPV6_V6ONLY on an AF_INET socket"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.problem);
    ImageSet set = image_with_special_fds();
    c.damage(set);
    expect_problem(set, c.problem);
  }
}

// A server's control socket: a listener on a path and one on an abstract name, and a connection the
// path one accepted from a client (fds 30-33 of the special-fd image).
ImageSet image_with_unix_listeners() {
  ImageSet set = image_with_special_fds();
  auto& files = set.processes[0].files;
  auto add = [&](int number) {
    auto* fd = files.add_fds();
    fd->set_fd(number);
    fd->set_kind(image::FD_UNIX_SOCKET);
    fd->set_flags(O_RDWR);
    auto* s = fd->mutable_unix_socket();
    s->set_type(SOCK_STREAM);
    return s;
  };
  auto* path = add(30);
  path->set_socket_id(700);
  path->set_name("/run/app/ctl.sock");
  path->set_listening(true);
  path->set_backlog(128);
  path->set_file_mode(0660);
  path->set_file_gid(4);
  auto* abstract = add(31);
  abstract->set_socket_id(701);
  abstract->set_type(SOCK_SEQPACKET);
  abstract->set_name(std::string("app\0ctl", 7));
  abstract->set_abstract(true);
  abstract->set_listening(true);
  auto* accepted = add(32);
  accepted->set_socket_id(702);
  accepted->set_peer_id(703);
  accepted->set_name("/run/app/ctl.sock");
  accepted->set_listener_id(700);
  accepted->add_queue("request");
  auto* client = add(33);
  client->set_socket_id(703);
  client->set_peer_id(702);
  client->add_queue("reply");
  return set;
}

TEST(RestoreValidation, UnixListenersAndAcceptedConnectionsHaveNoProblem) {
  auto problems = problems_of(image_with_unix_listeners());
  EXPECT_TRUE(problems.empty()) << joined(problems);
}

TEST(RestoreValidation, RefusesBadUnixNames) {
  auto sock = [](ImageSet& s, int index) { return s.processes[0].files.mutable_fds(10 + index)->mutable_unix_socket(); };
  struct Case {
    std::function<void(ImageSet&)> damage;
    std::string problem;
  } cases[] = {
      {[&](auto& s) { sock(s, 0)->set_name(std::string(109, 'a').replace(0, 1, "/")); }, "path of 109 bytes does not fit sun_path"},
      {[&](auto& s) { sock(s, 0)->set_name(std::string("/run/a\0b", 8)); }, "path name holds a NUL byte"},
      {[&](auto& s) { sock(s, 0)->set_name("ctl.sock"); }, "is not a clean absolute path"},
      {[&](auto& s) { sock(s, 0)->set_name("/run/../ctl.sock"); }, "is not a clean absolute path"},
      {[&](auto& s) { sock(s, 1)->set_name(std::string(108, 'x')); }, "abstract name of 108 bytes does not fit sun_path"},
      {[&](auto& s) { sock(s, 1)->set_file_mode(0600); }, "socket file facts without a path name"},
      {[&](auto& s) { sock(s, 0)->set_file_mode(010000); }, "has bits beyond 07777"},
      {[&](auto& s) { sock(s, 0)->set_file_unlinked(true); }, "an unlinked socket file has no mode or owner"},
      {[&](auto& s) { sock(s, 0)->clear_name(); }, "a listener must be bound"},
      {[&](auto& s) { sock(s, 0)->set_type(SOCK_DGRAM); }, "a datagram socket cannot listen"},
      {[&](auto& s) { sock(s, 0)->add_queue("x"); }, "a listener has no peer, no queued data"},
      {[&](auto& s) { sock(s, 0)->set_backlog(0x80000000u); }, "backlog 2147483648 is out of range"},
      {[&](auto& s) { sock(s, 2)->set_backlog(5); }, "a backlog on a socket that does not listen"},
      {[&](auto& s) { sock(s, 2)->set_listener_id(0); }, "only a connection accepted from a listener of the image carries a name"},
      {[&](auto& s) { sock(s, 3)->set_listener_id(700); }, "only a connection accepted from a listener of the image carries a name"},
      {[&](auto& s) { sock(s, 2)->set_listener_id(701); }, "the listener it was accepted from is not in the image with its name"},
      {[&](auto& s) { sock(s, 2)->set_name("/run/app/other.sock"); }, "the listener it was accepted from is not in the image with its name"},
      {[&](auto& s) { sock(s, 1)->set_abstract(false); sock(s, 1)->set_name("/run/app/ctl.sock"); sock(s, 1)->set_type(SOCK_STREAM); },
       "another listener of the image is bound to the same name"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.problem);
    ImageSet set = image_with_unix_listeners();
    c.damage(set);
    expect_problem(set, c.problem);
  }
}

TEST(RestoreValidation, RefusesABadSourceTreeIdentity) {
  ImageSet set = valid_image();
  auto* source = set.inventory.mutable_source_tree();
  source->set_boot_id("a5529994-f042-4484-97d7-7574db77e1fa");
  source->set_pidns_inode(4026532181);
  source->set_init_start_time(229842);
  EXPECT_TRUE(problems_of(set).empty()) << joined(problems_of(set));
  source->set_boot_id("../../etc/passwd");
  expect_problem(set, "boot id");
  source->set_boot_id("a5529994-f042-4484-97d7-7574db77e1fa");
  source->set_pidns_inode(0);
  expect_problem(set, "PID namespace inode");
  source->set_pidns_inode(1);
  source->set_init_start_time(0);
  expect_problem(set, "start time");
}


}  // namespace
}  // namespace cryo::restore

namespace cryo::restore {
namespace {

image::Fd* add_proc_fd(ImageSet& set, const std::string& path) {
  image::Fd* fd = set.processes[0].files.add_fds();
  fd->set_fd(12);
  fd->set_kind(image::FD_PROC_FILE);
  fd->set_proc_path(path);
  return fd;
}

// A /proc file names a clean path in /proc, of a process of the tree, that a dump accepts.
TEST(RestoreValidation, ProcFiles) {
  for (const char* good : {"uptime", "1/stat", "1/task/1/status", "", "sys/kernel/ostype"}) {
    ImageSet set = valid_image();
    add_proc_fd(set, good);
    auto problems = problems_of(set);
    EXPECT_TRUE(problems.empty()) << good << ":\n" << joined(problems);
  }
  struct Case {
    std::string path;
    std::string expect;
  } cases[] = {
      {"../etc/shadow", "fd 12: the /proc path '/proc/../etc/shadow' is not a clean relative path"},
      {"/etc/shadow", "is not a clean relative path"},
      {"self/mem", "goes through /proc/self"},
      {"7/stat", "fd 12 (/proc/7/stat): pid 7 is not a process of the tree"},
      {"1/task/9/stat", "a file of thread 9, not of its process's leader"},
      {"kmsg", "(/proc/kmsg) is the kernel log"},
  };
  for (const auto& c : cases) {
    ImageSet set = valid_image();
    add_proc_fd(set, c.path);
    expect_problem(set, c.expect);
  }
  ImageSet set = valid_image();
  add_proc_fd(set, "uptime")->set_path("/etc/shadow");
  expect_problem(set, "a /proc file carries no host path");
  ImageSet other = valid_image();
  other.processes[0].files.mutable_fds(0)->set_proc_path("uptime");
  expect_problem(other, "a /proc path on an fd of kind");
}

}  // namespace
}  // namespace cryo::restore
