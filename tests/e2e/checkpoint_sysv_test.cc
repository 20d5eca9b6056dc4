// System V IPC of the tree's own IPC namespace survives dump and restore: every segment comes back
// with its id, key, owners, creator, mode and bytes, attached where it was, and stays shared by the
// processes that attach it; every semaphore set and message queue with its id, key, owners,
// creator, mode, values and messages, and the processes waiting on them wait on.
#include <gtest/gtest.h>

#include "e2e/checkpoint_harness.h"
#include "e2e/image_tamper.h"
#include "sysv.pb.h"

namespace cryo::e2e {
namespace {

// cr_sysv: a segment attached by the init and its child (once read-only), one attached by nobody
// (created by another user, owner and mode changed), and one removed while attached; after restore
// each process checks ids (shmget of the key), owners, modes, attach counts, bytes, and sees the
// other's writes.
TEST(SysvIpc, SharedMemorySegmentsComeBackWithIdsOwnersAndContents) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_sysv");
}

// cr_sysv_sem_msg: two semaphore sets and two message queues (one with 20 messages of several
// types and sizes), created by another user or given other owners, under limits lowered after
// they were created; one child blocked in semop and one in msgrcv at the checkpoint. After restore
// the init checks ids, keys, owners, creators, modes, values and every message in order, then
// wakes both children through the set and the queue, and each answers.
TEST(SysvIpc, SemaphoresAndMessageQueuesComeBackWithIdsValuesAndMessages) {
  CheckpointSession session;
  session.expect_round_trip_passes("cr_sysv_sem_msg");
}

// The dump reads values and messages without taking them (GETALL, msgrcv MSG_COPY): a tree left
// running finds every message still queued and its children still waiting, and the image it
// left restores too.
TEST(SysvIpc, DumpLeavesSemaphoresAndMessagesOfARunningTreeInPlace) {
  CheckpointSession session;
  pid_t init = session.start("cr_sysv_sem_msg");
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path(), {"--leave-running"}));
  session.expect_pass_after_check(init);
  pid_t restored = session.restore_ok(session.image_path());
  ASSERT_GT(restored, 0);
  session.expect_pass_after_check(restored);
}

// Images from before segments were paged hold each segment's bytes in sysv.img itself: a dump of
// cr_sysv rewritten that way (the pages copied out of objpages.img into `contents`) restores too.
TEST(SysvIpc, AnImageWithSegmentBytesInSysvImgStillRestores) {
  CheckpointSession session;
  pid_t init = session.start("cr_sysv");
  ASSERT_GT(init, 0);
  ASSERT_TRUE(session.dump_ok(init, session.image_path()));
  std::string pages = slurp(session.image_path() + "/objpages.img");
  int paged = 0;
  rewrite_image<image::SysvIpc>(session.image_path(), image::Kind::SysvIpc, 0, [&](image::SysvIpc& ipc) {
    for (auto& segment : *ipc.mutable_segments()) {
      if (!segment.paged()) continue;
      ++paged;
      std::string bytes(segment.size(), '\0');
      for (const auto& run : segment.runs()) {
        uint64_t length = std::min<uint64_t>(run.nr_pages() * 4096, segment.size() - run.offset());
        ASSERT_LE(run.file_offset() + length, pages.size());
        bytes.replace(run.offset(), length, pages, run.file_offset(), length);
      }
      segment.set_contents(bytes);
      segment.clear_runs();
      segment.set_paged(false);
    }
  });
  EXPECT_EQ(paged, 3) << "cr_sysv's segments were not dumped paged";
  pid_t restored = session.restore_ok(session.image_path());
  ASSERT_GT(restored, 0);
  session.expect_pass_after_check(restored);
}

}  // namespace
}  // namespace cryo::e2e
