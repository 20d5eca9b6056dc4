// Memory objects (objects.img): the names dump reads from /proc links, and restore's validation of
// objects and of every mapping and fd that names one.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <functional>

#include "dump/memory_map.h"
#include "dump/memory_objects.h"
#include "image/object_limits.h"
#include "restore/host_check.h"
#include "restore/host_memory_check.h"
#include "restore/image_validation.h"

namespace cryo {
namespace {

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

TEST(MemoryObjectNames, MemfdNameFromItsLink) {
  EXPECT_EQ(dump::memfd_name("/memfd:cache (deleted)"), "cache");
  EXPECT_EQ(dump::memfd_name("/memfd: (deleted)"), "");
  EXPECT_EQ(dump::memfd_name("/memfd:a b (deleted) (deleted)"), "a b (deleted)");
  EXPECT_FALSE(dump::memfd_name("/memfd:cache"));
  EXPECT_FALSE(dump::memfd_name("/tmp/memfd:cache (deleted)"));
}

TEST(MemoryObjectNames, DeletedPathFromItsLink) {
  EXPECT_EQ(dump::deleted_path("/tmp/data (deleted)"), "/tmp/data");
  EXPECT_FALSE(dump::deleted_path("/tmp/data"));
  EXPECT_FALSE(dump::deleted_path(" (deleted)"));
}

// A real memfd with data in pages 0 and 5, a hole between, and page 6 written with zeros: only the
// two pages of data are stored, and a second holder of the same inode gets the same object.
TEST(MemoryObjectCollector, StoresDataPagesOnceAndSkipsHolesAndZeros) {
  char dir_template[] = "/tmp/cryo-objects-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  std::string pages = std::string(dir_template) + "/objpages.img";
  int fd = ::memfd_create("unit", MFD_ALLOW_SEALING);
  ASSERT_GE(fd, 0);
  std::string page(4096, 'a'), zeros(4096, '\0');
  ASSERT_EQ(::pwrite(fd, page.data(), page.size(), 0), 4096);
  ASSERT_EQ(::pwrite(fd, page.data(), page.size(), 5 * 4096), 4096);
  ASSERT_EQ(::pwrite(fd, zeros.data(), zeros.size(), 6 * 4096), 4096);
  ASSERT_EQ(::ftruncate(fd, 7 * 4096 + 10), 0);
  ASSERT_EQ(::fcntl(fd, F_ADD_SEALS, F_SEAL_GROW), 0);
  std::string source = "/proc/self/fd/" + std::to_string(fd);
  {
    auto collector = dump::MemoryObjectCollector::create(
        UniqueFd(::open(pages.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)));
    ASSERT_TRUE(collector) << collector.error().message;
    auto id = collector->add(image::OBJECT_MEMFD, source, "unit", "test memfd");
    ASSERT_TRUE(id) << id.error().message;
    auto again = collector->add(image::OBJECT_MEMFD, source, "unit", "test memfd again");
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(*id, *again);
    const auto& objects = collector->objects();
    ASSERT_EQ(objects.objects_size(), 1);
    const auto& object = objects.objects(0);
    EXPECT_EQ(object.size(), 7u * 4096 + 10);
    EXPECT_EQ(object.name(), "unit");
    EXPECT_EQ(object.seals(), static_cast<uint32_t>(F_SEAL_GROW));
    ASSERT_EQ(object.runs_size(), 2);
    EXPECT_EQ(object.runs(0).offset(), 0u);
    EXPECT_EQ(object.runs(1).offset(), 5u * 4096);
    EXPECT_EQ(object.runs(1).file_offset(), 4096u);
    EXPECT_EQ(objects.pages_file_size(), 2u * 4096);
    auto other = collector->add(image::OBJECT_DELETED_FILE, source, "/x", "the same inode as another kind");
    EXPECT_FALSE(other);
  }
  struct stat st;
  ASSERT_EQ(::stat(pages.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 2 * 4096);
  ::close(fd);
  std::filesystem::remove_all(dir_template);
}

// Above the limit a dump is refused, naming the holder, the kind and the limit.
TEST(MemoryObjectCollector, RefusesAnObjectAboveTheLimit) {
  int fd = ::memfd_create("big", 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(image::kMaxObjectBytes + 4096)), 0);  // Sparse: costs no memory.
  auto collector = dump::MemoryObjectCollector::checking_only();
  auto id = collector.add(image::OBJECT_MEMFD, "/proc/self/fd/" + std::to_string(fd), "big", "pid 7: fd 3 (/memfd:big (deleted))");
  ASSERT_FALSE(id);
  EXPECT_NE(id.error().message.find("pid 7: fd 3 (/memfd:big (deleted)) is a memfd of"), std::string::npos) << id.error().message;
  EXPECT_NE(id.error().message.find("128 TiB"), std::string::npos) << id.error().message;
  ::close(fd);
}

// Data scattered into more page runs than objects.img's record holds is refused, naming the holder
// and the number of runs (the limit is lowered here: the real one needs millions of runs).
TEST(MemoryObjectCollector, RefusesAnObjectWhoseRunsDoNotFitTheRecord) {
  char dir_template[] = "/tmp/cryo-objects-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  std::string pages = std::string(dir_template) + "/objpages.img";
  int fd = ::memfd_create("scattered", 0);
  ASSERT_GE(fd, 0);
  std::string page(4096, 'a');
  for (int i = 0; i < 3; ++i) ASSERT_EQ(::pwrite(fd, page.data(), page.size(), 2 * i * 4096), 4096);
  auto make = [&](uint64_t limit) {
    std::filesystem::remove(pages);
    return dump::MemoryObjectCollector::create(UniqueFd(::open(pages.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)), limit);
  };
  std::string source = "/proc/self/fd/" + std::to_string(fd);
  auto roomy = make(1000);
  ASSERT_TRUE(roomy);
  auto fits = roomy->add(image::OBJECT_MEMFD, source, "scattered", "pid 7: fd 3");
  ASSERT_TRUE(fits) << fits.error().message;
  EXPECT_EQ(roomy->objects().objects(0).runs_size(), 3);
  auto tight = make(20);
  ASSERT_TRUE(tight);
  auto id = tight->add(image::OBJECT_MEMFD, source, "scattered", "pid 7: fd 3 (/memfd:scattered (deleted))");
  ASSERT_FALSE(id);
  EXPECT_NE(id.error().message.find("pid 7: fd 3 (/memfd:scattered (deleted)) is a memfd of"), std::string::npos) << id.error().message;
  EXPECT_NE(id.error().message.find("3 separate runs"), std::string::npos) << id.error().message;
  ::close(fd);
  std::filesystem::remove_all(dir_template);
}

MapsEntry maps_entry(const std::string& line) {
  auto entry = parse_maps_line(line);
  EXPECT_TRUE(entry) << line;
  return entry ? *entry : MapsEntry{};
}

// Shared anonymous memory, memfds and deleted files are dumped as memory objects; what stays
// unsupported is refused with the mapping and its kind named.
TEST(MemoryObjectClassification, KindsOfMappingsOfObjects) {
  auto kind = [](const std::string& line) { return dump::classify_vma(maps_entry(line)); };
  EXPECT_EQ(kind("7f0000000000-7f0000100000 rw-s 00000000 00:01 27   /dev/zero (deleted)"), image::VMA_ANON_SHARED);
  EXPECT_EQ(kind("7f0000000000-7f0000100000 rw-s 00001000 00:01 28   /memfd:cache (deleted)"), image::VMA_FILE_SHARED);
  EXPECT_EQ(kind("7f0000000000-7f0000100000 r--p 00000000 00:01 28   /memfd:cache (deleted)"), image::VMA_FILE_PRIVATE);
  EXPECT_EQ(kind("7f0000000000-7f0000100000 rw-s 00000000 08:01 99   /tmp/data (deleted)"), image::VMA_FILE_SHARED);
  // Dumped with sysv.img when the tree has its own IPC namespace (dump.cc refuses it otherwise).
  EXPECT_EQ(kind("7f0000000000-7f0000100000 rw-s 00000000 00:01 5   /SYSV00001234 (deleted)"), image::VMA_SYSV_SHM);
  struct Refused {
    std::string line, kind;
  } refused[] = {
      {"7f0000000000-7f0000100000 rw-p 00000000 00:01 5   /SYSV00001234 (deleted)", "a private mapping of System V shared memory"},
      {"7f0000000000-7f0000100000 rw-p 00000000 00:01 27   /dev/zero (deleted)", "a private mapping of shared anonymous memory"},
      {"7f0000000000-7f0000100000 rw-s 00000000 00:01 27   [anon_shmem:pool]", "named shared anonymous memory"},
  };
  for (const auto& r : refused) {
    auto got = kind(r.line);
    ASSERT_FALSE(got) << r.line;
    EXPECT_NE(got.error().message.find(r.kind), std::string::npos) << got.error().message;
    EXPECT_NE(got.error().message.find("mapping 7f0000000000-7f0000100000"), std::string::npos) << got.error().message;
  }
  MapsEntry huge = maps_entry("7f0000000000-7f0000200000 rw-s 00000000 00:10 3   /memfd:big (deleted)");
  huge.vm_flags.hugetlb = true;
  auto got = dump::classify_vma(huge);
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().message.find("hugetlbfs memory"), std::string::npos) << got.error().message;
}

// One process mapping a shmem object, a memfd and a deleted file, and holding the memfd and the file open.
ImageSet image_with_objects() {
  ImageSet set;
  set.object_pages_size = 3 * 4096;
  set.objects.set_pages_file_size(3 * 4096);
  auto add_object = [&](uint64_t id, image::ObjectKind kind, uint64_t size, const std::string& name, uint64_t file_offset) {
    auto* o = set.objects.add_objects();
    o->set_id(id);
    o->set_kind(kind);
    o->set_size(size);
    o->set_name(name);
    o->set_mode(0600);
    auto* run = o->add_runs();
    run->set_offset(0);
    run->set_nr_pages(1);
    run->set_file_offset(file_offset);
    return o;
  };
  add_object(1, image::OBJECT_SHMEM, 2 * 4096, "", 0);
  add_object(2, image::OBJECT_MEMFD, 5000, "cache", 4096)->set_seals(F_SEAL_SHRINK);
  add_object(3, image::OBJECT_DELETED_FILE, 100, "/data/old", 8192);

  ProcessImage p;
  p.entry.set_pid(1);
  auto add_vma = [&](uint64_t start, uint64_t end, image::VmaKind kind, uint64_t object, uint32_t flags) {
    auto* vma = p.mm.add_vmas();
    vma->set_start(start);
    vma->set_end(end);
    vma->set_prot(PROT_READ | PROT_WRITE);
    vma->set_flags(flags);
    vma->set_kind(kind);
    vma->set_object_id(object);
    return vma;
  };
  add_vma(0x10000, 0x12000, image::VMA_ANON_SHARED, 1, MAP_SHARED);
  add_vma(0x20000, 0x22000, image::VMA_FILE_SHARED, 2, MAP_SHARED);
  add_vma(0x30000, 0x31000, image::VMA_FILE_PRIVATE, 3, MAP_PRIVATE);
  auto add_fd = [&](int number, image::FdKind kind, uint64_t object) {
    auto* fd = p.files.add_fds();
    fd->set_fd(number);
    fd->set_kind(kind);
    fd->set_object_id(object);
    fd->set_flags(O_RDWR);
    return fd;
  };
  add_fd(3, image::FD_MEMFD, 2);
  add_fd(4, image::FD_DELETED_FILE, 3);
  set.index[1] = 0;
  set.processes.push_back(std::move(p));
  return set;
}

std::vector<std::string> object_problems(const ImageSet& set) {
  std::vector<std::string> problems;
  restore::validate_objects(set, &problems);
  return problems;
}

TEST(MemoryObjectValidation, AValidImageHasNoProblem) {
  auto problems = object_problems(image_with_objects());
  EXPECT_TRUE(problems.empty()) << joined(problems);
}

TEST(MemoryObjectValidation, RefusesBadObjectsAndReferences) {
  struct Case {
    std::function<void(ImageSet&)> damage;
    std::string expect;
  } cases[] = {
      {[](auto& s) { s.objects.mutable_objects(1)->set_id(1); }, "zero or repeated"},
      {[](auto& s) { s.objects.mutable_objects(0)->set_id(0); }, "zero or repeated"},
      {[](auto& s) { s.objects.mutable_objects(0)->set_size(5000); }, "not whole pages"},
      {[](auto& s) { s.objects.mutable_objects(1)->set_size(image::kMaxObjectBytes + 1); }, "TiB cryo restores"},
      {[](auto& s) { s.objects.mutable_objects(1)->set_name("a/b"); }, "not one memfd_create accepts"},
      {[](auto& s) { s.objects.mutable_objects(1)->set_name(std::string(250, 'n')); }, "not one memfd_create accepts"},
      {[](auto& s) { s.objects.mutable_objects(2)->set_name("/data/../etc/x"); }, "not a clean absolute path"},
      {[](auto& s) { s.objects.mutable_objects(2)->set_seals(F_SEAL_WRITE); }, "only a memfd has seals"},
      {[](auto& s) { s.objects.mutable_objects(1)->set_seals(0x1000); }, "unknown bits"},
      {[](auto& s) { s.objects.mutable_objects(1)->set_mode(010000); }, "not permission bits"},
      {[](auto& s) { s.objects.mutable_objects(1)->set_kind(static_cast<image::ObjectKind>(9)); }, "unknown kind"},
      {[](auto& s) { s.objects.mutable_objects(2)->mutable_runs(0)->set_offset(4096); }, "beyond the object's size"},
      {[](auto& s) { s.objects.mutable_objects(0)->mutable_runs(0)->set_nr_pages(3); }, "too long"},
      {[](auto& s) { s.objects.mutable_objects(1)->mutable_runs(0)->set_file_offset(3 * 4096); }, "beyond the end of the object pages file"},
      {[](auto& s) { s.objects.mutable_objects(1)->mutable_runs(0)->set_file_offset(~0ull & ~4095ull); }, "beyond the end of the object pages file"},
      {[](auto& s) { s.objects.mutable_objects(1)->mutable_runs(0)->set_file_offset(100); }, "not page aligned"},
      {[](auto& s) { *s.objects.mutable_objects(0)->add_runs() = s.objects.objects(0).runs(0); }, "overlaps"},
      {[](auto& s) { s.object_pages_size = 4096; }, "the inventory"},
      {[](auto& s) { s.processes[0].mm.mutable_vmas(0)->set_object_id(7); }, "no such object"},
      {[](auto& s) { s.processes[0].mm.mutable_vmas(0)->set_object_id(2); }, "cannot map memfd"},
      {[](auto& s) { s.processes[0].mm.mutable_vmas(1)->set_object_id(1); }, "cannot map shared anonymous memory"},
      {[](auto& s) { s.processes[0].mm.mutable_vmas(0)->set_pgoff(4096); }, "reaches beyond the object's"},
      {[](auto& s) { s.processes[0].mm.mutable_vmas(0)->set_pgoff(~0ull & ~4095ull); }, "beyond any object"},
      {[](auto& s) { s.processes[0].mm.mutable_vmas(1)->set_pgoff(10); }, "not page aligned"},
      {[](auto& s) { s.objects.mutable_objects(1)->set_seals(F_SEAL_FUTURE_WRITE); }, "write-sealed memfd"},
      {[](auto& s) { s.processes[0].files.mutable_fds(0)->set_object_id(3); }, "is a deleted file"},
      {[](auto& s) { s.processes[0].files.mutable_fds(1)->set_object_id(0); }, "is not in objects.img"},
      {[](auto& s) { s.processes[0].files.mutable_fds(0)->set_kind(image::FD_REGULAR); }, "a fd of this kind names memory object"},
  };
  for (const auto& c : cases) {
    auto set = image_with_objects();
    c.damage(set);
    auto problems = object_problems(set);
    EXPECT_NE(joined(problems).find(c.expect), std::string::npos)
        << "expected a problem mentioning '" << c.expect << "', got:\n" << joined(problems);
  }
}

// A deleted file is recreated in its old directory, which must still be there.
TEST(MemoryObjectValidation, HostCheckWantsTheDirectoryOfADeletedFile) {
  auto set = image_with_objects();
  set.processes.clear();
  restore::RestoreHostFacts facts;
  auto problems_mentioning = [&](bool dir_exists) {
    auto check = restore::check_host(set, facts, [&](const std::string& path) {
      restore::PathStat st;
      if (path == "/data" && dir_exists) {
        st.mode = S_IFDIR | 0755;
        return st;
      }
      st.err = ENOENT;
      return st;
    });
    std::string all = joined(check.problems);
    return all.find("directory of deleted file /data/old") != std::string::npos;
  };
  EXPECT_TRUE(problems_mentioning(false));
  EXPECT_FALSE(problems_mentioning(true));
}

// Objects above the old 256 MiB are valid: a 300 MiB memfd and 1 GiB of shared anonymous memory,
// each with a page stored near its end.
TEST(MemoryObjectValidation, AcceptsLargeSparseObjects) {
  auto set = image_with_objects();
  set.objects.mutable_objects(1)->set_size(300ull << 20);
  set.objects.mutable_objects(1)->mutable_runs(0)->set_offset((300ull << 20) - 4096);
  set.objects.mutable_objects(0)->set_size(1ull << 30);
  set.objects.mutable_objects(0)->mutable_runs(0)->set_offset((1ull << 30) - 4096);
  auto problems = object_problems(set);
  EXPECT_TRUE(problems.empty()) << joined(problems);
  set.objects.mutable_objects(1)->mutable_runs(0)->set_offset(300ull << 20);
  EXPECT_NE(joined(object_problems(set)).find("reaches beyond the object's size"), std::string::npos);
}

TEST(MemoryObjectHostCheck, ParsesMemoryAndSwap) {
  EXPECT_EQ(restore::parse_memory_and_swap("MemTotal:       1000 kB\nMemFree:  5 kB\nSwapTotal:        24 kB\n"), 1024u * 1024);
  EXPECT_EQ(restore::parse_memory_and_swap("MemTotal: 1 kB\n"), 1024u);
  EXPECT_EQ(restore::parse_memory_and_swap("MemTotalish: 7 kB\n"), 0u);
  EXPECT_EQ(restore::parse_memory_and_swap(""), 0u);
}

// The stored pages of shared anonymous memory and memfds (not deleted files, which live on disk)
// must fit the host's memory and swap.
TEST(MemoryObjectHostCheck, RefusesSharedMemoryThatDoesNotFitTheHost) {
  auto set = image_with_objects();  // One stored page each.
  auto problems = [&](uint64_t memory) {
    restore::HostCheck check;
    restore::check_object_memory(set, memory, &check);
    return joined(check.problems);
  };
  EXPECT_EQ(problems(2 * 4096), "");
  EXPECT_NE(problems(2 * 4096 - 1).find("holds 8192 bytes of data, more than this host's memory and swap"), std::string::npos);
  EXPECT_EQ(problems(0), "");  // Unknown: not checked.
  set.objects.mutable_objects(0)->mutable_runs(0)->set_nr_pages(UINT64_MAX / 4096);
  set.objects.mutable_objects(1)->mutable_runs(0)->set_nr_pages(UINT64_MAX / 1024);  // Pages * 4096 would wrap.
  EXPECT_NE(problems(UINT64_MAX - 1).find("more than this host's memory"), std::string::npos);  // Saturates, no wrap.
}

}  // namespace
}  // namespace cryo
