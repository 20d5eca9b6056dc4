// read_process_memory: the one reader of another process's memory at an address.
#include "kernel/process_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace cryo {
namespace {

TEST(ProcessMemory, ReadsTheBytesAtAnAddress) {
  const uint64_t marker = 0x5eedf00dcafe1234ull;
  uint64_t seen = 0;
  auto read = read_process_memory(getpid(), reinterpret_cast<uint64_t>(&marker), &seen, sizeof seen, "the marker");
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(seen, marker);
}

TEST(ProcessMemory, AShortReadIsAnErrorNamingWhatAndThePid) {
  // Two pages of which the second is unmapped: the read stops after the first.
  long page = sysconf(_SC_PAGESIZE);
  void* area = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(area, MAP_FAILED);
  ASSERT_EQ(munmap(static_cast<char*>(area) + page, page), 0);
  std::string out(2 * page, '\0');
  auto read = read_process_memory(getpid(), reinterpret_cast<uint64_t>(area), out.data(), out.size(), "[two pages]");
  munmap(area, page);
  ASSERT_FALSE(read);
  EXPECT_NE(read.error().message.find("[two pages]"), std::string::npos) << read.error().message;
  EXPECT_NE(read.error().message.find("read only " + std::to_string(page)), std::string::npos) << read.error().message;
  EXPECT_NE(read.error().message.find(std::to_string(getpid())), std::string::npos);
}

TEST(ProcessMemory, AnUnmappedAddressFailsWithItsErrno) {
  uint64_t seen = 0;
  auto read = read_process_memory(getpid(), 8, &seen, sizeof seen, "page zero");
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().err, EFAULT);
}

}  // namespace
}  // namespace cryo
