#include "restore/memory_restorer.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <algorithm>
#include <map>
#include <optional>
#include <system_error>
#include <thread>

#include "base/dir_fd.h"
#include "base/hex.h"
#include "base/logging.h"
#include "base/threads.h"
#include "base/unique_fd.h"
#include "image/page_data.h"
#include "image/vm_flag_table.h"
#include "kernel/proc_pagemap.h"
#include "restore/address_plan.h"
#include "restore/lazy_pages.h"

namespace cryo::restore {
namespace {

// Nothing is ever mapped below this (the default vm.mmap_min_addr), so the search starts there.
constexpr uint64_t kLowestMappable = 0x10000;

bool is_special(image::VmaKind kind) {
  return kind == image::VMA_VDSO || kind == image::VMA_VVAR || kind == image::VMA_VVAR_VCLOCK || kind == image::VMA_VSYSCALL;
}

std::string describe(const image::Vma& vma) {
  std::string out = "map " + hex(vma.start()) + "-" + hex(vma.end());
  if (!vma.path().empty()) out += " (" + vma.path() + ")";
  return out;
}

// Writes the iovecs into the tracee with as few process_vm_writev calls as IOV_MAX allows.
Result<> write_iovecs(pid_t pid, std::vector<iovec>& local, std::vector<iovec>& remote) {
  size_t i = 0;
  while (i < local.size()) {
    size_t count = std::min<size_t>(IOV_MAX, local.size() - i);
    ssize_t n = ::process_vm_writev(pid, &local[i], count, &remote[i], count, 0);
    if (n <= 0) {
      int err = n < 0 ? errno : EFAULT;
      return fail(errno_error("process_vm_writev", err)
                      .context("fill pages at " + hex(reinterpret_cast<uint64_t>(remote[i].iov_base))));
    }
    // A partial write stops at an iovec boundary or inside one: resume exactly there.
    size_t done = static_cast<size_t>(n);
    while (done > 0 && done >= local[i].iov_len) {
      done -= local[i].iov_len;
      ++i;
    }
    if (done > 0) {
      local[i].iov_base = static_cast<char*>(local[i].iov_base) + done;
      local[i].iov_len -= done;
      remote[i].iov_base = static_cast<char*>(remote[i].iov_base) + done;
      remote[i].iov_len -= done;
    }
  }
  return {};
}

// The part of the runs that one chunk holds: where in the chunk, and where in the process.
struct ChunkPieces {
  size_t chunk;
  std::vector<uint64_t> at;  // Offsets in the chunk.
  std::vector<iovec> remote;
};

// For each chunk that holds stored pages to write, in order, its pieces of the runs.
std::vector<ChunkPieces> pieces_by_chunk(const std::vector<image::PageRun>& runs, const image::PageData& pages) {
  std::vector<image::PageRun> by_offset = runs;
  std::stable_sort(by_offset.begin(), by_offset.end(), [](const image::PageRun& a, const image::PageRun& b) { return a.offset() < b.offset(); });
  auto run_end = [](const image::PageRun& r) { return r.offset() + r.nr_pages() * kPageSize; };
  std::vector<ChunkPieces> out;
  size_t first = 0;  // Runs before it end before the current chunk.
  for (size_t c = 0; c < pages.chunk_count() && first < by_offset.size(); ++c) {
    image::ChunkRange chunk = pages.chunk_range(c);
    uint64_t chunk_end = chunk.offset + chunk.size;
    while (first < by_offset.size() && run_end(by_offset[first]) <= chunk.offset) ++first;
    ChunkPieces pieces{c, {}, {}};
    for (size_t i = first; i < by_offset.size() && by_offset[i].offset() < chunk_end; ++i) {
      const auto& run = by_offset[i];
      uint64_t from = std::max(run.offset(), chunk.offset), to = std::min(run_end(run), chunk_end);
      if (from >= to) continue;
      pieces.at.push_back(from - chunk.offset);
      pieces.remote.push_back({reinterpret_cast<void*>(run.vaddr() + (from - run.offset())), to - from});
    }
    // A chunk no run needs is not even decompressed.
    if (!pieces.remote.empty()) out.push_back(std::move(pieces));
  }
  return out;
}

Result<> write_chunk(pid_t pid, const ChunkPieces& pieces, const char* data) {
  std::vector<iovec> local, remote = pieces.remote;
  local.reserve(remote.size());
  for (size_t i = 0; i < remote.size(); ++i) local.push_back({const_cast<char*>(data + pieces.at[i]), remote[i].iov_len});
  return write_iovecs(pid, local, remote);
}

// A compressed pages file: chunks are decompressed two at a time, one on a second thread, into two
// buffers that stay in the cache, and written into the tracee from there. Decompression is most of
// the cost; on one CPU the second thread only takes turns with this one.
Result<> fill_compressed_pages(pid_t pid, const std::vector<image::PageRun>& runs, const image::PageData& pages) {
  std::vector<ChunkPieces> work = pieces_by_chunk(runs, pages);
  if (work.empty()) return {};
  std::vector<char> buffers[2] = {std::vector<char>(pages.largest_chunk()), std::vector<char>(pages.largest_chunk())};
  image::ChunkScratch scratch[2];
  for (size_t k = 0; k < work.size(); k += 2) {
    bool pair = k + 1 < work.size();
    Result<> second;
    std::thread helper;
    if (pair) helper = thread_or_inline([&] { second = pages.decompress_chunk(work[k + 1].chunk, buffers[1].data(), scratch[1]); });
    Result<> first = pages.decompress_chunk(work[k].chunk, buffers[0].data(), scratch[0]);
    if (helper.joinable()) helper.join();
    RETURN_IF_ERROR(first);
    RETURN_IF_ERROR(write_chunk(pid, work[k], buffers[0].data()));
    if (!pair) continue;
    RETURN_IF_ERROR(second);
    RETURN_IF_ERROR(write_chunk(pid, work[k + 1], buffers[1].data()));
  }
  return {};
}

// Copies every page run into the tracee. The raw pages file is mapped: the copy goes straight from
// the page cache, with as few process_vm_writev calls as IOV_MAX allows.
Result<> fill_pages(pid_t pid, const std::vector<image::PageRun>& runs, image::PageData& pages) {
  if (pages.compressed()) return fill_compressed_pages(pid, runs, pages);
  if (runs.empty()) return {};
  ASSIGN_OR_RETURN(const char* data, pages.chunk(0));
  std::vector<iovec> local, remote;
  local.reserve(runs.size());
  remote.reserve(runs.size());
  for (const auto& run : runs) {
    size_t bytes = run.nr_pages() * kPageSize;
    local.push_back({const_cast<char*>(data + run.offset()), bytes});
    remote.push_back({reinterpret_cast<void*>(run.vaddr()), bytes});
  }
  return write_iovecs(pid, local, remote);
}

// Removes everything of the placeholder but the trampoline, the vdso mappings and the VMAs it has in
// place already: the gaps between them are unmapped whole, a handful of syscalls whatever the
// placeholder had.
Result<> unmap_placeholder(RemoteTask& task, const std::vector<NamedRange>& keep_specials, const std::vector<AddressRange>& keep_vmas) {
  std::vector<AddressRange> keep{{task.trampoline(), task.trampoline() + task.trampoline_size()}};
  for (const auto& r : keep_specials) keep.push_back({r.start, r.end});
  keep.insert(keep.end(), keep_vmas.begin(), keep_vmas.end());
  std::sort(keep.begin(), keep.end(), [](const AddressRange& a, const AddressRange& b) { return a.start < b.start; });
  uint64_t cursor = 0;
  for (const auto& k : keep) {
    if (k.start > cursor) RETURN_IF_ERROR_CTX(task.call("munmap", SYS_munmap, {cursor, k.start - cursor}), "unmap placeholder memory");
    cursor = std::max(cursor, k.end);
  }
  if (cursor < kUserAddressLimit)
    RETURN_IF_ERROR_CTX(task.call("munmap", SYS_munmap, {cursor, kUserAddressLimit - cursor}), "unmap placeholder memory");
  return {};
}

// The image's [vvar]/[vvar_vclock]/[vdso] ranges, and the busy ranges a moved vdso must avoid.
struct ImageSpecials {
  std::vector<NamedRange> target;
  std::vector<AddressRange> busy;
  std::optional<AddressRange> old_vdso;
};

ImageSpecials image_specials(const RemoteTask& task, const ProcessImage& process) {
  ImageSpecials out;
  out.busy.push_back({task.trampoline(), task.trampoline() + task.trampoline_size()});
  for (const auto& vma : process.mm.vmas()) {
    out.busy.push_back({vma.start(), vma.end()});
    if (const char* name = vdso_mapping_name(vma.kind())) out.target.push_back({name, vma.start(), vma.end()});
    if (vma.kind() == image::VMA_VDSO) out.old_vdso = AddressRange{vma.start(), vma.end()};
  }
  return out;
}

// With a redirect, this kernel's mappings keep their own layout and go to a free range, below the
// old [vdso] and within 1 GiB of it where there is room (the proxy's jumps are short then).
Result<std::vector<NamedRange>> redirected_target(const std::vector<NamedRange>& current, const ImageSpecials& image) {
  if (current.empty()) return current;
  uint64_t low = current.front().start, high = current.front().end;
  for (const auto& r : current) low = std::min(low, r.start), high = std::max(high, r.end);
  std::optional<uint64_t> at;
  if (image.old_vdso && image.old_vdso->start > kLowestMappable + (1ull << 30))
    at = find_free_range(image.busy, high - low, image.old_vdso->start - (1ull << 30), image.old_vdso->start);
  if (!at) at = find_free_range(image.busy, high - low, kLowestMappable);
  if (!at) return fail("no free address range for this kernel's vdso");
  std::vector<NamedRange> target = current;
  for (auto& r : target) r.start = r.start - low + *at, r.end = r.end - low + *at;
  return target;
}

// Maps the proxy in the old [vdso] range: the old vdso's bytes with a jump at each entry point to
// this kernel's function of the same name, executable and not writable, as a vdso is.
Result<> map_vdso_proxy(RemoteTask& task, const AddressRange& old_vdso, uint64_t new_vdso, const VdsoRedirect& vdso) {
  uint64_t size = old_vdso.end - old_vdso.start;
  ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, build_vdso_proxy(vdso.old_text, size, vdso.old_symbols, vdso.new_symbols, old_vdso.start, new_vdso));
  RETURN_IF_ERROR_CTX(task.call("mmap", SYS_mmap, {old_vdso.start, size, PROT_READ | PROT_WRITE,
                                                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, static_cast<uint64_t>(-1), 0}),
                      "map the vdso proxy at " + hex(old_vdso.start));
  iovec local{bytes.data(), bytes.size()}, remote{reinterpret_cast<void*>(old_vdso.start), bytes.size()};
  ssize_t n = ::process_vm_writev(task.host_pid(), &local, 1, &remote, 1, 0);
  if (n != static_cast<ssize_t>(bytes.size())) return fail_errno("write the vdso proxy");
  RETURN_IF_ERROR_CTX(task.call("mprotect", SYS_mprotect, {old_vdso.start, size, PROT_READ | PROT_EXEC}), "protect the vdso proxy");
  return {};
}

Result<> move_vdso(RemoteTask& task, const ProcessImage& process, const std::vector<NamedRange>& current, const VdsoRedirect& vdso) {
  auto log = logging::get("restore");
  ImageSpecials image = image_specials(task, process);
  std::vector<NamedRange> target = image.target;
  // A process without a [vdso] of its own calls none of this kernel's: nothing to redirect to.
  if (vdso.needed && image.old_vdso) {
    ASSIGN_OR_RETURN(target, redirected_target(current, image));
  }
  ASSIGN_OR_RETURN_CTX(SpecialMappingPlan plan, plan_special_moves(current, target, image.busy, kLowestMappable), "move vdso");
  for (const auto& move : plan.moves) {
    log->debug("pid {}: mremap {} {}-{} to {}", process.pid(), move.name, hex(move.from), hex(move.from + move.size), hex(move.to));
    RETURN_IF_ERROR_CTX(task.call("mremap", SYS_mremap, {move.from, move.size, move.size, MREMAP_MAYMOVE | MREMAP_FIXED, move.to}),
                        "move " + move.name + " to " + hex(move.to));
  }
  for (const auto& gone : plan.unmap)
    RETURN_IF_ERROR_CTX(task.call("munmap", SYS_munmap, {gone.start, gone.size()}), "unmap " + gone.name);
  if (!vdso.needed || !image.old_vdso) return {};
  auto new_vdso = std::find_if(target.begin(), target.end(), [](const NamedRange& r) { return r.name == "[vdso]"; });
  if (new_vdso == target.end()) return fail("this kernel gave the placeholder no [vdso] to redirect the image's entry points to");
  log->debug("pid {}: vdso proxy at {}, redirecting to this kernel's vdso at {}", process.pid(), hex(image.old_vdso->start), hex(new_vdso->start));
  return map_vdso_proxy(task, *image.old_vdso, new_vdso->start, vdso);
}

// Files mapped by several VMAs (a library has four or five) are opened once in the tracee.
class RemoteFiles {
 public:
  explicit RemoteFiles(RemoteTask& task) : task_(task) {}
  Result<uint64_t> open(const std::string& path, int flags) {
    auto key = std::make_pair(path, flags);
    if (auto it = fds_.find(key); it != fds_.end()) return it->second;
    task_.reset_scratch();
    ASSIGN_OR_RETURN(uint64_t remote_path, task_.put_string(path));
    ASSIGN_OR_RETURN(uint64_t fd, task_.call("open", SYS_openat, {static_cast<uint64_t>(AT_FDCWD), remote_path,
                                                                  static_cast<uint64_t>(flags | O_CLOEXEC), 0}));
    fds_[key] = fd;
    return fd;
  }
  Result<> close_all() {
    for (const auto& [key, fd] : fds_) RETURN_IF_ERROR(task_.call("close", SYS_close, {fd}));
    fds_.clear();
    return {};
  }

 private:
  RemoteTask& task_;
  std::map<std::pair<std::string, int>, uint64_t> fds_;
};

#ifndef MAP_DROPPABLE
constexpr uint64_t MAP_DROPPABLE = 0x08;
#endif
#ifndef MADV_GUARD_INSTALL
constexpr int MADV_GUARD_INSTALL = 102;
constexpr int MADV_GUARD_REMOVE = 103;
#endif
#ifndef MLOCK_ONFAULT
constexpr uint64_t MLOCK_ONFAULT = 1;
#endif
#ifndef SYS_mseal
constexpr long SYS_mseal = 462;
#endif
constexpr uint64_t kPrSetMemoryMerge = 67;

// mprotect to read-only takes VM_ACCOUNT (VmFlags ac) off an anonymous private mapping that was
// never written (one without an anon_vma; measured here on 6.18); one written once keeps it, with
// no page left. So an accountable read-only one that receives no page from the
// image (mapped writable for its accounting) is written once and the page dropped again, before
// it is made read-only.
Result<> keep_accounting(RemoteTask& task, const image::Vma& vma) {
  bool anonymous = vma.kind() == image::VMA_ANON_PRIVATE || vma.dev_zero();
  if (!anonymous || !vma.accountable() || (vma.prot() & PROT_WRITE) || (vma.flags() & MAP_SHARED)) return {};
  char zero = 0;
  iovec local{&zero, 1}, remote{reinterpret_cast<void*>(vma.start()), 1};
  if (::process_vm_writev(task.host_pid(), &local, 1, &remote, 1, 0) != 1) return fail_errno("write a page to keep the accounting");
  RETURN_IF_ERROR(task.call("madvise(MADV_DONTNEED)", SYS_madvise, {vma.start(), kPageSize, MADV_DONTNEED}));
  return {};
}

Result<> map_vma(RemoteTask& task, RemoteFiles& files, const std::map<uint64_t, int>& objects, const image::Vma& vma, uint32_t prot) {
  uint64_t flags = (vma.flags() & (MAP_SHARED | MAP_PRIVATE | MAP_GROWSDOWN | MAP_NORESERVE)) | MAP_FIXED;
  // A droppable mapping is a mapping type of its own, in place of MAP_PRIVATE.
  if (vma.droppable()) flags = (flags & ~static_cast<uint64_t>(MAP_PRIVATE)) | MAP_DROPPABLE;
  if (vma.kind() == image::VMA_SYSV_SHM) {
    // The whole segment (validation checked the size), recreated with its id in the tree's IPC
    // namespace by sysv_ipc.cc; the attachment gives read, and write unless SHM_RDONLY.
    uint64_t shmflg = (prot & PROT_WRITE ? 0 : SHM_RDONLY) | (prot & PROT_EXEC ? SHM_EXEC : 0);
    ASSIGN_OR_RETURN(uint64_t at, task.call("shmat", SYS_shmat, {vma.shmid(), vma.start(), shmflg}));
    if (at != vma.start()) return fail("shmat: attached at " + hex(at));
    if (!(prot & PROT_READ)) RETURN_IF_ERROR(task.call("mprotect", SYS_mprotect, {vma.start(), vma.end() - vma.start(), prot}));
    return {};
  }
  uint64_t fd = static_cast<uint64_t>(-1);
  uint64_t offset = 0;
  if (vma.object_id() != 0) {
    // The recreated shmem, memfd or deleted file, inherited from cryo at this number.
    auto object = objects.find(vma.object_id());
    if (object == objects.end()) return fail("memory object " + std::to_string(vma.object_id()) + " is not open in the placeholder");
    fd = static_cast<uint64_t>(object->second);
    offset = vma.pgoff();
  } else if (vma.dev_zero()) {
    // A private mapping of /dev/zero: anonymous memory with the file (and its offset) in maps.
    ASSIGN_OR_RETURN(fd, files.open("/dev/zero", O_RDONLY));
    offset = vma.pgoff();
  } else if (vma.kind() == image::VMA_ANON_PRIVATE || vma.kind() == image::VMA_ANON_SHARED) {
    flags |= MAP_ANONYMOUS;
  } else {
    int access = O_RDONLY;
    if (vma.kind() == image::VMA_FILE_SHARED && ((vma.prot() & PROT_WRITE) || vma.may_write())) access = O_RDWR;
    ASSIGN_OR_RETURN(fd, files.open(vma.path(), access));
    offset = vma.pgoff();
  }
  ASSIGN_OR_RETURN(uint64_t got, task.call("mmap", SYS_mmap, {vma.start(), vma.end() - vma.start(), prot, flags, fd, offset}));
  if (got != vma.start()) return fail("mmap: placed at " + hex(got));
  return {};
}

Result<> madvise(RemoteTask& task, uint64_t start, uint64_t end, int advice, std::string_view name) {
  RETURN_IF_ERROR(task.call("madvise(" + std::string(name) + ")", SYS_madvise, {start, end - start, static_cast<uint64_t>(advice)}));
  return {};
}

bool has(const image::Vma& vma, const image::VmFlagRule& rule) { return rule.get && (vma.*rule.get)(); }

// The advice of the table's rows of one kind that the mapping has, in table order.
Result<> apply_advice(RemoteTask& task, const image::Vma& vma, image::VmFlagHandling when) {
  for (const auto& rule : image::vm_flag_rules())
    if (rule.handling == when && has(vma, rule))
      RETURN_IF_ERROR(madvise(task, vma.start(), vma.end(), rule.advice, rule.mnemonic));
  return {};
}

// Copies the stored page at `address` (if the image has one) into the tracee again, through
// /proc/PID/mem, which writes through any protection.
Result<> refill_page(pid_t pid, const image::Pagemap& pagemap, image::PageData& pages, uint64_t address) {
  for (const auto& run : pagemap.runs()) {
    if (address < run.vaddr() || address >= run.vaddr() + run.nr_pages() * kPageSize) continue;
    std::string path = "/proc/" + std::to_string(pid) + "/mem";
    UniqueFd mem(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!mem.valid()) return fail_errno("open(" + path + ")");
    char data[kPageSize];
    RETURN_IF_ERROR(pages.copy(run.offset() + (address - run.vaddr()), kPageSize, data));
    if (::pwrite(mem.get(), data, kPageSize, static_cast<off_t>(address)) != static_cast<ssize_t>(kPageSize))
      return fail_errno("pwrite(" + path + " at " + hex(address) + ")");
    return {};
  }
  return {};
}

// Guards, once the pages are in place and every other advice has given each mapping its final
// flags (VmFlags gu is sticky: set on a mapping whose neighbours still had the same flags, the
// kernel merges them and spreads it). A mapping whose guards were all removed again keeps gu:
// a guard installed and removed on its first page gives it that history; the guard zapped the
// page, which is then copied in again.
Result<> apply_guards(RemoteTask& task, const image::Vma& vma, const image::Pagemap& pagemap, image::PageData& pages) {
  if (!vma.maybe_guard()) return {};
  if (vma.guard_regions_size() == 0) {
    RETURN_IF_ERROR(madvise(task, vma.start(), vma.start() + kPageSize, MADV_GUARD_INSTALL, "MADV_GUARD_INSTALL"));
    RETURN_IF_ERROR(madvise(task, vma.start(), vma.start() + kPageSize, MADV_GUARD_REMOVE, "MADV_GUARD_REMOVE"));
    RETURN_IF_ERROR(refill_page(task.host_pid(), pagemap, pages, vma.start()));
  }
  for (const auto& guard : vma.guard_regions())
    RETURN_IF_ERROR(madvise(task, guard.start(), guard.end(), MADV_GUARD_INSTALL, "MADV_GUARD_INSTALL"));
  return {};
}

// Once the pages are in place and the protection is final.
Result<> apply_after_fill(RemoteTask& task, const image::Vma& vma, bool ksm_merge_any) {
  RETURN_IF_ERROR(apply_advice(task, vma, image::VmFlagHandling::MadviseAfterFill));
  // With PR_SET_MEMORY_MERGE every new eligible mapping is mergeable; one the process made
  // unmergeable again must say so once more.
  if (ksm_merge_any && !vma.madv_mergeable()) RETURN_IF_ERROR(madvise(task, vma.start(), vma.end(), MADV_UNMERGEABLE, "MADV_UNMERGEABLE"));
  return {};
}

Result<> apply_lock(RemoteTask& task, const image::Vma& vma) {
  if (vma.lock_onfault()) {
    RETURN_IF_ERROR(task.call("mlock2(MLOCK_ONFAULT)", SYS_mlock2, {vma.start(), vma.end() - vma.start(), MLOCK_ONFAULT}));
  } else if (vma.locked()) {
    // A lock that did not take would be a silent difference (RLIMIT_MEMLOCK is checked against
    // the placeholder's, cryo's, creds): the restore fails instead.
    RETURN_IF_ERROR(task.call("mlock", SYS_mlock, {vma.start(), vma.end() - vma.start()}));
  }
  return {};
}

// A VMA the plan keeps must be where the placeholder mapped it: inside one private anonymous
// mapping of the placeholder (a seed, or one inherited from the parent's placeholder).
Result<> check_in_place(const std::vector<MapsEntry>& placeholder, const std::vector<AddressRange>& keep) {
  for (const auto& range : keep) {
    bool found = false;
    for (const auto& e : placeholder)
      if (e.start <= range.start && range.end <= e.end && !e.shared && e.inode == 0) found = true;
    if (!found) return fail("shared memory " + hex(range.start) + "-" + hex(range.end) + " is not in place in the placeholder");
  }
  return {};
}

// Pages of kept VMAs that the process does not have: the placeholder inherited them from its
// parent. MADV_DONTNEED gives anonymous memory back its zero pages. Only present pages are looked at.
Result<> drop_foreign_pages(RemoteTask& task, const ProcessImage& process, const std::vector<AddressRange>& keep) {
  if (keep.empty()) return {};
  std::string path = "/proc/" + std::to_string(task.host_pid()) + "/pagemap";
  UniqueFd pagemap(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!pagemap.valid()) return fail_errno("open(" + path + ")");
  std::vector<PageRange> present;
  for (const auto& range : keep) RETURN_IF_ERROR(find_private_pages(pagemap.get(), range.start, range.end, present));
  std::vector<AddressRange> resident;
  for (const auto& r : present) resident.push_back({r.start, r.end});
  for (const auto& r : subtract_ranges(resident, stored_ranges(process.pagemap)))
    RETURN_IF_ERROR_CTX(task.call("madvise(MADV_DONTNEED)", SYS_madvise, {r.start, r.end - r.start, MADV_DONTNEED}),
                        "drop the parent's pages at " + hex(r.start) + "-" + hex(r.end));
  return {};
}

}  // namespace

Result<uint64_t> choose_trampoline(const std::vector<MapsEntry>& placeholder, const image::MemoryMap& image, uint64_t size) {
  std::vector<AddressRange> busy;
  for (const auto& e : placeholder) busy.push_back({e.start, e.end});
  for (const auto& vma : image.vmas()) busy.push_back({vma.start(), vma.end()});
  auto address = find_free_range(busy, size, kLowestMappable);
  if (!address) return fail("no address is free in both the placeholder and the image for the trampoline");
  return *address;
}

Result<> restore_memory(RemoteTask& task, const ProcessImage& process, const DirFd& image_dir,
                        const std::vector<MapsEntry>& placeholder, const std::map<uint64_t, int>& objects,
                        const PreparedMemory& prepared, const VdsoRedirect& vdso, PageServer* lazy) {
  auto log = logging::get("restore");
  auto started = std::chrono::steady_clock::now();
  const auto& vmas = process.mm.vmas();
  auto kept = [&](int i) { return static_cast<size_t>(i) < prepared.kept.size() && prepared.kept[static_cast<size_t>(i)]; };
  std::vector<AddressRange> keep;
  for (int i = 0; i < vmas.size(); ++i)
    if (kept(i)) keep.push_back({vmas[i].start(), vmas[i].end()});
  RETURN_IF_ERROR(check_in_place(placeholder, keep));

  std::vector<NamedRange> specials = vdso_mappings(placeholder);
  RETURN_IF_ERROR(unmap_placeholder(task, specials, keep));
  RETURN_IF_ERROR(move_vdso(task, process, specials, vdso));
  // Before the mappings, as in the process: every one made after it is mergeable.
  bool merge_any = process.mm.ksm_merge_any();
  if (merge_any) RETURN_IF_ERROR_CTX(task.call("prctl(PR_SET_MEMORY_MERGE)", SYS_prctl, {kPrSetMemoryMerge, 1}), "KSM merge-any");

  // What the kept VMAs hold beyond the process's own pages (the parent's, inherited) must go.
  RETURN_IF_ERROR(drop_foreign_pages(task, process, keep));
  // The pages to write: all stored ones but those in place already.
  std::vector<image::PageRun> runs = runs_within(process.pagemap, subtract_ranges(stored_ranges(process.pagemap), prepared.final_pages));
  // With --lazy, the pages of the lazy mappings are the page server's (lazy_pages.h).
  std::vector<image::PageRun> lazy_runs;
  std::vector<AddressRange> lazy_ranges;
  if (lazy) runs = split_lazy_runs(process.mm, prepared.kept, runs, &lazy_runs, &lazy_ranges);

  // Which VMAs receive stored pages: those are mapped writable until filled.
  std::vector<bool> filled(static_cast<size_t>(vmas.size()), false);
  size_t k = 0;
  for (const auto& run : runs) {
    uint64_t end = run.vaddr() + run.nr_pages() * kPageSize;
    while (k < filled.size() && vmas[static_cast<int>(k)].end() <= run.vaddr()) ++k;
    for (size_t j = k; j < filled.size() && vmas[static_cast<int>(j)].start() < end; ++j) filled[j] = true;
  }
  const std::vector<bool> receives_pages = filled;

  RemoteFiles files(task);
  uint64_t kept_bytes = 0;
  for (int i = 0; i < vmas.size(); ++i) {
    const auto& vma = vmas[i];
    if (is_special(vma.kind())) continue;
    // A private mapping that is not writable has VmFlags ac only if it was writable once: it is
    // mapped writable first too, and mprotect keeps the accounting.
    if (vma.accountable() && !(vma.prot() & PROT_WRITE) && !(vma.flags() & MAP_SHARED)) filled[static_cast<size_t>(i)] = true;
    uint32_t prot = filled[static_cast<size_t>(i)] ? vma.prot() | PROT_READ | PROT_WRITE : vma.prot();
    if (kept(i)) {
      // Mapped read-write by the placeholder that seeded it, with this VMA's flags and huge page advice.
      kept_bytes += vma.end() - vma.start();
      RETURN_IF_ERROR_CTX(task.call("mprotect", SYS_mprotect, {vma.start(), vma.end() - vma.start(), prot}), describe(vma));
      continue;
    }
    RETURN_IF_ERROR_CTX(map_vma(task, files, objects, vma, prot), describe(vma));
    // Before the pages arrive, so that they land in huge pages right away.
    RETURN_IF_ERROR_CTX(apply_advice(task, vma, image::VmFlagHandling::MadviseBeforeFill), describe(vma));
  }
  RETURN_IF_ERROR_CTX(files.close_all(), "close mapped files");
  // Registered before anything touches them, so that every page of theirs comes from the server.
  if (lazy) RETURN_IF_ERROR_CTX(hand_to_page_server(task, process, image_dir, lazy_runs, lazy_ranges, *lazy), "lazy pages");

  // Validated: the pagemap's sizes are those of the file the inventory lists.
  ASSIGN_OR_RETURN(image::PageData pages, image::PageData::open(image_dir, process.pages_name, process.pagemap, lazy == nullptr));
  auto mapped = std::chrono::steady_clock::now();
  RETURN_IF_ERROR(fill_pages(task.host_pid(), runs, pages));
  auto copied = std::chrono::steady_clock::now();

  for (int i = 0; i < vmas.size(); ++i) {
    const auto& vma = vmas[i];
    if (is_special(vma.kind())) continue;
    // One in place already came from a process that had written it: it has its anon_vma.
    if (filled[static_cast<size_t>(i)] && !receives_pages[static_cast<size_t>(i)] && !kept(i))
      RETURN_IF_ERROR_CTX(keep_accounting(task, vma), describe(vma));
    if (filled[static_cast<size_t>(i)] && (vma.prot() | PROT_READ | PROT_WRITE) != vma.prot())
      RETURN_IF_ERROR_CTX(task.call("mprotect", SYS_mprotect, {vma.start(), vma.end() - vma.start(), vma.prot()}), describe(vma));
    RETURN_IF_ERROR_CTX(apply_after_fill(task, vma, merge_any), describe(vma));
  }
  // Locks set mappings apart as much as advice does, so they come before the guards, except on the
  // mappings with guards, which MADV_GUARD_INSTALL would refuse once locked.
  for (const auto& vma : vmas)
    if (!vma.maybe_guard()) RETURN_IF_ERROR_CTX(apply_lock(task, vma), describe(vma));
  for (const auto& vma : vmas) RETURN_IF_ERROR_CTX(apply_guards(task, vma, process.pagemap, pages), describe(vma));
  for (const auto& vma : vmas)
    if (vma.maybe_guard()) RETURN_IF_ERROR_CTX(apply_lock(task, vma), describe(vma));
  // Last: a sealed mapping refuses mprotect, madvise(MADV_DONTNEED) and munmap from now on.
  for (const auto& vma : vmas)
    if (vma.sealed()) RETURN_IF_ERROR_CTX(task.call("mseal", SYS_mseal, {vma.start(), vma.end() - vma.start(), 0}), describe(vma));
  // mm def_flags: every mapping the process makes from now on is locked. Nothing of the image is
  // mapped after this; the trampoline and scratch pages restore maps later are unmapped again.
  if (process.mm.mlockall_flags() != 0)
    RETURN_IF_ERROR_CTX(task.call("mlockall", SYS_mlockall, {process.mm.mlockall_flags()}), "mlockall");
  auto done = std::chrono::steady_clock::now();
  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  uint64_t written = 0;
  for (const auto& run : runs) written += run.nr_pages() * kPageSize;
  log->debug("pid {}: {} mappings, {} of {} bytes of pages written ({} mappings, {} bytes, in place already): mapped in {:.2f} ms, "
             "copied in {:.2f} ms, protected in {:.2f} ms",
             process.pid(), vmas.size(), written, process.pagemap.pages_file_size(), keep.size(), kept_bytes, ms(mapped - started),
             ms(copied - mapped), ms(done - copied));
  return {};
}

}  // namespace cryo::restore
