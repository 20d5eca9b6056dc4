// The homes of a process's credentials, resource limits, mm fields and prctl flags
// (state/process/): what dump records from /proc and from injected calls, and what validation refuses.
#include <linux/prctl.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "state/process/creds.h"
#include "state/process/mm_fields.h"
#include "state/process/rlimits.h"
#include "state/process/task_flags.h"
#include "unit/state_problems.h"

namespace cryo {
namespace {

ProcStatus status_of_a_daemon() {
  ProcStatus s;
  s.uids = {1000, 1000, 1000, 1000};
  s.gids = {100, 100, 100, 100};
  s.groups = {4, 27};
  s.cap_bounding = (1ull << 41) - 1;
  s.no_new_privs = true;
  return s;
}

TEST(CredsState, RecordsWhatStatusShowsWithTheSecurebits) {
  image::Creds creds;
  collect_creds(status_of_a_daemon(), 0x2f, &creds);
  ASSERT_EQ(creds.uids_size(), 4);
  EXPECT_EQ(creds.uids(3), 1000u);
  EXPECT_EQ(creds.gids(0), 100u);
  ASSERT_EQ(creds.groups_size(), 2);
  EXPECT_EQ(creds.groups(1), 27u);
  EXPECT_EQ(creds.securebits(), 0x2fu);
  EXPECT_TRUE(creds.no_new_privs());
  EXPECT_EQ(collected([&](auto& sink) { validate_creds(creds, sink); }), "");
}

TEST(CredsState, RefusesThreadsWhoseCredentialsDiffer) {
  ProcStatus leader = status_of_a_daemon();
  ProcStatus thread = leader;
  EXPECT_TRUE(check_same_creds(thread, leader).has_value());
  thread.uids[1] = 0;
  auto refused = check_same_creds(thread, leader);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message.find("differ from the thread group leader's"), std::string::npos);
}

TEST(CredsState, RefusesMissingIdsAndUnknownCapabilities) {
  image::Creds creds;
  creds.set_cap_ambient(1ull << 45);
  std::string all = collected([&](auto& sink) { validate_creds(creds, sink); });
  EXPECT_NE(all.find("creds need 4 uids and 4 gids"), std::string::npos) << all;
  EXPECT_NE(all.find("beyond the last capability"), std::string::npos) << all;
}

TEST(RlimitState, RefusesUnknownRepeatedAndInvertedLimits) {
  image::ProcessCore core;
  auto add = [&](uint32_t resource, uint64_t cur, uint64_t max) {
    auto* r = core.add_rlimits();
    r->set_resource(resource);
    r->set_cur(cur);
    r->set_max(max);
  };
  add(7, 1024, 4096);
  EXPECT_EQ(collected([&](auto& sink) { validate_rlimits(core, sink); }), "");
  add(7, 1, 2);
  add(16, 0, 0);
  add(3, 10, 5);
  EXPECT_EQ(collected([&](auto& sink) { validate_rlimits(core, sink); }),
            "rlimit resource 7 is unknown or repeated\nrlimit resource 16 is unknown or repeated\n"
            "rlimit 3: soft limit above the hard limit\n");
}

image::MmFields valid_mm() {
  image::MmFields mm;
  mm.set_start_code(0x400000);
  mm.set_end_code(0x401000);
  mm.set_start_data(0x402000);
  mm.set_end_data(0x403000);
  mm.set_start_brk(0x404000);
  mm.set_brk(0x405000);
  mm.set_start_stack(0x7ffd0000);
  mm.set_exe("/usr/bin/prog");
  return mm;
}

TEST(MmFieldsState, RefusesWhatPrSetMmMapRefuses) {
  EXPECT_EQ(collected([&](auto& sink) { validate_mm_fields(valid_mm(), sink); }), "");
  image::MmFields mm = valid_mm();
  mm.set_end_code(0x400000);
  mm.set_arg_start(0x2000);
  mm.set_auxv(std::string(24, '\0'));
  mm.set_env_end(0x800000000000);
  mm.set_exe("/usr/../bin/prog");
  std::string all = collected([&](auto& sink) { validate_mm_fields(mm, sink); });
  EXPECT_NE(all.find("start_code is not below end_code"), std::string::npos) << all;
  EXPECT_NE(all.find("arg_start is above arg_end"), std::string::npos) << all;
  EXPECT_NE(all.find("auxv of 24 bytes"), std::string::npos) << all;
  EXPECT_NE(all.find("mm field env_end 0x800000000000 is outside user space"), std::string::npos) << all;
  EXPECT_NE(all.find("not a clean absolute path"), std::string::npos) << all;
}

TEST(TaskFlagsState, ReadsTheFlagsInjectedCallsLeft) {
  image::ProcessCore core;
  auto* leader = core.add_threads();
  char thread_answer[kThreadFlagsAnswerSize] = {};
  int32_t pdeath = 15, tsc = PR_TSC_SIGSEGV;
  std::memcpy(thread_answer, &pdeath, sizeof pdeath);
  std::memcpy(thread_answer + 8, &tsc, sizeof tsc);
  read_thread_flags(thread_answer, *leader);
  EXPECT_EQ(leader->pdeath_signal(), 15);
  EXPECT_EQ(leader->tsc_mode(), PR_TSC_SIGSEGV);
  char process_answer[kProcessFlagsAnswerSize] = {1};
  read_process_flags(process_answer, core);
  EXPECT_TRUE(core.child_subreaper());
  // The process's parent-death signal is its leader's.
  EXPECT_EQ(core.pdeath_signal(), 15);
  EXPECT_EQ(collected([&](auto& sink) { validate_task_flags(core, sink); }), "");
}

TEST(TaskFlagsState, RefusesValuesPrctlAndProcRefuse) {
  image::ProcessCore core;
  core.set_umask(01000);
  core.set_pdeath_signal(65);
  core.set_coredump_filter(1u << 9);
  core.set_oom_score_adj(-1001);
  core.set_autogroup_nice(20);
  core.set_personality(0x10000000);
  core.set_mdwe_flags(2);  // No-inherit alone: prctl refuses it without refuse-exec-gain.
  core.set_membarrier_registrations(1 << 3);  // A command, not a registration.
  auto* t = core.add_threads();
  t->set_tid(2);
  t->set_tsc_mode(3);
  t->set_mce_kill(7);
  std::string all = collected([&](auto& sink) { validate_task_flags(core, sink); });
  EXPECT_NE(all.find("umask 512 is not a permission mask"), std::string::npos) << all;
  EXPECT_NE(all.find("parent-death signal 65 is not a signal"), std::string::npos) << all;
  EXPECT_NE(all.find("coredump_filter 0x200 has unknown bits"), std::string::npos) << all;
  EXPECT_NE(all.find("oom_score_adj -1001 is outside -1000..1000"), std::string::npos) << all;
  EXPECT_NE(all.find("autogroup nice 20 is outside -20..19"), std::string::npos) << all;
  EXPECT_NE(all.find("thread 2: TSC mode 3"), std::string::npos) << all;
  EXPECT_NE(all.find("thread 2: machine-check kill policy 7"), std::string::npos) << all;
  EXPECT_NE(all.find("personality 268435456 has bits personality(2) does not know"), std::string::npos) << all;
  EXPECT_NE(all.find("memory-deny-write-execute flags 2 are not ones"), std::string::npos) << all;
  EXPECT_NE(all.find("membarrier registrations 8 are not registration commands"), std::string::npos) << all;
}

TEST(TaskFlagsState, ReadsTheNiceOfAnAutogroup) {
  EXPECT_EQ(parse_autogroup_nice("/autogroup-3695 nice 7\n").value(), 7);
  EXPECT_EQ(parse_autogroup_nice("/autogroup-1 nice -20\n").value(), -20);
  // The root autogroup (PID 1's, and that of what it starts without a setsid) shows nothing.
  auto root = parse_autogroup_nice("");
  ASSERT_TRUE(root) << root.error().message;
  EXPECT_FALSE(root->has_value());
  EXPECT_FALSE(parse_autogroup_nice("\n").value().has_value());
  EXPECT_FALSE(parse_autogroup_nice("/autogroup-1 nice 20\n"));
  EXPECT_FALSE(parse_autogroup_nice("autogroup nice 3\n"));
  EXPECT_FALSE(parse_autogroup_nice("/autogroup-1 nice\n"));
}

TEST(TaskFlagsState, AcceptsEveryPersonalityAndMdweTheKernelSets) {
  image::ProcessCore core;
  core.set_personality(0x0400000 | 0x0040000 | 0x0f);  // READ_IMPLIES_EXEC | ADDR_NO_RANDOMIZE, persona 15.
  core.set_mdwe_flags(3);
  core.set_membarrier_registrations(1 << 2 | 1 << 4 | 1 << 6 | 1 << 8);
  std::string all = collected([&](auto& sink) { validate_task_flags(core, sink); });
  EXPECT_EQ(all, "");
}

}  // namespace
}  // namespace cryo
