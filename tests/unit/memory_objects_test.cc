// Memory objects (objects.img): the names dump reads from /proc links, and restore's validation of
// objects and of every mapping and fd that names one.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <functional>

#include "dump/memory_objects.h"
#include "image/object_limits.h"
#include "restore/host_check.h"
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

// One process mapping a shmem object, a memfd and a deleted file, and holding the memfd and the file open.
restore::ImageSet image_with_objects() {
  restore::ImageSet set;
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

  restore::ProcessImage p;
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

std::vector<std::string> object_problems(const restore::ImageSet& set) {
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
    std::function<void(restore::ImageSet&)> damage;
    std::string expect;
  } cases[] = {
      {[](auto& s) { s.objects.mutable_objects(1)->set_id(1); }, "zero or repeated"},
      {[](auto& s) { s.objects.mutable_objects(0)->set_id(0); }, "zero or repeated"},
      {[](auto& s) { s.objects.mutable_objects(0)->set_size(5000); }, "not whole pages"},
      {[](auto& s) { s.objects.mutable_objects(1)->set_size(image::kMaxObjectBytes + 1); }, "MiB cryo restores"},
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
  restore::HostFacts facts;
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

}  // namespace
}  // namespace cryo
