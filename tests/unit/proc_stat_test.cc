#include "kernel/proc_stat.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "base/file_util.h"

namespace cryo {
namespace {

std::string fixture(const std::string& name) {
  auto text = read_file(std::string(CRYO_TEST_FIXTURES) + "/proc/" + name);
  EXPECT_TRUE(text) << name;
  return text ? *text : "";
}

TEST(ProcStat, ParsesAnInitCapturedOnThisKernel) {
  auto s = parse_proc_stat(fixture("stat_sleep_init.txt"));
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->pid, 8017);
  EXPECT_EQ(s->comm, "sleep");
  EXPECT_EQ(s->state, 'S');
  EXPECT_EQ(s->ppid, 8015);
  EXPECT_EQ(s->pgrp, 8013);
  EXPECT_EQ(s->session, 3740);
  EXPECT_EQ(s->flags, 4194560u);  // PF_RANDOMIZE | PF_SUPERPRIV
  EXPECT_TRUE(s->flags & kPfRandomize);
  EXPECT_EQ(s->num_threads, 1u);
  EXPECT_EQ(s->start_code, 94424832696320u);
  EXPECT_EQ(s->end_code, 94424832714249u);
  EXPECT_EQ(s->start_stack, 140725209722592u);
  EXPECT_EQ(s->exit_signal, 17);
  EXPECT_EQ(s->start_data, 94424832728336u);
  EXPECT_EQ(s->end_data, 94424832729600u);
  EXPECT_EQ(s->start_brk, 94424943935488u);
  EXPECT_EQ(s->arg_start, 140725209725577u);
  EXPECT_EQ(s->arg_end, 140725209725588u);
  EXPECT_EQ(s->env_start, 140725209725588u);
  EXPECT_EQ(s->env_end, 140725209726953u);
  EXPECT_EQ(s->exit_code, 0);
}

TEST(ProcStat, CommMayHoldParenthesesAndSpaces) {
  auto s = parse_proc_stat(fixture("stat_comm_with_parens.txt"));
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->comm, "a) b (c)");
  EXPECT_EQ(s->state, 'R');
  EXPECT_EQ(s->pgrp, 4200);
  EXPECT_EQ(s->num_threads, 3u);
  EXPECT_EQ(s->exit_code, 9);
}

TEST(ProcStat, TruncatedLineIsAnError) {
  auto s = parse_proc_stat("1 (init) S 0 1 1 0");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("expected at least 52 fields"), std::string::npos) << s.error().message;
}

TEST(ProcStat, ReadsTheCallingProcess) {
  auto s = read_proc_stat(::getpid());
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->pid, ::getpid());
  EXPECT_EQ(s->pgrp, ::getpgrp());
  EXPECT_EQ(s->session, ::getsid(0));
  EXPECT_EQ(s->ppid, ::getppid());
}

}  // namespace
}  // namespace cryo
