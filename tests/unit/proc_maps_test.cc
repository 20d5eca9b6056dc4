#include "kernel/proc_maps.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/file_util.h"

namespace cryo {
namespace {

std::string fixture(const std::string& name) {
  auto text = read_file(std::string(CRYO_TEST_FIXTURES) + "/proc/" + name);
  EXPECT_TRUE(text) << name;
  return text ? *text : "";
}

TEST(ProcMaps, ParsesAProcessCapturedOnThisKernel) {
  auto maps = parse_proc_maps(fixture("maps_sleep_init.txt"));
  ASSERT_TRUE(maps) << maps.error().message;
  ASSERT_EQ(maps->size(), 37u);
  const MapsEntry& first = maps->front();
  EXPECT_EQ(first.start, 0x55e0fe9c4000u);
  EXPECT_EQ(first.end, 0x55e0fe9c6000u);
  EXPECT_TRUE(first.read);
  EXPECT_FALSE(first.write);
  EXPECT_FALSE(first.shared);
  EXPECT_EQ(first.dev_major, 0xfeu);
  EXPECT_EQ(first.dev_minor, 0u);
  EXPECT_EQ(first.inode, 248056u);
  EXPECT_EQ(first.path, "/usr/bin/sleep");
  EXPECT_EQ((*maps)[1].pgoff, 0x2000u);
  EXPECT_TRUE((*maps)[1].exec);
  EXPECT_EQ((*maps)[5].path, "[heap]");
  EXPECT_EQ((*maps)[14].path, "");  // Anonymous: the line ends with a space after the inode.
  EXPECT_EQ((*maps)[14].inode, 0u);
  const MapsEntry& gconv = (*maps)[24];
  EXPECT_TRUE(gconv.shared);
  EXPECT_EQ(gconv.path, "/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache");
  EXPECT_EQ((*maps)[27].path, "[vvar]");
  EXPECT_EQ((*maps)[28].path, "[vvar_vclock]");
  EXPECT_EQ((*maps)[29].path, "[vdso]");
  EXPECT_EQ(maps->back().path, "[vsyscall]");
  EXPECT_EQ(maps->back().start, 0xffffffffff600000u);
  EXPECT_EQ(maps->back().map_files_name(), "ffffffffff600000-ffffffffff601000");
}

TEST(ProcMaps, PathsKeepSpacesAndTheDeletedMark) {
  auto maps = parse_proc_maps(fixture("maps_special_cases.txt"));
  ASSERT_TRUE(maps) << maps.error().message;
  ASSERT_EQ(maps->size(), 8u);
  EXPECT_EQ((*maps)[0].path, "/opt/app/my program");
  EXPECT_EQ((*maps)[2].path, "/dev/zero (deleted)");
  EXPECT_TRUE((*maps)[2].shared);
  EXPECT_EQ((*maps)[3].path, "/memfd:cache (deleted)");
  EXPECT_EQ((*maps)[3].pgoff, 0x1000u);
  EXPECT_FALSE((*maps)[4].read);
  EXPECT_EQ((*maps)[4].path, "");
  EXPECT_EQ((*maps)[5].path, "[anon:glibc: malloc]");
}

TEST(ProcMaps, SmapsGivesEachVmaItsFlags) {
  auto maps = parse_proc_smaps(fixture("smaps_sleep_init.txt"));
  ASSERT_TRUE(maps) << maps.error().message;
  ASSERT_EQ(maps->size(), 37u);
  const MapsEntry& stack = (*maps)[35];
  EXPECT_EQ(stack.path, "[stack]");
  EXPECT_TRUE(stack.vm_flags.growsdown);
  EXPECT_FALSE(stack.vm_flags.locked);
  const MapsEntry& vdso = (*maps)[29];
  EXPECT_EQ(vdso.path, "[vdso]");
  EXPECT_EQ(vdso.vm_flags.all, (std::vector<std::string>{"rd", "ex", "mr", "mw", "me", "de"}));
  EXPECT_FALSE((*maps)[5].vm_flags.growsdown);  // [heap]
}

TEST(ProcMaps, GarbageLineIsAnErrorQuotingIt) {
  auto maps = parse_proc_maps("00400000-00300000 r-xp 00000000 fe:00 1 /x\n");
  ASSERT_FALSE(maps);
  EXPECT_NE(maps.error().message.find("empty range"), std::string::npos) << maps.error().message;
  EXPECT_FALSE(parse_proc_maps("00400000-00500000 r-xq 00000000 fe:00 1 /x\n"));
  EXPECT_FALSE(parse_proc_maps("00400000-00500000 r-xp\n"));
}

TEST(ProcMaps, LiveSmapsShowMadviseFlags) {
  const size_t size = 4 << 20;
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  ASSERT_EQ(::madvise(p, size, MADV_DONTDUMP), 0);
  ASSERT_EQ(::madvise(p, size, MADV_DONTFORK), 0);
  auto maps = read_proc_smaps(::getpid());
  ASSERT_TRUE(maps) << maps.error().message;
  bool found = false;
  for (const auto& e : *maps) {
    if (e.start != reinterpret_cast<uint64_t>(p)) continue;
    found = true;
    EXPECT_TRUE(e.vm_flags.dontdump);
    EXPECT_TRUE(e.vm_flags.dontcopy);
  }
  EXPECT_TRUE(found);
  ::munmap(p, size);
}

// A child that maps one more page each time it reads a byte, and answers with a byte.
struct MappingChild {
  pid_t pid = -1;
  int ask = -1, answer = -1;
  MappingChild() {
    int to[2], from[2];
    if (::pipe(to) != 0 || ::pipe(from) != 0) return;
    pid = ::fork();
    if (pid == 0) {
      // Without the other ends closed, the read below never sees the parent close its end.
      ::close(to[1]);
      ::close(from[0]);
      char c;
      while (::read(to[0], &c, 1) == 1) {
        ::mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (::write(from[1], &c, 1) != 1) break;
      }
      ::_exit(0);
    }
    ::close(to[0]);
    ::close(from[1]);
    ask = to[1];
    answer = from[0];
  }
  bool map_one_more() {
    char c = 'm';
    return ::write(ask, &c, 1) == 1 && ::read(answer, &c, 1) == 1;
  }
  ~MappingChild() {
    ::close(ask);
    ::close(answer);
    if (pid > 0) ::waitpid(pid, nullptr, 0);
  }
};

// Each VmFlags line of `smaps` given an extra "dd", which only a parse of this very text shows.
std::string marked(const std::string& smaps) {
  std::string out;
  for (size_t at = 0; at < smaps.size();) {
    size_t nl = smaps.find('\n', at);
    std::string line = smaps.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
    out += line.starts_with("VmFlags:") ? "VmFlags: dd" + line.substr(8) : line;
    out += '\n';
    at = nl == std::string::npos ? smaps.size() : nl + 1;
  }
  return out;
}

bool every_mapping_dontdump(const std::vector<MapsEntry>& maps) {
  for (const auto& e : maps)
    if (!e.vm_flags.dontdump) return false;
  return true;
}

TEST(ProcMaps, SmapsReadBeforeIsReusedWhileTheMappingsStayTheSame) {
  MappingChild child;
  ASSERT_GT(child.pid, 0);
  ASSERT_TRUE(child.map_one_more());
  auto earlier = read_file("/proc/" + std::to_string(child.pid) + "/smaps");
  ASSERT_TRUE(earlier) << earlier.error().message;
  auto maps = read_proc_smaps_reusing(child.pid, marked(*earlier));
  ASSERT_TRUE(maps) << maps.error().message;
  EXPECT_TRUE(every_mapping_dontdump(*maps));
}

TEST(ProcMaps, SmapsIsReadAgainOnceAMappingChanged) {
  MappingChild child;
  ASSERT_GT(child.pid, 0);
  auto earlier = read_file("/proc/" + std::to_string(child.pid) + "/smaps");
  ASSERT_TRUE(earlier) << earlier.error().message;
  ASSERT_TRUE(child.map_one_more());
  auto maps = read_proc_smaps_reusing(child.pid, marked(*earlier));
  ASSERT_TRUE(maps) << maps.error().message;
  EXPECT_FALSE(every_mapping_dontdump(*maps));
}

}  // namespace
}  // namespace cryo
