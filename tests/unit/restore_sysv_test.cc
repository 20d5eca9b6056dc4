// Validation of sysv.img before restore: every field of a segment and of an IPC sysctl, and the
// mappings that name segments.
#include <sys/mman.h>

#include <gtest/gtest.h>

#include "restore/image_validation.h"

namespace cryo::restore {
namespace {

// One process that attaches segment 3 (key 0x5a5a, 3 pages and 100 bytes) and removed segment 7.
ImageSet valid_sysv_image() {
  ImageSet set;
  set.namespaces.set_own_ipc(true);
  auto* a = set.sysv.add_segments();
  a->set_id(3);
  a->set_key(0x5a5a);
  a->set_mode(0640);
  a->set_size(12388);
  a->set_contents(std::string(12388, 'a'));
  auto* c = set.sysv.add_segments();
  c->set_id(7);
  c->set_removed(true);
  c->set_creation_key(0x1234);
  c->set_mode(0600);
  c->set_size(4096);
  c->set_contents(std::string(4096, 'c'));
  auto* sysctl = set.sysv.add_sysctls();
  sysctl->set_name("sem");
  sysctl->set_value("32000\t1024000000\t500\t32000");
  ProcessImage process;
  process.entry.set_pid(1);
  auto add = [&](uint64_t start, uint64_t end, uint64_t shmid, const char* path) {
    auto* vma = process.mm.add_vmas();
    vma->set_start(start);
    vma->set_end(end);
    vma->set_kind(image::VMA_SYSV_SHM);
    vma->set_flags(MAP_SHARED);
    vma->set_shmid(shmid);
    vma->set_path(path);
  };
  add(0x10000, 0x14000, 3, "/SYSV00005a5a (deleted)");
  add(0x20000, 0x21000, 7, "/SYSV00001234 (deleted)");
  set.processes.push_back(process);
  return set;
}

std::vector<std::string> problems_of(const ImageSet& set) {
  std::vector<std::string> problems;
  validate_sysv(set, &problems);
  return problems;
}

TEST(SysvValidation, AValidImageHasNoProblem) { EXPECT_TRUE(problems_of(valid_sysv_image()).empty()); }

TEST(SysvValidation, RefusesBadSegments) {
  auto check = [](auto change, const char* mentions) {
    ImageSet set = valid_sysv_image();
    change(set);
    auto problems = problems_of(set);
    std::string all;
    for (const auto& p : problems) all += p + "\n";
    EXPECT_NE(all.find(mentions), std::string::npos) << "expected '" << mentions << "' in:\n" << all;
  };
  check([](ImageSet& s) { s.namespaces.set_own_ipc(false); }, "without an IPC namespace of its own");
  check([](ImageSet& s) { s.sysv.mutable_segments(0)->set_id(-1); }, "negative id");
  check([](ImageSet& s) { s.sysv.mutable_segments(1)->set_id(3); }, "a second segment with this id");
  check([](ImageSet& s) { s.sysv.mutable_segments(0)->set_contents("short"); }, "bytes of contents for size");
  check([](ImageSet& s) { s.sysv.mutable_segments(0)->set_size(0); }, "size 0");
  check([](ImageSet& s) { s.sysv.mutable_segments(0)->set_mode(01640); }, "more than permission bits");
  check([](ImageSet& s) { s.sysv.mutable_segments(1)->set_key(5); }, "removed but with key");
  check([](ImageSet& s) { s.sysv.mutable_segments(0)->set_creation_key(5); }, "a creation key for a segment that is not removed");
  check([](ImageSet& s) {
    auto* twin = s.sysv.add_segments();
    *twin = s.sysv.segments(0);
    twin->set_id(4);
  }, "a second segment with key");
  check([](ImageSet& s) { s.sysv.mutable_sysctls(0)->set_name("../../../etc/passwd"); }, "is not one of the IPC namespace's");
  check([](ImageSet& s) { s.sysv.mutable_sysctls(0)->set_value("1; reboot"); }, "is not numbers");
  check([](ImageSet& s) { *s.sysv.add_sysctls() = s.sysv.sysctls(0); }, "sysctl sem twice");
}

// A paged segment (as dumps write them now) holds no contents: its runs fill it from objpages.img,
// and may be of any size up to the memory objects' bound.
ImageSet paged_sysv_image() {
  ImageSet set = valid_sysv_image();
  set.object_pages_size = 2 * 4096;
  auto* a = set.sysv.mutable_segments(0);
  a->clear_contents();
  a->set_paged(true);
  a->set_size(300ull << 20);
  auto* run = a->add_runs();
  run->set_offset((300ull << 20) - 2 * 4096);
  run->set_nr_pages(2);
  run->set_file_offset(0);
  set.processes[0].mm.mutable_vmas(0)->set_end(0x10000 + (300ull << 20));
  return set;
}

TEST(SysvValidation, APagedSegmentOver256MiBIsValid) {
  auto problems = problems_of(paged_sysv_image());
  std::string all;
  for (const auto& p : problems) all += p + "\n";
  EXPECT_TRUE(problems.empty()) << all;
}

TEST(SysvValidation, RefusesBadPagedSegments) {
  auto check = [](auto change, const char* mentions) {
    ImageSet set = paged_sysv_image();
    change(set);
    auto problems = problems_of(set);
    std::string all;
    for (const auto& p : problems) all += p + "\n";
    EXPECT_NE(all.find(mentions), std::string::npos) << "expected '" << mentions << "' in:\n" << all;
  };
  check([](ImageSet& s) { s.sysv.mutable_segments(0)->set_contents("x"); }, "paged, yet with 1 bytes of contents");
  check([](ImageSet& s) { s.sysv.mutable_segments(0)->mutable_runs(0)->set_offset(300ull << 20); }, "reaches beyond the object's size");
  check([](ImageSet& s) { s.sysv.mutable_segments(0)->mutable_runs(0)->set_file_offset(4096); }, "beyond the end of the object pages file");
  check([](ImageSet& s) { *s.sysv.mutable_segments(0)->add_runs() = s.sysv.segments(0).runs(0); }, "overlaps or is out of order");
  check([](ImageSet& s) { s.sysv.mutable_segments(0)->set_size((1ull << 47) + 4096); }, "TiB cryo restores");
  check([](ImageSet& s) { *s.sysv.mutable_segments(1)->add_runs() = s.sysv.segments(0).runs(0); }, "page runs for a segment that is not paged");
}

TEST(SysvValidation, RefusesMappingsThatDoNotFitTheirSegment) {
  auto check = [](auto change, const char* mentions) {
    ImageSet set = valid_sysv_image();
    change(*set.processes[0].mm.mutable_vmas(0));
    auto problems = problems_of(set);
    std::string all;
    for (const auto& p : problems) all += p + "\n";
    EXPECT_NE(all.find(mentions), std::string::npos) << "expected '" << mentions << "' in:\n" << all;
  };
  check([](image::Vma& v) { v.set_shmid(9); }, "segment 9 is not in sysv.img");
  check([](image::Vma& v) { v.set_end(0x13000); }, "bytes for segment 3");
  check([](image::Vma& v) { v.set_path("/SYSV00000001 (deleted)"); }, "not after the key of segment 3");
  ImageSet unmapped = valid_sysv_image();
  unmapped.processes[0].mm.mutable_vmas()->RemoveLast();
  auto problems = problems_of(unmapped);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("segment 7 is removed and mapped by no process"), std::string::npos);
  ImageSet none;
  none.processes = valid_sysv_image().processes;
  EXPECT_EQ(problems_of(none).size(), 2u);  // Both mappings name segments the image does not hold.
}

}  // namespace
}  // namespace cryo::restore
