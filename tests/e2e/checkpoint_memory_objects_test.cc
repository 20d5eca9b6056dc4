// Memory objects survive dump and restore: shared anonymous memory, memfds and deleted files come
// back once each, with their contents, and stay shared by the processes that shared them.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "e2e/checkpoint_harness.h"

namespace cryo::e2e {
namespace {

// cryo's peak resident memory in a dump or restore of cr_bigobjects: about 20 MiB here, while
// holding the memfd's 24 MiB run at once would take it above 43 MiB.
constexpr long kMaxCryoRssKib = 36 << 10;

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

// cr_bigobjects: a memfd, shared anonymous memory and a SysV segment (each shared by the init and
// its child) and a deleted file, each over 256 MiB but mostly holes, with data at their start, middle and end. The image
// stores only the data, neither cryo command's memory grows with an object (each is copied in
// pieces; a memfd run of 24 MiB would otherwise be held whole), and after restore the workload
// reads every byte, finds the objects still sparse and still shared.
TEST(MemoryObjects, ObjectsOver256MiBAreStreamedStoredSparseAndStayShared) {
  CheckpointSession session;
  std::string files = session.dir() / "files";
  ASSERT_EQ(::mkdir(files.c_str(), 0700), 0);
  pid_t init = session.start("cr_bigobjects", {"--dir=" + files});
  ASSERT_GT(init, 0);
  CommandResult dumped, restored;
  ASSERT_TRUE(session.dump_ok(init, session.image_path(), {}, &dumped));
  struct stat st {};
  ASSERT_EQ(::stat((session.image_path() + "/objpages.img").c_str(), &st), 0);
  // About 47.3 MiB of data in 1.2 GiB of objects.
  EXPECT_LT(st.st_size, 50 << 20) << "objpages.img stores holes or zero pages";
  EXPECT_GT(st.st_size, 47 << 20) << "objpages.img lacks data";
  pid_t restored_init = session.restore_ok(session.image_path(), {}, &restored);
  ASSERT_GT(restored_init, 0);
  EXPECT_LT(dumped.max_rss_kib, kMaxCryoRssKib) << "cryo dump's peak memory grew with the objects";
  EXPECT_LT(restored.max_rss_kib, kMaxCryoRssKib) << "cryo restore's peak memory grew with the objects";
  session.expect_pass_after_check(restored_init);
}

// cr_shmem_pieces: 300 one-page pieces of shared anonymous memory, each an object restore holds open
// at once. Under an open-file limit below that (and no CAP_SYS_RESOURCE to raise it), restore says
// so in one line before it creates anything; with the usual limit every piece comes back shared.
TEST(MemoryObjects, ManyPiecesOfSharedMemoryNeedOpenFilesARestoreUnderALowLimitSaysSo) {
  CheckpointSession session;
  pid_t init = session.start("cr_shmem_pieces", {"--pieces=300"});
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  auto result = restore_under_open_file_limit(session.image_path(), 200);
  expect_one_clear_error(result, "open-file limit of 200");
  session.expect_nothing_left_running();
  pid_t restored = session.restore_ok(session.image_path());
  ASSERT_GT(restored, 0);
  session.expect_pass_after_check(restored);
}

// The same pieces under a limit that a restore on this host could not raise: the dump refuses
// them, while the tree still runs and before an image is committed, rather than end the tree and
// leave an image its restore must refuse. With or without --leave-running.
TEST(MemoryObjects, ManyPiecesOfSharedMemoryADumpUnderALowLimitRefusesThemAndLeavesTheTree) {
  CheckpointSession session;
  pid_t init = session.start("cr_shmem_pieces", {"--pieces=300"});
  ASSERT_GT(init, 0);
  for (const auto& extra : {std::vector<std::string>{}, std::vector<std::string>{"--leave-running"}}) {
    std::vector<std::string> args = {"dump", "-t", std::to_string(init), "-D", session.image_path()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto result = cryo_under_open_file_limit(200, args);
    expect_one_clear_error(result, "open-file limit of 200");
    EXPECT_NE(result.err.find("dump again"), std::string::npos) << result.err;
    EXPECT_NE(::access((session.image_path() + "/inventory.img").c_str(), F_OK), 0) << "a refused dump left an image";
    EXPECT_TRUE(is_alive(init)) << "the refused dump ended the tree";
  }
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  pid_t restored = session.restore_ok(session.image_path());
  ASSERT_GT(restored, 0);
  session.expect_pass_after_check(restored);
}

}  // namespace
}  // namespace cryo::e2e
