#include "dump/memory_map.h"

#include <sys/mman.h>

#include <cstdio>

#include "dump/file_identity.h"
#include "dump/memory_objects.h"

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
  if (path.starts_with("[anon_shmem:")) return fail(unsupported(e, "named shared anonymous memory"));
  if (path.empty() || path == "[heap]" || path == "[stack]" || path.starts_with("[anon:")) {
    if (e.shared) return fail(unsupported(e, "shared anonymous memory"));
    return image::VMA_ANON_PRIVATE;
  }
  if (path.starts_with("[")) return fail(unsupported(e, "a special kernel mapping"));
  // MAP_SHARED|MAP_ANONYMOUS memory is backed by an unlinked shmem file named /dev/zero.
  // memfds and deleted files are stored as memory objects (memory_objects.h) and mapped like files.
  if (path.ends_with(kDeleted)) {
    if (path.starts_with("/SYSV")) return fail(unsupported(e, "System V shared memory"));
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
  // A file whose name really ends in " (deleted)" still has a link.
  ASSIGN_OR_RETURN(struct stat st, stat_path(source));
  if (st.st_nlink != 0) return false;
  if (!S_ISREG(st.st_mode)) return fail(unsupported(e, "a mapping of a deleted device or special file"));
  ASSIGN_OR_RETURN(uint64_t id, objects.add(image::OBJECT_DELETED_FILE, source, *path, what));
  vma.set_object_id(id);
  return true;
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
    vma->set_madv_hugepage(e.vm_flags.hugepage);
    vma->set_madv_nohugepage(e.vm_flags.nohugepage);
    vma->set_madv_dontfork(e.vm_flags.dontcopy);
    vma->set_madv_dontdump(e.vm_flags.dontdump);
    vma->set_locked(e.vm_flags.locked);
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
      // rebuilds it from the kind alone. A private /dev/zero mapping is recorded as plain anonymous memory.
      if (e.path.starts_with("[")) vma->set_path(e.path);
    }
  }
  return mm;
}

std::vector<const image::Vma*> special_mappings(const image::MemoryMap& mm) {
  std::vector<const image::Vma*> out;
  for (const auto& vma : mm.vmas())
    if (is_special(vma.kind())) out.push_back(&vma);
  return out;
}

}  // namespace cryo::dump
