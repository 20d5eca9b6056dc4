#include "dump/memory_map.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdio>

#include "base/file_util.h"
#include "base/unique_fd.h"

#include "image/file_identity.h"
#include "dump/memory_objects.h"
#include "image/vm_flag_table.h"
#include "kernel/proc_pagemap.h"

namespace cryo::dump {
namespace {

constexpr std::string_view kDeleted = " (deleted)";

Error unsupported(const MapsEntry& e, const std::string& what) {
  return make_error(describe_mapping(e) + " is " + what + ", which cryo cannot dump yet");
}

bool is_special(image::VmaKind kind) {
  return kind == image::VMA_VDSO || kind == image::VMA_VVAR || kind == image::VMA_VVAR_VCLOCK || kind == image::VMA_VSYSCALL;
}

}  // namespace

std::string describe_mapping(const MapsEntry& e) {
  char range[64];
  std::snprintf(range, sizeof range, "mapping %lx-%lx", static_cast<unsigned long>(e.start), static_cast<unsigned long>(e.end));
  return e.path.empty() ? std::string(range) + " (anonymous)" : std::string(range) + " (" + e.path + ")";
}

Result<image::VmaKind> classify_vma(const MapsEntry& e) {
  const std::string& path = e.path;
  if (path == "[vdso]") return image::VMA_VDSO;
  if (path == "[vvar]") return image::VMA_VVAR;
  if (path == "[vvar_vclock]") return image::VMA_VVAR_VCLOCK;
  if (path == "[vsyscall]") return image::VMA_VSYSCALL;
  if (e.vm_flags.io || e.vm_flags.pfnmap) return fail(unsupported(e, "device memory"));
  if (e.vm_flags.hugetlb) return fail(unsupported(e, "hugetlbfs memory"));
  if (path.starts_with("/[aio]")) return fail(unsupported(e, "the ring of an AIO context (io_setup)"));
  for (const auto& mnemonic : e.vm_flags.all) {
    const image::VmFlagRule* rule = image::vm_flag_rule(mnemonic);
    if (rule == nullptr) return fail(unsupported(e, "marked with VmFlags '" + mnemonic + "', a flag unknown to cryo"));
    if (rule->handling == image::VmFlagHandling::Refused) return fail(unsupported(e, std::string(rule->refusal)));
    if (rule->handling == image::VmFlagHandling::KernelOnly)
      return fail(unsupported(e, "marked with VmFlags '" + mnemonic + "' (" + std::string(rule->meaning) +
                                     "), which only the kernel's own mappings have"));
  }
  if (e.vm_flags.droppable && e.shared) return fail(unsupported(e, "a shared droppable mapping"));
  if (path.starts_with("[anon_shmem:")) return fail(unsupported(e, "named shared anonymous memory"));
  if (path.empty() || path == "[heap]" || path == "[stack]" || path.starts_with("[anon:")) {
    if (e.shared) return fail(unsupported(e, "shared anonymous memory"));
    return image::VMA_ANON_PRIVATE;
  }
  if (path.starts_with("[")) return fail(unsupported(e, "a special kernel mapping"));
  // MAP_SHARED|MAP_ANONYMOUS memory is backed by an unlinked shmem file named /dev/zero.
  // memfds and deleted files are stored as memory objects (memory_objects.h) and mapped like files.
  if (path.ends_with(kDeleted)) {
    // The segment's id is the inode; whether it can be dumped depends on the IPC namespace
    // (dump.cc, preflight.cc: only the tree's own).
    if (path.starts_with("/SYSV")) {
      if (!e.shared) return fail(unsupported(e, "a private mapping of System V shared memory"));
      return image::VMA_SYSV_SHM;
    }
    if (path.starts_with("/dev/zero ")) {
      if (!e.shared) return fail(unsupported(e, "a private mapping of shared anonymous memory"));
      return image::VMA_ANON_SHARED;
    }
    if (e.inode == 0) return fail(unsupported(e, "an unknown kind of mapping"));
    return e.shared ? image::VMA_FILE_SHARED : image::VMA_FILE_PRIVATE;
  }
  // A private mapping of /dev/zero is plain anonymous memory to the kernel.
  if (path == "/dev/zero" && !e.shared) return image::VMA_ANON_PRIVATE;
  if (e.inode == 0) return fail(unsupported(e, "an unknown kind of mapping"));
  return e.shared ? image::VMA_FILE_SHARED : image::VMA_FILE_PRIVATE;
}

namespace {

// Records the memory object behind a mapping of shared anonymous memory, a memfd or a deleted file;
// false for a mapping of an ordinary file.
Result<bool> add_object(pid_t pid, const MapsEntry& e, image::VmaKind kind, MemoryObjectCollector& objects, image::Vma& vma) {
  std::string source = "/proc/" + std::to_string(pid) + "/map_files/" + e.map_files_name();
  std::string what = "pid " + std::to_string(pid) + ": " + describe_mapping(e);
  if (kind == image::VMA_ANON_SHARED) {
    ASSIGN_OR_RETURN(uint64_t id, objects.add(image::OBJECT_SHMEM, source, "", what));
    vma.set_object_id(id);
    vma.set_shmid(e.inode);
    return true;
  }
  if (auto name = memfd_name(e.path)) {
    ASSIGN_OR_RETURN(uint64_t id, objects.add(image::OBJECT_MEMFD, source, *name, what));
    vma.set_object_id(id);
    return true;
  }
  auto path = deleted_path(e.path);
  if (!path) return false;
  if (filesystem_magic(source) == SECRETMEM_MAGIC) return fail(unsupported(e, kSecretMemory));
  // A file whose name really ends in " (deleted)" still has a link.
  ASSIGN_OR_RETURN(struct stat st, stat_path(source));
  if (st.st_nlink != 0) return false;
  if (!S_ISREG(st.st_mode)) return fail(unsupported(e, "a mapping of a deleted device or special file"));
  ASSIGN_OR_RETURN(uint64_t id, objects.add(image::OBJECT_DELETED_FILE, source, *path, what));
  vma.set_object_id(id);
  return true;
}

// The guard pages (MADV_GUARD_INSTALL) of a mapping whose VmFlags say it may have some: they are
// no VMA of their own, only a marker in the page tables that pagemap shows.
Result<> collect_guard_regions(pid_t pid, image::Vma& vma) {
  std::string path = "/proc/" + std::to_string(pid) + "/pagemap";
  UniqueFd pagemap(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!pagemap.valid()) return fail_errno("open(" + path + ")");
  std::vector<PageRange> guards;
  RETURN_IF_ERROR_CTX(find_guard_pages(pagemap.get(), vma.start(), vma.end(), guards), "pid " + std::to_string(pid));
  for (const auto& g : guards) {
    auto* range = vma.add_guard_regions();
    range->set_start(g.start);
    range->set_end(g.end);
  }
  return {};
}

// mm-wide state that smaps shows on no mapping of its own.
Result<> collect_ksm_state(pid_t pid, image::MemoryMap& mm) {
  // Absent without CONFIG_KSM: then nothing can be merge-any.
  auto text = read_file("/proc/" + std::to_string(pid) + "/ksm_stat");
  if (!text) return {};
  mm.set_ksm_merge_any(text->find("ksm_merge_any: yes") != std::string::npos);
  return {};
}

}  // namespace

Result<image::MemoryMap> collect_memory_map(pid_t pid, const std::vector<MapsEntry>& maps, MemoryObjectCollector& objects) {
  image::MemoryMap mm;
  for (const auto& e : maps) {
    ASSIGN_OR_RETURN(image::VmaKind kind, classify_vma(e));
    image::Vma* vma = mm.add_vmas();
    vma->set_start(e.start);
    vma->set_end(e.end);
    vma->set_prot((e.read ? PROT_READ : 0) | (e.write ? PROT_WRITE : 0) | (e.exec ? PROT_EXEC : 0));
    uint32_t flags = e.shared ? MAP_SHARED : MAP_PRIVATE;
    if (kind == image::VMA_ANON_PRIVATE) flags |= MAP_ANONYMOUS;
    if (e.vm_flags.growsdown) flags |= MAP_GROWSDOWN;
    if (e.vm_flags.noreserve) flags |= MAP_NORESERVE;
    vma->set_flags(flags);
    vma->set_pgoff(e.pgoff);
    vma->set_kind(kind);
    // Every flag restore gives back has its field in the table; the kernel's special mappings keep
    // the kernel's own flags.
    if (!is_special(kind))
      for (const auto& mnemonic : e.vm_flags.all)
        if (const image::VmFlagRule* rule = image::vm_flag_rule(mnemonic); rule && rule->set) (vma->*rule->set)(true);
    if (vma->maybe_guard()) RETURN_IF_ERROR(collect_guard_regions(pid, *vma));
    if (kind == image::VMA_SYSV_SHM) {
      // shmat gives "may write" exactly when it attaches for writing; restore attaches with
      // SHM_RDONLY when the mapping is not writable now, so the two must agree.
      bool may_write = std::find(e.vm_flags.all.begin(), e.vm_flags.all.end(), "mw") != e.vm_flags.all.end();
      if (may_write != e.write) {
        mm.mutable_vmas()->RemoveLast();
        return fail(unsupported(e, may_write ? "System V shared memory attached for writing, then made read-only with mprotect"
                                             : "System V shared memory attached read-only, with write permission"));
      }
      vma->set_shmid(e.inode);
      vma->set_path(e.path);  // Names the key the segment was created with.
      continue;
    }
    if (kind == image::VMA_ANON_SHARED || kind == image::VMA_FILE_PRIVATE || kind == image::VMA_FILE_SHARED) {
      ASSIGN_OR_RETURN(bool object, add_object(pid, e, kind, objects, *vma));
      if (object) {
        vma->set_path(e.path);  // For messages; restore maps the recreated object.
        continue;
      }
    }
    if (kind == image::VMA_FILE_PRIVATE || kind == image::VMA_FILE_SHARED) {
      vma->set_path(e.path);
      ASSIGN_OR_RETURN(struct stat st, stat_path("/proc/" + std::to_string(pid) + "/map_files/" + e.map_files_name()));
      if (!S_ISREG(st.st_mode)) {
        mm.mutable_vmas()->RemoveLast();
        return fail(unsupported(e, "a mapping of a device or special file"));
      }
      set_identity(st, vma->mutable_file());
    } else if (is_special(kind) || kind == image::VMA_ANON_PRIVATE) {
      // Anonymous memory keeps its name ([heap], [stack], [anon:...]) for messages; restore
      // rebuilds it from the kind alone. A private /dev/zero mapping is anonymous memory to the
      // kernel, but /proc/PID/maps names the file, so restore maps it from /dev/zero again.
      if (e.path.starts_with("[")) vma->set_path(e.path);
      if (e.path == "/dev/zero") vma->set_dev_zero(true);
    }
  }
  RETURN_IF_ERROR(collect_ksm_state(pid, mm));
  return mm;
}

Error host_sysv_refusal(const MapsEntry& e) {
  return unsupported(e, "System V shared memory of the host's IPC namespace (only a tree with its own, as cryo run gives, "
                        "has its segments dumped)");
}

std::vector<const image::Vma*> special_mappings(const image::MemoryMap& mm) {
  std::vector<const image::Vma*> out;
  for (const auto& vma : mm.vmas())
    if (is_special(vma.kind())) out.push_back(&vma);
  return out;
}

}  // namespace cryo::dump
