// The table of fd kinds (state/files/fd_kinds.h): one line for every kind of the image format, and
// the lookups the dump and restore stages dispatch through.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "state/files/fd_kinds.h"

namespace cryo::state {
namespace {

TEST(FdKinds, EveryKindOfTheImageFormatHasOneLine) {
  const google::protobuf::EnumDescriptor* kinds = image::FdKind_descriptor();
  ASSERT_EQ(fd_kinds().size(), static_cast<size_t>(kinds->value_count()));
  for (int i = 0; i < kinds->value_count(); ++i) {
    auto kind = static_cast<image::FdKind>(kinds->value(i)->number());
    const FdKindOps* ops = find_fd_kind(kind);
    ASSERT_NE(ops, nullptr) << kinds->value(i)->name();
    EXPECT_EQ(ops->kind, kind);
  }
}

TEST(FdKinds, NamesAndAnonymousInodeNamesAreUnique) {
  std::set<std::string> names, anon_inodes;
  for (const FdKindOps& ops : fd_kinds()) {
    EXPECT_TRUE(names.insert(std::string(ops.name)).second) << ops.name;
    if (!ops.anon_inode.empty()) {
      EXPECT_TRUE(anon_inodes.insert(std::string(ops.anon_inode)).second) << ops.anon_inode;
    }
  }
}

TEST(FdKinds, AnonymousInodesAreFoundByTheirLinkName) {
  ASSERT_NE(find_anon_inode_kind("eventfd"), nullptr);
  EXPECT_EQ(find_anon_inode_kind("eventfd")->kind, image::FD_EVENTFD);
  EXPECT_EQ(find_anon_inode_kind("eventpoll")->kind, image::FD_EPOLL);
  EXPECT_EQ(find_anon_inode_kind("timerfd")->kind, image::FD_TIMERFD);
  EXPECT_EQ(find_anon_inode_kind("userfaultfd"), nullptr);
  EXPECT_EQ(find_anon_inode_kind(""), nullptr);
}

TEST(FdKinds, AnUnknownKindHasNoLine) { EXPECT_EQ(find_fd_kind(static_cast<image::FdKind>(9999)), nullptr); }

TEST(FdKinds, OnlyKindsOpenedOnceAreSharedByOpenFileId) {
  for (image::FdKind kind : {image::FD_PIPE, image::FD_UNIX_SOCKET, image::FD_TCP_LISTENER, image::FD_NETLINK_SOCKET,
                             image::FD_PROC_FILE, image::FD_NAMESPACE, image::FD_POSIX_MQUEUE})
    EXPECT_NE(find_fd_kind(kind)->sharing, FdSharing::OpenedOnce) << image::FdKind_Name(kind);
  for (image::FdKind kind : {image::FD_REGULAR, image::FD_EVENTFD, image::FD_TIMERFD, image::FD_MEMFD, image::FD_INOTIFY, image::FD_EPOLL})
    EXPECT_EQ(find_fd_kind(kind)->sharing, FdSharing::OpenedOnce) << image::FdKind_Name(kind);
}

}  // namespace
}  // namespace cryo::state
