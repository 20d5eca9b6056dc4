// Memory objects survive dump and restore: shared anonymous memory, memfds and deleted files come
// back once each, with their contents, and stay shared by the processes that shared them.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

// cr_shmem: MAP_SHARED|MAP_ANONYMOUS and MAP_SHARED /dev/zero memory shared by the init and its
// child, with pages only the child touched and a child mapping at a non-zero offset; after restore
// both see the contents and each other's writes.
TEST(MemoryObjects, SharedAnonymousMemoryStaysSharedAcrossRestore) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_shmem");
}

// cr_memfd: memfds as fds (contents, size, position, flags, name, seals that still apply) and as
// MAP_SHARED and MAP_PRIVATE mappings, one of them mapping-only, shared by the init and its child;
// after restore each sees the other's writes.
TEST(MemoryObjects, MemfdKeepsContentsSealsAndSharing) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_memfd");
}

// cr_deleted: files deleted while open (read-write and read-only, one open file shared by two
// processes) and while mapped (shared, and private with no fd left); after restore the fds read the
// old contents at the old positions, the files are still unlinked in their directory, and a write by
// one process is seen by the other.
TEST(MemoryObjects, DeletedFilesComeBackUnlinkedWithContentsAndPositions) {
  CheckpointSession session;
  std::string files = session.dir() / "files";
  ASSERT_EQ(::mkdir(files.c_str(), 0700), 0);
  session.expect_round_trip_passes("cr_deleted", {"--dir=" + files});
}

}  // namespace
}  // namespace cryo::e2e
