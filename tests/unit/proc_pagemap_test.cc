#include "kernel/proc_pagemap.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "base/unique_fd.h"

namespace cryo {
namespace {

constexpr uint64_t kPage = 4096;

TEST(ProcPagemap, KeepsPresentAndSwappedPrivatePagesOnly) {
  std::vector<uint64_t> entries = {
      kPagemapPresent | 123,                          // private, present
      kPagemapPresent | 124,                          // adjacent: same range
      0,                                              // never touched
      kPagemapSwapped | 77,                           // swapped out: still private data
      kPagemapPresent | kPagemapFileOrShared | 5,     // page-cache page of the file
      kPagemapPresent | 9,
  };
  std::vector<PageRange> out;
  append_private_pages(entries, 0x10000, out);
  EXPECT_EQ(out, (std::vector<PageRange>{{0x10000, 0x10000 + 2 * kPage}, {0x10000 + 3 * kPage, 0x10000 + 4 * kPage},
                                         {0x10000 + 5 * kPage, 0x10000 + 6 * kPage}}));
}

TEST(ProcPagemap, SameFramesAreOnlyPresentPrivateSharedPagesWithOneFrame) {
  std::vector<uint64_t> child = {
      kPagemapPresent | 10,                      // shared: same frame in the parent
      kPagemapPresent | 11,                      // adjacent: same range
      kPagemapPresent | 12,                      // its own copy: another frame
      kPagemapPresent | kPagemapExclusive | 13,  // exclusively mapped: not the parent's
      kPagemapPresent,                           // frame numbers hidden (not root)
      kPagemapSwapped | 15,                      // swapped out: no frame to compare
      kPagemapPresent | kPagemapFileOrShared | 16,  // page cache
      kPagemapPresent | 17,
  };
  std::vector<uint64_t> parent = {
      kPagemapPresent | 10, kPagemapPresent | 11, kPagemapPresent | 99, kPagemapPresent | 13,
      kPagemapPresent,      kPagemapSwapped | 15, kPagemapPresent | kPagemapFileOrShared | 16, kPagemapPresent | 17,
  };
  std::vector<PageRange> out;
  append_same_frames(child, parent, 0x10000, out);
  EXPECT_EQ(out, (std::vector<PageRange>{{0x10000, 0x10000 + 2 * kPage}, {0x10000 + 7 * kPage, 0x10000 + 8 * kPage}}));
}

TEST(ProcPagemap, ContinuesTheLastRangeAcrossCalls) {
  std::vector<PageRange> out = {{0x1000, 0x3000}};
  std::vector<uint64_t> entries = {kPagemapPresent, kPagemapPresent};
  append_private_pages(entries, 0x3000, out);
  EXPECT_EQ(out, (std::vector<PageRange>{{0x1000, 0x5000}}));
}

// The live scan finds written pages, skips untouched ones and ones only read (the shared zero
// page), and skips page-cache pages of a private file mapping until they are written.
TEST(ProcPagemap, FindsWrittenPagesOfThisProcess) {
  const size_t pages = 16;
  auto* anon = static_cast<char*>(::mmap(nullptr, pages * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(anon, MAP_FAILED);
  ASSERT_EQ(::madvise(anon, pages * kPage, MADV_NOHUGEPAGE), 0);
  anon[0] = 1;
  anon[1 * kPage] = 1;
  volatile char sink = anon[5 * kPage];  // Read only: maps the zero page.
  (void)sink;
  anon[9 * kPage] = 1;

  char path[] = "/tmp/cryo-pagemap-XXXXXX";
  UniqueFd file(::mkstemp(path));
  ASSERT_TRUE(file.valid());
  ::unlink(path);
  std::string data(4 * kPage, 'x');
  ASSERT_EQ(::write(file.get(), data.data(), data.size()), static_cast<ssize_t>(data.size()));
  auto* mapped = static_cast<char*>(::mmap(nullptr, 4 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE, file.get(), 0));
  ASSERT_NE(mapped, MAP_FAILED);
  volatile char read_only = mapped[0];  // Page cache page: not private.
  (void)read_only;
  mapped[2 * kPage] = 'y';              // Copy-on-write: private.

  UniqueFd pagemap(::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(pagemap.valid());
  auto base = reinterpret_cast<uint64_t>(anon);
  std::vector<PageRange> out;
  ASSERT_TRUE(find_private_pages(pagemap.get(), base, base + pages * kPage, out));
  EXPECT_EQ(out, (std::vector<PageRange>{{base, base + 2 * kPage}, {base + 9 * kPage, base + 10 * kPage}}));

  auto fbase = reinterpret_cast<uint64_t>(mapped);
  std::vector<PageRange> file_out;
  ASSERT_TRUE(find_private_pages(pagemap.get(), fbase, fbase + 4 * kPage, file_out));
  EXPECT_EQ(file_out, (std::vector<PageRange>{{fbase + 2 * kPage, fbase + 3 * kPage}}));
  ::munmap(anon, pages * kPage);
  ::munmap(mapped, 4 * kPage);
}

}  // namespace
}  // namespace cryo
