// The fingerprint comparison and its rules (src/verify/), and the reader on a real stopped child.
#include <signal.h>
#include <sys/inotify.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <set>

#include "verify/fingerprint_compare.h"
#include "verify/fingerprint_reader.h"
#include "verify/fingerprint_rules.h"

namespace cryo::verify {
namespace {

image::ProcessFingerprint print_of(std::initializer_list<std::array<const char*, 4>> fields) {
  image::ProcessFingerprint print;
  print.set_pid(1);
  for (const auto& [subject, file, name, value] : fields) {
    auto* f = print.add_fields();
    f->set_subject(subject);
    f->set_file(file);
    f->set_name(name);
    f->set_value(value);
  }
  return print;
}

TEST(Fingerprint, IdenticalPrintsMatch) {
  auto a = print_of({{"tid 1", "status", "Umask", "0077"}, {"process", "limits", "Max open files", "200 4096 files"}});
  auto c = compare_fingerprints(a, a);
  EXPECT_TRUE(c.refused.empty());
  EXPECT_TRUE(c.awaiting.empty());
}

TEST(Fingerprint, AChangedFieldIsRefusedAndNamed) {
  auto a = print_of({{"tid 1", "status", "Umask", "0077"}});
  auto b = print_of({{"tid 1", "status", "Umask", "0022"}});
  auto c = compare_fingerprints(a, b);
  ASSERT_EQ(c.refused.size(), 1u);
  EXPECT_EQ(describe(1, c.refused[0]), "pid 1 tid 1: status Umask was '0077', now '0022'");
}

TEST(Fingerprint, AMissingOrExtraFieldIsRefused) {
  auto a = print_of({{"tid 1", "rseq", "config", "140 size 32 flags 0 signature 1392848979"}});
  auto b = print_of({{"tid 2", "rseq", "config", "140 size 32 flags 0 signature 1392848979"}});
  auto c = compare_fingerprints(a, b);
  ASSERT_EQ(c.refused.size(), 2u);
  EXPECT_EQ(c.refused[0].restored, "(absent)");
  EXPECT_EQ(c.refused[1].dumped, "(absent)");
}

TEST(Fingerprint, HostPidsDifferOnlyTheInnermostCounts) {
  auto a = print_of({{"tid 1", "status", "NSpid", "1234 1"}, {"tid 1", "status", "Pid", "1234"}});
  auto same = print_of({{"tid 1", "status", "NSpid", "5678 1"}, {"tid 1", "status", "Pid", "5678"}});
  auto other = print_of({{"tid 1", "status", "NSpid", "5678 2"}, {"tid 1", "status", "Pid", "5678"}});
  EXPECT_TRUE(compare_fingerprints(a, same).refused.empty());
  EXPECT_EQ(compare_fingerprints(a, other).refused.size(), 1u);
}

// A named file may come back with another device and inode only because restore's host check
// verified the file at that path (by device and inode on this boot, else by content), as on another
// host; its path must match. Recreated objects keep only their kind.
TEST(Fingerprint, InodesMayChangeForRecreatedObjectsAndVerifiedFilesNotTheirPath) {
  auto lib = print_of({{"map 7f0000000000-7f0000001000", "maps", "file", "fe:00 100 /usr/lib/x.so"}});
  auto lib_elsewhere = print_of({{"map 7f0000000000-7f0000001000", "maps", "file", "00:2a 7 /usr/lib/x.so"}});
  auto other_lib = print_of({{"map 7f0000000000-7f0000001000", "maps", "file", "fe:00 100 /usr/lib/y.so"}});
  auto anonymous = print_of({{"map 7f0000000000-7f0000001000", "maps", "file", "00:00 0 "}});
  EXPECT_TRUE(compare_fingerprints(lib, lib_elsewhere).refused.empty());
  EXPECT_EQ(compare_fingerprints(lib, other_lib).refused.size(), 1u);
  EXPECT_EQ(compare_fingerprints(lib, anonymous).refused.size(), 1u);
  auto memfd = print_of({{"map 7f0000000000-7f0000001000", "maps", "file", "00:01 100 /memfd:x (deleted)"}});
  auto memfd_new = print_of({{"map 7f0000000000-7f0000001000", "maps", "file", "00:01 101 /memfd:x (deleted)"}});
  EXPECT_TRUE(compare_fingerprints(memfd, memfd_new).refused.empty());

  auto pipe = print_of({{"fd 3", "fd", "link", "pipe:[100]"}, {"fd 3", "fdinfo", "ino", "100"}});
  auto pipe_new = print_of({{"fd 3", "fd", "link", "pipe:[200]"}, {"fd 3", "fdinfo", "ino", "200"}});
  auto socket = print_of({{"fd 3", "fd", "link", "socket:[200]"}, {"fd 3", "fdinfo", "ino", "200"}});
  EXPECT_TRUE(compare_fingerprints(pipe, pipe_new).refused.empty());
  EXPECT_EQ(compare_fingerprints(pipe, socket).refused.size(), 1u);
  auto file = print_of({{"fd 3", "fd", "link", "/etc/hosts"}, {"fd 3", "fdinfo", "ino", "100"}});
  auto file_elsewhere = print_of({{"fd 3", "fd", "link", "/etc/hosts"}, {"fd 3", "fdinfo", "ino", "200"}});
  auto file_other = print_of({{"fd 3", "fd", "link", "/etc/passwd"}, {"fd 3", "fdinfo", "ino", "100"}});
  EXPECT_TRUE(compare_fingerprints(file, file_elsewhere).refused.empty());
  EXPECT_EQ(compare_fingerprints(file, file_other).refused.size(), 1u);
}

// A namespace file is opened on the restored tree's namespace of its type (state/files/namespace_file.h):
// its inode may change, its type may not.
TEST(Fingerprint, ANamespaceFileKeepsItsTypeNotItsInode) {
  auto pid = print_of({{"fd 10", "fd", "link", "pid:[4026532182]"}, {"fd 10", "fdinfo", "ino", "4026532182"}});
  auto pid_new = print_of({{"fd 10", "fd", "link", "pid:[4026532183]"}, {"fd 10", "fdinfo", "ino", "4026532183"}});
  auto time = print_of({{"fd 10", "fd", "link", "time:[4026532183]"}, {"fd 10", "fdinfo", "ino", "4026532183"}});
  auto pidfs = print_of({{"fd 10", "fd", "link", "pidfd:[4026532183]"}, {"fd 10", "fdinfo", "ino", "4026532183"}});
  EXPECT_TRUE(compare_fingerprints(pid, pid_new).refused.empty());
  EXPECT_EQ(compare_fingerprints(pid, time).refused.size(), 1u);
  EXPECT_EQ(compare_fingerprints(pid, pidfs).refused.size(), 1u);
  auto named = print_of({{"fd 10", "fd", "link", "pidfd:[1]"}, {"fd 10", "fdinfo", "ino", "1"}});
  auto named_new = print_of({{"fd 10", "fd", "link", "pidfd:[2]"}, {"fd 10", "fdinfo", "ino", "2"}});
  EXPECT_FALSE(compare_fingerprints(named, named_new).refused.empty());
}

// A timer armed by restore may fire before the release; its signal, and only its, may be pending
// more. Only a POSIX timer's may be pending less (a stale one the kernel would drop).
TEST(Fingerprint, PendingSetsMayGainOnlyTimerSignals) {
  auto dumped = print_of({{"process", "timers", "ID: 1", "signal: 12/0000000000005eed; notify: signal/pid.1; ClockID: 1; "},
                          {"tid 1", "status", "ShdPnd", "0000000000000001"}});
  auto fired = print_of({{"process", "timers", "ID: 1", "signal: 12/0000000000005eed; notify: signal/pid.1; ClockID: 1; "},
                         {"tid 1", "status", "ShdPnd", "0000000000000801"}});
  auto other = print_of({{"process", "timers", "ID: 1", "signal: 12/0000000000005eed; notify: signal/pid.1; ClockID: 1; "},
                         {"tid 1", "status", "ShdPnd", "0000000000000003"}});
  auto lost = print_of({{"process", "timers", "ID: 1", "signal: 12/0000000000005eed; notify: signal/pid.1; ClockID: 1; "},
                        {"tid 1", "status", "ShdPnd", "0000000000000800"}});
  EXPECT_TRUE(compare_fingerprints(dumped, fired).refused.empty());
  EXPECT_EQ(compare_fingerprints(dumped, other).refused.size(), 1u);
  EXPECT_EQ(compare_fingerprints(dumped, lost).refused.size(), 1u);
  auto with_timer_signal = print_of({{"process", "timers", "ID: 1", "signal: 12/0000000000005eed; notify: signal/pid.1; ClockID: 1; "},
                                     {"tid 1", "status", "ShdPnd", "0000000000000801"}});
  auto stale_dropped = print_of({{"process", "timers", "ID: 1", "signal: 12/0000000000005eed; notify: signal/pid.1; ClockID: 1; "},
                                 {"tid 1", "status", "ShdPnd", "0000000000000001"}});
  auto alarm_dropped = print_of({{"tid 1", "status", "ShdPnd", "0000000000002000"}});
  auto alarm_gone = print_of({{"tid 1", "status", "ShdPnd", "0000000000000000"}});
  EXPECT_TRUE(compare_fingerprints(with_timer_signal, stale_dropped).refused.empty());
  EXPECT_EQ(compare_fingerprints(alarm_dropped, alarm_gone).refused.size(), 1u) << "SIGALRM pending must stay";
}

TEST(Fingerprint, AdjacentEqualMappingsCompareAsOne) {
  auto split = print_of({{"map 7f0000000000-7f0000001000", "maps", "perms", "rw-p"},
                         {"map 7f0000000000-7f0000001000", "smaps", "Size", "4 kB"},
                         {"map 7f0000001000-7f0000003000", "maps", "perms", "rw-p"},
                         {"map 7f0000001000-7f0000003000", "smaps", "Size", "8 kB"}});
  auto merged = print_of({{"map 7f0000000000-7f0000003000", "maps", "perms", "rw-p"},
                          {"map 7f0000000000-7f0000003000", "smaps", "Size", "12 kB"}});
  EXPECT_TRUE(compare_fingerprints(split, merged).refused.empty());
  auto protected_part = print_of({{"map 7f0000000000-7f0000001000", "maps", "perms", "r--p"},
                                  {"map 7f0000000000-7f0000001000", "smaps", "Size", "4 kB"},
                                  {"map 7f0000001000-7f0000003000", "maps", "perms", "rw-p"},
                                  {"map 7f0000001000-7f0000003000", "smaps", "Size", "8 kB"}});
  EXPECT_FALSE(compare_fingerprints(protected_part, merged).refused.empty());
}

// A child forked from a parent that had mlocked part of its text keeps that part a mapping of its
// own, unlocked; restore maps both again and the kernel merges them, as their file offsets continue.
TEST(Fingerprint, AdjacentMappingsOfOneFileCompareAsOneWhereTheirOffsetsContinue) {
  auto merged = print_of({{"map 7f0000000000-7f0000003000", "maps", "file", "fe:00 77 /usr/bin/x"},
                          {"map 7f0000000000-7f0000003000", "maps", "offset", "00048000"},
                          {"map 7f0000000000-7f0000003000", "smaps", "Size", "12 kB"}});
  auto split = print_of({{"map 7f0000000000-7f0000001000", "maps", "file", "fe:00 77 /usr/bin/x"},
                         {"map 7f0000000000-7f0000001000", "maps", "offset", "00048000"},
                         {"map 7f0000000000-7f0000001000", "smaps", "Size", "4 kB"},
                         {"map 7f0000001000-7f0000003000", "maps", "file", "fe:00 77 /usr/bin/x"},
                         {"map 7f0000001000-7f0000003000", "maps", "offset", "00049000"},
                         {"map 7f0000001000-7f0000003000", "smaps", "Size", "8 kB"}});
  auto same_offset = print_of({{"map 7f0000000000-7f0000001000", "maps", "file", "fe:00 77 /usr/bin/x"},
                               {"map 7f0000000000-7f0000001000", "maps", "offset", "00048000"},
                               {"map 7f0000000000-7f0000001000", "smaps", "Size", "4 kB"},
                               {"map 7f0000001000-7f0000003000", "maps", "file", "fe:00 77 /usr/bin/x"},
                               {"map 7f0000001000-7f0000003000", "maps", "offset", "00048000"},
                               {"map 7f0000001000-7f0000003000", "smaps", "Size", "8 kB"}});
  EXPECT_TRUE(compare_fingerprints(split, merged).refused.empty());
  EXPECT_FALSE(compare_fingerprints(same_offset, merged).refused.empty());
}

TEST(Fingerprint, AnArmedTimerfdMayExpireBeforeTheComparisonADisarmedOneNot) {
  auto armed = print_of({{"fd 9", "fdinfo", "it_value", "(0, 4000000)"}, {"fd 9", "fdinfo", "ticks", "0"}});
  auto disarmed = print_of({{"fd 9", "fdinfo", "it_value", "(0, 0)"}, {"fd 9", "fdinfo", "ticks", "2"}});
  auto expired = print_of({{"fd 9", "fdinfo", "it_value", "(0, 0)"}, {"fd 9", "fdinfo", "ticks", "1"}});
  auto more = print_of({{"fd 9", "fdinfo", "it_value", "(0, 0)"}, {"fd 9", "fdinfo", "ticks", "3"}});
  EXPECT_TRUE(compare_fingerprints(armed, expired).refused.empty());
  EXPECT_FALSE(compare_fingerprints(disarmed, more).refused.empty());
  EXPECT_FALSE(compare_fingerprints(disarmed, expired).refused.empty());
}

TEST(Fingerprint, OnlyAccountingBitsOfStatFlagsMayChange) {
  auto a = print_of({{"tid 1", "stat", "flags", "4194560"}});  // PF_RANDOMIZE | PF_SUPERPRIV
  auto forked = print_of({{"tid 1", "stat", "flags", "4194624"}});  // PF_RANDOMIZE | PF_FORKNOEXEC
  auto other = print_of({{"tid 1", "stat", "flags", "64"}});  // PF_RANDOMIZE lost
  EXPECT_TRUE(compare_fingerprints(a, forked).refused.empty());
  EXPECT_EQ(compare_fingerprints(a, other).refused.size(), 1u);
}

TEST(Fingerprint, PriorityIsIgnoredOnlyForSchedIdle) {
  auto idle = print_of({{"tid 4", "stat", "policy", "5"}, {"tid 4", "stat", "priority", "20"}});
  auto idle_after = print_of({{"tid 4", "stat", "policy", "5"}, {"tid 4", "stat", "priority", "30"}});
  auto normal = print_of({{"tid 4", "stat", "policy", "0"}, {"tid 4", "stat", "priority", "20"}});
  auto normal_after = print_of({{"tid 4", "stat", "policy", "0"}, {"tid 4", "stat", "priority", "30"}});
  EXPECT_TRUE(compare_fingerprints(idle, idle_after).refused.empty());
  EXPECT_EQ(compare_fingerprints(normal, normal_after).refused.size(), 1u);
}

TEST(Fingerprint, EveryRuleHasAReasonAndAppearsOnce) {
  std::set<std::pair<std::string_view, std::string_view>> seen;
  for (auto list : {normalised_fields(), awaiting_restore_fix()}) {
    for (const auto& n : list) {
      EXPECT_GE(n.reason.size(), 10u) << n.file << " " << n.name;
      EXPECT_TRUE(seen.emplace(n.file, n.name).second) << n.file << " " << n.name << " is listed twice";
    }
  }
  for (const auto& n : awaiting_restore_fix()) EXPECT_EQ(n.rule, Rule::AwaitingFix) << n.name;
  EXPECT_FALSE(is_recorded("stat", "utime"));
  EXPECT_TRUE(is_recorded("status", "Umask"));
  EXPECT_EQ(rule_for("status", "SigCgt"), nullptr);
}

// The reader on a child stopped under ptrace by this process, with a umask of its own.
TEST(FingerprintReader, ReadsAStoppedChild) {
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::umask(0027);
    ::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    ::raise(SIGSTOP);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSTOPPED(status));
  auto prints = read_fingerprints({child}, {});
  ::kill(child, SIGKILL);
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(prints.has_value()) << prints.error().message;
  ASSERT_EQ(prints->size(), 1u);
  std::map<std::string, std::string> by_key;
  for (const auto& f : (*prints)[0].fields()) by_key[f.subject() + "|" + f.file() + "|" + f.name()] = f.value();
  std::string tid = "tid " + std::to_string(child);  // This test does not run in a PID namespace of its own.
  EXPECT_EQ(by_key[tid + "|status|Umask"], "0027");
  EXPECT_EQ(by_key[tid + "|stat|state"], "t");
  EXPECT_EQ(by_key["process|cwd|cwd"].empty(), false);
  EXPECT_NE(by_key[tid + "|rseq|config"].find("signature"), std::string::npos) << by_key[tid + "|rseq|config"];
  EXPECT_FALSE(by_key.contains(tid + "|stat|utime")) << "counters are not recorded";
  EXPECT_NE(by_key["process|limits|Max open files"], "");
  bool has_vdso = false;
  for (const auto& [key, value] : by_key)
    if (key.ends_with("|maps|file") && value.ends_with("[vdso]")) has_vdso = true;
  EXPECT_TRUE(has_vdso);
}

// fdinfo's "inotify wd:N ..." lines have their first colon after "wd": each watch is its own
// field, named by its wd, so that a second watch is compared too and not hidden by the first.
TEST(FingerprintReader, EachInotifyWatchIsAFieldOfItsOwn) {
  int fd = ::inotify_init1(IN_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::inotify_add_watch(fd, "/", IN_CREATE), 1);
  ASSERT_EQ(::inotify_add_watch(fd, "/tmp", IN_DELETE), 2);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    ::raise(SIGSTOP);
    ::_exit(0);
  }
  ::close(fd);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  auto prints = read_fingerprints({child}, {});
  ::kill(child, SIGKILL);
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(prints.has_value()) << prints.error().message;
  std::map<std::string, std::string> by_key;
  for (const auto& f : (*prints)[0].fields()) by_key[f.subject() + "|" + f.file() + "|" + f.name()] = f.value();
  std::string subject = "fd " + std::to_string(fd);
  EXPECT_TRUE(by_key[subject + "|fdinfo|inotify 1"].starts_with("wd:1 ino:")) << by_key[subject + "|fdinfo|inotify 1"];
  EXPECT_TRUE(by_key[subject + "|fdinfo|inotify 2"].starts_with("wd:2 ino:")) << by_key[subject + "|fdinfo|inotify 2"];
  EXPECT_NE(by_key[subject + "|fdinfo|inotify 2"].find(" mask:200 "), std::string::npos);
}

}  // namespace
}  // namespace cryo::verify
