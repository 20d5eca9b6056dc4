// Paths inside /proc as a dump records them and restore trusts them: only what a dump could write.
#include <gtest/gtest.h>

#include "kernel/proc_file_path.h"

namespace cryo {
namespace {

TEST(ProcFilePath, SplitsGlobalFilesProcessFilesAndThreadFiles) {
  auto global = parse_proc_file_path("sys/kernel/hostname");
  ASSERT_TRUE(global) << global.error().message;
  EXPECT_EQ(global->pid, 0u);
  EXPECT_EQ(global->rest, "sys/kernel/hostname");
  auto root = parse_proc_file_path("");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->pid, 0u);
  EXPECT_EQ(root->rest, "");
  auto own = parse_proc_file_path("42/stat");
  ASSERT_TRUE(own);
  EXPECT_EQ(own->pid, 42u);
  EXPECT_EQ(own->tid, 0u);
  EXPECT_EQ(own->rest, "stat");
  auto dir = parse_proc_file_path("42");
  ASSERT_TRUE(dir);
  EXPECT_EQ(dir->pid, 42u);
  EXPECT_EQ(dir->rest, "");
  auto thread = parse_proc_file_path("42/task/43/status");
  ASSERT_TRUE(thread);
  EXPECT_EQ(thread->pid, 42u);
  EXPECT_EQ(thread->tid, 43u);
  EXPECT_EQ(thread->rest, "status");
  auto tasks = parse_proc_file_path("42/task");
  ASSERT_TRUE(tasks);
  EXPECT_EQ(tasks->tid, 0u);
  EXPECT_EQ(tasks->rest, "task");
}

TEST(ProcFilePath, RefusesWhatNoDumpRecords) {
  for (const char* bad : {"/uptime", "uptime/", "sys//kernel", "..", "../etc/shadow", "42/../1/mem", "./uptime", "self/stat",
                          "thread-self/status", "0/stat", "042/stat", "4194305/stat", "99999999/stat", "42/task/x/stat",
                          "42/task/0/stat"}) {
    EXPECT_FALSE(parse_proc_file_path(bad)) << bad;
  }
  EXPECT_FALSE(parse_proc_file_path(std::string("up\0time", 7)));
  EXPECT_FALSE(parse_proc_file_path(std::string(5000, 'a')));
}

TEST(ProcFilePath, TheKernelLogCannotBeReopened) {
  EXPECT_NE(unreopenable_proc_file(*parse_proc_file_path("kmsg")), "");
  EXPECT_EQ(unreopenable_proc_file(*parse_proc_file_path("uptime")), "");
  EXPECT_EQ(unreopenable_proc_file(*parse_proc_file_path("42/mem")), "");
}

}  // namespace
}  // namespace cryo
