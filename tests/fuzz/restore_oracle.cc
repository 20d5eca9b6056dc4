#include "fuzz/restore_oracle.h"

#include <set>
#include <string_view>

namespace cryo::fuzz {
namespace {

// Written out again here rather than taken from restore/, so a mistake there is not repeated here.
constexpr uint64_t kPage = 4096;
constexpr uint64_t kUserTop = uint64_t(1) << 47;  // x86_64 with 4-level page tables.
constexpr uint64_t kVsyscall = 0xffffffffff600000;
constexpr uint32_t kPidMaxLimit = 4194304;
constexpr int kNrOpen = 1 << 20;

bool clean_absolute(std::string_view path) {
  if (path.empty() || path[0] != '/' || path.find('\0') != std::string_view::npos) return false;
  if (path == "/") return true;
  path.remove_prefix(1);
  while (true) {
    auto slash = path.find('/');
    auto part = path.substr(0, slash);
    if (part.empty() || part == "." || part == "..") return false;
    if (slash == std::string_view::npos) return true;
    path.remove_prefix(slash + 1);
  }
}

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::optional<std::string> check_memory(const ProcessImage& p, const std::string& where) {
  uint64_t previous_end = 0;
  for (const auto& vma : p.mm.vmas()) {
    std::string name = where + "mapping " + hex(vma.start()) + "-" + hex(vma.end());
    if (vma.start() >= vma.end() || vma.start() % kPage || vma.end() % kPage) return name + " is empty or unaligned";
    if (vma.start() < previous_end) return name + " overlaps the mapping before";
    previous_end = vma.end();
    if (vma.kind() == image::VMA_VSYSCALL ? vma.start() != kVsyscall : vma.end() > kUserTop)
      return name + " is outside user space";
    if ((vma.kind() == image::VMA_FILE_PRIVATE || vma.kind() == image::VMA_FILE_SHARED) && vma.object_id() == 0 &&
        !clean_absolute(vma.path()))
      return name + " maps an unclean path '" + vma.path() + "'";
  }
  // The bytes the runs index: the raw file, or what the chunks of a compressed one hold, which must
  // then tile the page data and the file exactly, each frame declaring its chunk's size.
  uint64_t data_size = p.pages_file_size;
  if (p.pagemap.has_compression()) {
    const auto& table = p.pagemap.compression();
    if (table.codec() != image::PAGE_CODEC_ZSTD) return where + "compressed pages of an unknown codec";
    uint64_t data_end = 0, stored_end = 0;
    for (int i = 0; i < table.chunks_size(); ++i) {
      const auto& c = table.chunks(i);
      std::string name = where + "chunk " + std::to_string(i);
      if (c.size() == 0 || c.size() % kPage || c.stored_size() == 0) return name + " is empty or unaligned";
      if (c.offset() != data_end || c.stored_offset() != stored_end) return name + " does not follow the chunk before";
      if (c.stored_size() > p.pages_file_size - stored_end) return name + " runs past the file";
      if (static_cast<size_t>(i) >= p.chunk_frame_sizes.size() || p.chunk_frame_sizes[static_cast<size_t>(i)] != c.size())
        return name + " has a frame of another size";
      data_end += c.size();
      stored_end += c.stored_size();
    }
    if (stored_end != p.pages_file_size || table.stored_size() != p.pages_file_size) return where + "chunks do not fill the file";
    if (data_end != p.pagemap.pages_file_size()) return where + "chunks do not hold the pagemap's page data";
    data_size = data_end;
  }
  uint64_t previous_run_end = 0;
  for (const auto& run : p.pagemap.runs()) {
    std::string name = where + "page run " + hex(run.vaddr()) + " x" + std::to_string(run.nr_pages());
    if (run.nr_pages() == 0 || run.vaddr() % kPage || run.offset() % kPage) return name + " is empty or unaligned";
    if (run.nr_pages() > kUserTop / kPage || run.vaddr() >= kUserTop || run.nr_pages() * kPage > kUserTop - run.vaddr())
      return name + " reaches outside user space";
    const uint64_t bytes = run.nr_pages() * kPage, end = run.vaddr() + bytes;
    if (run.offset() > data_size || bytes > data_size - run.offset())
      return name + " reads beyond the pages file (" + std::to_string(data_size) + " bytes)";
    if (run.vaddr() < previous_run_end) return name + " overlaps the run before";
    previous_run_end = end;
    // Every page lands in a mapping restore fills with data.
    for (uint64_t page = run.vaddr(); page < end;) {
      const image::Vma* home = nullptr;
      for (const auto& vma : p.mm.vmas())
        if (vma.start() <= page && page < vma.end()) home = &vma;
      if (!home) return name + ": page " + hex(page) + " is in no mapping";
      if (home->kind() != image::VMA_ANON_PRIVATE && home->kind() != image::VMA_FILE_PRIVATE &&
          home->kind() != image::VMA_ANON_SHARED)
        return name + ": page " + hex(page) + " is in a mapping restore does not fill";
      page = home->end();
    }
  }
  return std::nullopt;
}

std::optional<std::string> check_files(const ProcessImage& p, const ImageSet& set,
                                       const std::string& where) {
  std::set<int> numbers;
  std::set<uint64_t> pipes;
  for (const auto& pipe : set.pipes.pipes()) pipes.insert(pipe.pipe_id());
  for (const auto& fd : p.files.fds()) {
    std::string name = where + "fd " + std::to_string(fd.fd());
    if (fd.fd() < 0 || fd.fd() >= kNrOpen) return name + " is out of range";
    if (!numbers.insert(fd.fd()).second) return name + " appears twice";
    if (fd.kind() == image::FD_PIPE) {
      if (!pipes.count(fd.pipe_id())) return name + " is a pipe missing from pipes.img";
    } else if (fd.kind() == image::FD_MEMFD || fd.kind() == image::FD_DELETED_FILE) {
      const auto want = fd.kind() == image::FD_MEMFD ? image::OBJECT_MEMFD : image::OBJECT_DELETED_FILE;
      bool found = false;
      for (const auto& object : set.objects.objects()) found = found || (object.id() == fd.object_id() && object.kind() == want);
      if (!found) return name + " names no memory object of its kind";
    } else if (!clean_absolute(fd.path())) {
      return name + " opens an unclean path '" + fd.path() + "'";
    }
  }
  if (!clean_absolute(p.files.cwd()) || !clean_absolute(p.files.root())) return where + "cwd or root is unclean";
  if (!clean_absolute(p.core.mm().exe())) return where + "executable path '" + p.core.mm().exe() + "' is unclean";
  return std::nullopt;
}

// Memory objects: bounded, their pages inside objpages.img and inside the object; every mapping of
// one names an object that exists.
std::optional<std::string> check_objects(const ImageSet& set) {
  std::set<uint64_t> ids;
  for (const auto& object : set.objects.objects()) {
    const std::string name = "memory object " + std::to_string(object.id());
    if (object.id() == 0 || !ids.insert(object.id()).second) return name + " is zero or repeated";
    if (object.size() > kUserTop) return name + " is larger than the user address space";
    if (object.kind() == image::OBJECT_DELETED_FILE && !clean_absolute(object.name())) return name + " has an unclean path";
    const uint64_t limit = (object.size() + kPage - 1) / kPage * kPage;
    for (const auto& run : object.runs()) {
      if (run.nr_pages() == 0 || run.offset() % kPage || run.file_offset() % kPage) return name + ": a run is empty or unaligned";
      if (run.nr_pages() > limit / kPage || run.offset() > limit - run.nr_pages() * kPage) return name + ": a run is outside the object";
      if (run.file_offset() > set.object_pages_size || run.nr_pages() * kPage > set.object_pages_size - run.file_offset())
        return name + ": a run reads beyond objpages.img";
    }
  }
  for (const auto& p : set.processes)
    for (const auto& vma : p.mm.vmas())
      if (vma.object_id() != 0 && !ids.count(vma.object_id()))
        return "pid " + std::to_string(p.pid()) + ": a mapping names memory object " + std::to_string(vma.object_id()) + ", which does not exist";
  return std::nullopt;
}

}  // namespace

std::optional<std::string> check_accepted_image(const ImageSet& set) {
  if (auto broken = check_objects(set)) return broken;
  std::set<uint32_t> pids;
  for (const auto& p : set.processes) {
    const std::string where = "pid " + std::to_string(p.pid()) + ": ";
    if (p.pid() < 1 || p.pid() > kPidMaxLimit) return where + "out of range";
    if (!pids.insert(p.pid()).second) return where + "appears twice in the tree";
    for (uint32_t tid : p.entry.threads())
      if (tid < 1 || tid > kPidMaxLimit) return where + "thread " + std::to_string(tid) + " is out of range";
    if (p.zombie()) continue;
    for (const auto& thread : p.core.threads())
      if (thread.gpregs().size() != 216) return where + "registers of the wrong size";
    if (auto broken = check_memory(p, where)) return broken;
    if (auto broken = check_files(p, set, where)) return broken;
  }
  for (const auto& p : set.processes)
    if (p.entry.ppid() != 0 && !pids.count(p.entry.ppid()))
      return "pid " + std::to_string(p.pid()) + ": parent " + std::to_string(p.entry.ppid()) + " is not in the tree";
  return std::nullopt;
}

}  // namespace cryo::fuzz
