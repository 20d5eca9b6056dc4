// Namespace files (nsfs): which namespaces a restored tree has of its own (ns/restored_namespaces.h),
// and validation of the FD_NAMESPACE fds of an image (state/files/namespace_file_validation.cc): a sound
// image passes, and each damage is named.
#include <fcntl.h>
#include <sched.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ns/restored_namespaces.h"
#include "state/files/namespace_file.h"

namespace cryo {
namespace {

TEST(RestoredNamespaces, KnowsTheTypesNsfsNames) {
  for (const char* type : {"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"}) EXPECT_TRUE(is_namespace_type(type)) << type;
  for (const char* type : {"", "pid_for_children", "time_for_children", "mount", "network", "PID", "net "})
    EXPECT_FALSE(is_namespace_type(type)) << type;
  EXPECT_EQ(namespace_type_flag("mnt"), CLONE_NEWNS);
  EXPECT_EQ(namespace_type_flag("time"), CLONE_NEWTIME);
  EXPECT_EQ(namespace_type_flag("bogus"), 0);
}

// Restore always makes pid, mnt and time namespaces, makes ipc and uts ones as the tree had them,
// and keeps cryo's net, user and cgroup ones.
TEST(RestoredNamespaces, WhatARestoredTreeHasOfItsOwn) {
  for (bool own : {false, true}) {
    EXPECT_TRUE(restored_tree_has_own("pid", own));
    EXPECT_TRUE(restored_tree_has_own("mnt", own));
    EXPECT_TRUE(restored_tree_has_own("time", own));
    EXPECT_EQ(restored_tree_has_own("ipc", own), own);
    EXPECT_EQ(restored_tree_has_own("uts", own), own);
    EXPECT_FALSE(restored_tree_has_own("net", own));
    EXPECT_FALSE(restored_tree_has_own("user", own));
    EXPECT_FALSE(restored_tree_has_own("cgroup", own));
  }
}

}  // namespace
}  // namespace cryo

namespace cryo::state {
namespace {

// A tree of two processes in `cryo run`'s namespaces (pid, time, mnt and ipc of its own).
ImageSet tree() {
  ImageSet set;
  set.namespaces.set_own_pid(true);
  set.namespaces.set_own_time(true);
  set.namespaces.set_own_mount(true);
  set.namespaces.set_own_ipc(true);
  for (uint32_t pid : {1u, 2u}) {
    ProcessImage p;
    p.entry.set_pid(pid);
    set.processes.push_back(p);
  }
  return set;
}

image::Fd* add_namespace_fd(ImageSet& set, size_t process, int number, const std::string& type, bool tree_own) {
  image::Fd* fd = set.processes[process].files.add_fds();
  fd->set_fd(number);
  fd->set_kind(image::FD_NAMESPACE);
  fd->mutable_namespace_file()->set_type(type);
  fd->mutable_namespace_file()->set_tree_own(tree_own);
  return fd;
}

std::vector<std::string> problems_of(const ImageSet& set) {
  std::vector<std::string> problems;
  validate_namespace_files(set, &problems);
  return problems;
}

void expect_problem(const ImageSet& set, const std::string& text) {
  auto problems = problems_of(set);
  bool found = false;
  for (const auto& p : problems) found = found || p.find(text) != std::string::npos;
  std::string all;
  for (const auto& p : problems) all += p + "\n";
  EXPECT_TRUE(found) << "expected a problem mentioning '" << text << "', got:\n" << all;
}

TEST(NamespaceFileValidation, EveryTypeInTheRelationARestoredTreeHasPasses) {
  ImageSet set = tree();
  int number = 10;
  for (const char* own : {"pid", "time", "mnt", "ipc"}) add_namespace_fd(set, 0, number++, own, true);
  for (const char* host : {"net", "user", "cgroup", "uts"}) add_namespace_fd(set, 0, number++, host, false);
  add_namespace_fd(set, 0, number, "net", false)->set_flags(O_PATH);
  // One open file held by both processes.
  add_namespace_fd(set, 0, 30, "pid", true)->set_open_file_id(7);
  add_namespace_fd(set, 1, 30, "pid", true)->set_open_file_id(7);
  auto problems = problems_of(set);
  EXPECT_TRUE(problems.empty()) << problems.front();

  ImageSet with_uts = tree();
  with_uts.namespaces.set_own_uts(true);
  add_namespace_fd(with_uts, 0, 10, "uts", true);
  EXPECT_TRUE(problems_of(with_uts).empty());
}

TEST(NamespaceFileValidation, EachDamageIsNamed) {
  {
    ImageSet set = tree();
    add_namespace_fd(set, 0, 10, "pid_for_children", true);
    expect_problem(set, "pid 1: fd 10: namespace type 'pid_for_children' is unknown");
  }
  {
    // namespaces.img says the tree had its own ipc namespace.
    ImageSet set = tree();
    add_namespace_fd(set, 1, 11, "ipc", false);
    expect_problem(set, "pid 2: fd 11 (ipc namespace): is the host's, but namespaces.img says the tree had its own");
  }
  {
    ImageSet set = tree();
    add_namespace_fd(set, 0, 12, "net", true);
    expect_problem(set, "fd 12 (net namespace): is the tree's own, but namespaces.img says the tree shared the host's");
  }
  {
    // The host's mnt namespace, which a restored tree would not share.
    ImageSet set = tree();
    set.namespaces.set_own_mount(false);
    add_namespace_fd(set, 0, 13, "mnt", false);
    expect_problem(set, "fd 13 (mnt namespace): is the host's, but a restored tree has its own");
  }
  {
    // A tree with its own net namespace is refused by image validation; its file would be too.
    ImageSet set = tree();
    set.namespaces.set_own_net(true);
    add_namespace_fd(set, 0, 14, "net", true);
    expect_problem(set, "fd 14 (net namespace): is the tree's own, but a restored tree shares the host's");
  }
  {
    ImageSet set = tree();
    add_namespace_fd(set, 0, 15, "net", false)->set_flags(O_NOFOLLOW | O_PATH);
    expect_problem(set, "fd 15 (net namespace): O_NOFOLLOW");
  }
  {
    ImageSet set = tree();
    add_namespace_fd(set, 0, 16, "net", false)->set_path("/etc/shadow");
    expect_problem(set, "fd 16 (net namespace): a namespace file carries no path");
    ImageSet proc = tree();
    add_namespace_fd(proc, 0, 16, "net", false)->set_proc_path("1/ns/net");
    expect_problem(proc, "a namespace file carries no path");
  }
  {
    ImageSet set = tree();
    add_namespace_fd(set, 0, 17, "pid", true)->set_open_file_id(3);
    add_namespace_fd(set, 1, 17, "time", true)->set_open_file_id(3);
    expect_problem(set, "pid 2: fd 17 (time namespace): shares open file 3 with an fd of another namespace");
  }
  {
    ImageSet set = tree();
    image::Fd* fd = set.processes[0].files.add_fds();
    fd->set_fd(18);
    fd->set_kind(image::FD_REGULAR);
    fd->mutable_namespace_file()->set_type("net");
    expect_problem(set, "pid 1: fd 18: a namespace on an fd of kind FD_REGULAR");
  }
}

}  // namespace
}  // namespace cryo::state
