// memfds and deleted files (state/files/memfd.h): the install step reopens the fd's staged memory
// object with the fd's own flags and position, and refuses an object that was not made again.
#include "state/files/memfd.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace cryo::state {
namespace {

TEST(MemfdKind, InstallReopensTheStagedObjectAtTheFdsPosition) {
  int object = ::memfd_create("cryo-memfd-test", 0);
  ASSERT_GE(object, 0);
  ASSERT_EQ(::write(object, "0123456789", 10), 10);
  image::Fd fd;
  fd.set_kind(image::FD_MEMFD);
  fd.set_object_id(5);
  fd.set_flags(O_RDONLY);
  fd.set_pos(4);
  StagedFds staged;
  staged.objects[5] = object;
  auto made = create_fd(*find_fd_kind(image::FD_MEMFD), fd, FdInstall{.tree_minus_caller = {}, .staged = &staged});
  ASSERT_TRUE(made) << made.error().message;
  char got[4] = {};
  EXPECT_EQ(::read(*made, got, 3), 3);
  EXPECT_STREQ(got, "456");
  EXPECT_EQ(::fcntl(*made, F_GETFL) & O_ACCMODE, O_RDONLY);
  ::close(*made);
  fd.set_object_id(6);
  auto missing = create_fd(*find_fd_kind(image::FD_DELETED_FILE), fd, FdInstall{.tree_minus_caller = {}, .staged = &staged});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "memory object 6 was not recreated");
  ::close(object);
}

}  // namespace
}  // namespace cryo::state
