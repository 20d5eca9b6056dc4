// The show summaries (image/summary_renderers.h) on hand-made images: page accounting is exact on a
// sane image, and hostile values (overlapping or overflowing page runs, inverted ranges, parent
// loops, control bytes) neither crash nor mislead.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <sys/mman.h>

#include "image/summary_renderers.h"

namespace cryo::image {
namespace {

using google::protobuf::Struct;

constexpr uint64_t kPage = 4096;

Struct parse(const std::string& json) {
  Struct parsed;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok()) << json;
  return parsed;
}

SummaryProcess process(uint32_t pid, uint32_t ppid) {
  SummaryProcess p;
  p.entry.set_pid(pid);
  p.entry.set_ppid(ppid);
  p.entry.add_threads(pid);
  p.core.set_comm("p" + std::to_string(pid));
  return p;
}

Vma* add_vma(SummaryProcess& p, uint64_t start, uint64_t pages, VmaKind kind) {
  Vma* vma = p.mm.add_vmas();
  vma->set_start(start);
  vma->set_end(start + pages * kPage);
  vma->set_prot(PROT_READ | PROT_WRITE);
  vma->set_flags(kind == VMA_FILE_SHARED || kind == VMA_ANON_SHARED ? MAP_SHARED : MAP_PRIVATE);
  vma->set_kind(kind);
  return vma;
}

void add_run(SummaryProcess& p, uint64_t vaddr, uint64_t pages) {
  PageRun* run = p.pagemap.add_runs();
  run->set_vaddr(vaddr);
  run->set_nr_pages(pages);
}

const Struct& pages_of(const Struct& summary, int process, int mapping) {
  return summary.fields().at("processes").list_value().values(process).struct_value().fields().at("mappings").list_value()
      .values(mapping).struct_value().fields().at("pages").struct_value();
}

double field(const Struct& s, const char* key) { return s.fields().at(key).number_value(); }

TEST(ImageSummaries, PagesAreCountedWhereTheyAre) {
  SummaryInput input;
  SummaryProcess parent = process(1, 0);
  add_vma(parent, 0x10000, 10, VMA_ANON_PRIVATE);
  add_run(parent, 0x10000, 4);
  SummaryProcess child = process(2, 1);
  add_vma(child, 0x10000, 10, VMA_ANON_PRIVATE);
  Vma* file = add_vma(child, 0x40000, 8, VMA_FILE_PRIVATE);
  file->set_path("/usr/lib/libx.so");
  Vma* shared = add_vma(child, 0x80000, 4, VMA_ANON_SHARED);
  shared->set_object_id(7);
  shared->set_pgoff(2 * kPage);
  // Runs overlap and straddle mappings: each page counts once, in the mapping that holds it.
  add_run(child, 0x10000, 6);
  add_run(child, 0x12000, 2);
  add_run(child, 0x19000, 0x30);  // 0x19000 in the anon region, on into the file mapping.
  PageSpan* cow = child.pagemap.add_shared_with_parent();
  cow->set_vaddr(0x10000);
  cow->set_nr_pages(3);
  MemoryObject* object = input.objects.add_objects();
  object->set_id(7);
  object->set_kind(OBJECT_SHMEM);
  ObjectRun* stored = object->add_runs();
  stored->set_offset(0);
  stored->set_nr_pages(3);  // Offsets 0-2; the mapping sees 2-5, so one page of it is stored.
  input.processes = {parent, child};

  Struct summary = parse(render_memory_summary(input, PrintFormat::Json));
  const Struct& anon = pages_of(summary, 1, 0);
  EXPECT_EQ(field(anon, "total"), 10);
  EXPECT_EQ(field(anon, "in_image"), 7);  // pages 0-5 and 9
  EXPECT_EQ(field(anon, "cow_shared"), 3);
  EXPECT_EQ(field(anon, "not_stored"), 3);
  const Struct& lib = pages_of(summary, 1, 1);
  EXPECT_EQ(field(lib, "in_image"), 8);
  EXPECT_EQ(field(lib, "from_file"), 0);
  const Struct& shm = pages_of(summary, 1, 2);
  EXPECT_EQ(field(shm, "in_object"), 1);
  EXPECT_EQ(field(shm, "not_stored"), 3);
  EXPECT_EQ(field(pages_of(summary, 0, 0), "in_image"), 4);
  std::string text = render_memory_summary(input, PrintFormat::Text);
  EXPECT_NE(text.find("pid 2 (p2): 3 mappings, 22 pages: 15 in the image (3 shared copy-on-write with the parent), 1 in shared "
                      "objects, 0 from files, 6 not stored"),
            std::string::npos)
      << text;
}

TEST(ImageSummaries, HostileValuesNeitherCrashNorMislead) {
  SummaryInput input;
  SummaryProcess p = process(1, 3);  // A parent loop: 1 -> 3 -> 2 -> 1.
  Vma* inverted = add_vma(p, 0x20000, 1, VMA_ANON_PRIVATE);
  inverted->set_end(0x1000);
  Vma* top = add_vma(p, UINT64_MAX - 2 * kPage + 1, 1, VMA_FILE_SHARED);
  top->set_end(UINT64_MAX);
  top->set_path("\x1b]0;pwned\x07");
  Vma* object = add_vma(p, 0x50000, 2, VMA_FILE_SHARED);
  object->set_object_id(99);  // Not in objects.img.
  object->set_pgoff(UINT64_MAX - kPage);
  add_run(p, UINT64_MAX - kPage, UINT64_MAX);  // Overflows: ignored.
  add_run(p, 0, UINT64_MAX / kPage);           // Covers everything there is, at most once.
  p.core.set_cmdline(std::string("a\0\x1b[2J\0", 7));
  Fd* fd = p.files.add_fds();
  fd->set_fd(3);
  fd->set_kind(static_cast<FdKind>(12345));
  fd->set_path("\x1b[31m");
  Fd* tcp = p.files.add_fds();
  tcp->set_fd(4);
  tcp->set_kind(FD_TCP_LISTENER);
  tcp->mutable_tcp_listener()->set_family(2);
  tcp->mutable_tcp_listener()->set_address("ab");  // Too short for a sockaddr_in.
  SummaryProcess two = process(2, 1), three = process(3, 2);
  input.processes = {p, two, three};

  for (auto format : {PrintFormat::Text, PrintFormat::Json}) {
    for (const std::string& out : {render_memory_summary(input, format), render_tree_summary(input, format),
                                   render_fd_summary(input, format)}) {
      EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
      EXPECT_EQ(out.find('\x07'), std::string::npos) << out;
      if (format == PrintFormat::Json) parse(out);
    }
  }
  Struct memory = parse(render_memory_summary(input, PrintFormat::Json));
  EXPECT_EQ(field(pages_of(memory, 0, 0), "total"), 0);
  const Struct& at_top = pages_of(memory, 0, 1);
  EXPECT_EQ(field(at_top, "total"), 1);
  EXPECT_EQ(field(at_top, "from_file"), 1);
  EXPECT_EQ(field(pages_of(memory, 0, 2), "in_object"), 0);
  // The loop is broken where pstree.img's order has no parent yet.
  Struct tree = parse(render_tree_summary(input, PrintFormat::Json));
  const auto& processes = tree.fields().at("processes").list_value().values();
  EXPECT_EQ(field(processes[0].struct_value(), "depth"), 0);
  EXPECT_EQ(field(processes[1].struct_value(), "depth"), 1);
  EXPECT_EQ(field(processes[2].struct_value(), "depth"), 2);
  std::string fds = render_fd_summary(input, PrintFormat::Text);
  EXPECT_NE(fds.find("kind 12345"), std::string::npos) << fds;
  EXPECT_NE(fds.find("family 2, 2-byte address"), std::string::npos) << fds;
}

}  // namespace
}  // namespace cryo::image
