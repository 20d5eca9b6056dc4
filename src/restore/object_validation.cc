// The memory-object part of image validation: objects.img, the page runs that fill each object
// from objpages.img, and every mapping and fd that refers to an object.
#include <fcntl.h>
#include <sys/mman.h>

#include <map>
#include <set>

#include "base/page_size.h"
#include "image/object_limits.h"
#include "restore/image_validation.h"

namespace cryo::restore {
namespace {

constexpr int kMaxObjects = 1 << 16;  // Each is an open fd in cryo while the tree is restored.
constexpr uint32_t kKnownSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | 0x20;  // 0x20: F_SEAL_EXEC.

uint64_t page_round_up(uint64_t v) { return (v + kPageSize - 1) & ~(kPageSize - 1); }

const char* kind_name(image::ObjectKind kind) {
  switch (kind) {
    case image::OBJECT_SHMEM: return "shared anonymous memory";
    case image::OBJECT_MEMFD: return "memfd";
    case image::OBJECT_DELETED_FILE: return "deleted file";
    default: return "object";
  }
}

void validate_object(const image::MemoryObject& object, uint64_t pages_size, std::vector<std::string>* problems) {
  std::string name = "memory object " + std::to_string(object.id());
  auto problem = [&](const std::string& text) { problems->push_back(name + ": " + text); };
  switch (object.kind()) {
    case image::OBJECT_SHMEM:
      if (object.size() == 0 || object.size() % kPageSize) problem("shared anonymous memory of " + std::to_string(object.size()) + " bytes is not whole pages");
      if (!object.name().empty()) problem("shared anonymous memory has a name");
      break;
    case image::OBJECT_MEMFD:
      if (object.name().size() > image::kMaxMemfdName || object.name().find('/') != std::string::npos ||
          object.name().find('\0') != std::string::npos)
        problem("memfd name '" + object.name() + "' is not one memfd_create accepts");
      break;
    case image::OBJECT_DELETED_FILE:
      if (!is_clean_absolute_path(object.name()) || object.name() == "/")
        problem("deleted file path '" + object.name() + "' is not a clean absolute path");
      break;
    default:
      problem("unknown kind " + std::to_string(static_cast<int>(object.kind())));
      return;
  }
  if (object.size() > image::kMaxObjectBytes)
    problem(std::string(kind_name(object.kind())) + " of " + std::to_string(object.size()) + " bytes is above the " +
            std::to_string(image::kMaxObjectBytes >> 40) + " TiB cryo restores");
  if (object.seals() & ~kKnownSeals) problem("seals " + std::to_string(object.seals()) + " has unknown bits");
  if (object.seals() != 0 && object.kind() != image::OBJECT_MEMFD) problem("only a memfd has seals");
  if (object.mode() > 07777) problem("mode " + std::to_string(object.mode()) + " is not permission bits");
  validate_page_runs(object.runs(), object.size(), pages_size, problem);
}

}  // namespace

void validate_page_runs(const google::protobuf::RepeatedPtrField<image::ObjectRun>& runs, uint64_t size, uint64_t pages_size,
                        const std::function<void(const std::string&)>& problem) {
  if (runs.size() > kMaxPageRuns) {
    problem("has too many page runs");
    return;
  }
  uint64_t limit = page_round_up(std::min<uint64_t>(size, image::kMaxObjectBytes));
  uint64_t previous_end = 0;
  for (const auto& run : runs) {
    std::string where = "page run at offset " + std::to_string(run.offset());
    if (run.nr_pages() == 0 || run.nr_pages() > limit / kPageSize || run.offset() % kPageSize || run.file_offset() % kPageSize) {
      problem(where + " is empty, too long or not page aligned");
      continue;
    }
    uint64_t bytes = run.nr_pages() * kPageSize;
    if (run.offset() > limit || bytes > limit - run.offset()) problem(where + " reaches beyond the object's size");
    if (run.offset() < previous_end) problem(where + " overlaps or is out of order with the run before");
    previous_end = run.offset() + bytes;
    if (run.file_offset() > pages_size || bytes > pages_size - run.file_offset())
      problem(where + " reads beyond the end of the object pages file");
  }
}

void validate_objects(const ImageSet& set, std::vector<std::string>* problems) {
  const auto& objects = set.objects;
  if (objects.pages_file_size() != set.object_pages_size)
    problems->push_back("objects.img says the object pages file holds " + std::to_string(objects.pages_file_size()) +
                        " bytes, the inventory " + std::to_string(set.object_pages_size));
  if (objects.objects_size() > kMaxObjects) {
    problems->push_back("objects.img has " + std::to_string(objects.objects_size()) + " memory objects, more than cryo accepts");
    return;
  }
  std::map<uint64_t, const image::MemoryObject*> by_id;
  for (const auto& object : objects.objects()) {
    if (object.id() == 0 || !by_id.emplace(object.id(), &object).second)
      problems->push_back("memory object id " + std::to_string(object.id()) + " is zero or repeated");
    validate_object(object, set.object_pages_size, problems);
  }

  for (const auto& process : set.processes) {
    if (process.zombie()) continue;
    std::string pid = "pid " + std::to_string(process.pid()) + ": ";
    for (const auto& vma : process.mm.vmas()) {
      if (vma.object_id() == 0) continue;
      std::string name = pid + "mapping at " + std::to_string(vma.start()) + " of memory object " + std::to_string(vma.object_id());
      auto it = by_id.find(vma.object_id());
      if (it == by_id.end()) {
        problems->push_back(name + ": no such object in objects.img");
        continue;
      }
      const image::MemoryObject& object = *it->second;
      bool shmem = object.kind() == image::OBJECT_SHMEM;
      bool fits = shmem ? vma.kind() == image::VMA_ANON_SHARED
                        : vma.kind() == image::VMA_FILE_PRIVATE || vma.kind() == image::VMA_FILE_SHARED;
      if (!fits) problems->push_back(name + ": a mapping of this kind cannot map " + kind_name(object.kind()));
      if (vma.pgoff() % kPageSize || vma.pgoff() > image::kMaxObjectBytes)
        problems->push_back(name + ": offset " + std::to_string(vma.pgoff()) + " is not page aligned or beyond any object");
      // Shared anonymous memory cannot grow; a file mapping may reach past the end (access there is SIGBUS).
      else if (shmem && vma.end() > vma.start() && vma.end() - vma.start() > object.size() - std::min(object.size(), vma.pgoff()))
        problems->push_back(name + ": reaches beyond the object's " + std::to_string(object.size()) + " bytes");
      // The kernel refuses a new writable shared mapping of a memfd sealed against future writes.
      if ((object.seals() & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) && vma.kind() == image::VMA_FILE_SHARED && (vma.prot() & PROT_WRITE))
        problems->push_back(name + ": a writable shared mapping of a write-sealed memfd, which cryo cannot restore yet");
    }
    for (const auto& fd : process.files.fds()) {
      bool wants_object = fd.kind() == image::FD_MEMFD || fd.kind() == image::FD_DELETED_FILE;
      if (!wants_object && fd.object_id() == 0) continue;
      std::string name = pid + "fd " + std::to_string(fd.fd());
      auto it = fd.object_id() == 0 ? by_id.end() : by_id.find(fd.object_id());
      if (!wants_object) {
        problems->push_back(name + ": a fd of this kind names memory object " + std::to_string(fd.object_id()));
      } else if (it == by_id.end()) {
        problems->push_back(name + ": memory object " + std::to_string(fd.object_id()) + " is not in objects.img");
      } else if ((fd.kind() == image::FD_MEMFD) != (it->second->kind() == image::OBJECT_MEMFD) ||
                 (fd.kind() == image::FD_DELETED_FILE) != (it->second->kind() == image::OBJECT_DELETED_FILE)) {
        problems->push_back(name + ": memory object " + std::to_string(fd.object_id()) + " is a " + kind_name(it->second->kind()));
      }
    }
  }
}

}  // namespace cryo::restore
