#include "restore/memory_objects.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/file_util.h"
#include "base/page_size.h"

namespace cryo::restore {
namespace {

// The most of an object's bytes cryo holds at once while filling it: objects can be far larger than
// cryo's own memory should grow, so a run is copied piece by piece.
constexpr uint64_t kCopyChunk = 4 << 20;

// Writes the object's stored pages through `write(offset, data, bytes)`, in pieces of at most
// kCopyChunk bytes, never past its size. Pages outside the runs are left alone: holes stay holes.
template <typename Write>
Result<> copy_runs(const image::MemoryObject& object, int pages_fd, Write&& write) {
  std::vector<char> buffer;
  for (const auto& run : object.runs()) {
    uint64_t bytes = std::min<uint64_t>(run.nr_pages() * kPageSize, object.size() - std::min(object.size(), run.offset()));
    for (uint64_t done = 0; done < bytes;) {
      uint64_t piece = std::min(bytes - done, kCopyChunk);
      if (buffer.size() < piece) buffer.resize(piece);
      RETURN_IF_ERROR(pread_exact(pages_fd, buffer.data(), piece, run.file_offset() + done, "object pages file"));
      RETURN_IF_ERROR(write(run.offset() + done, buffer.data(), piece));
      done += piece;
    }
  }
  return {};
}

Result<> pwrite_all(int fd, uint64_t offset, const char* data, uint64_t bytes) {
  while (bytes > 0) {
    ssize_t n = ::pwrite(fd, data, bytes, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail_errno("pwrite at " + std::to_string(offset));
    data += n;
    offset += static_cast<uint64_t>(n);
    bytes -= static_cast<uint64_t>(n);
  }
  return {};
}

Result<UniqueFd> create_shmem(const image::MemoryObject& object, int pages_fd) {
  void* at = ::mmap(nullptr, object.size(), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (at == MAP_FAILED) return fail_errno("mmap(MAP_SHARED|MAP_ANONYMOUS, " + std::to_string(object.size()) + ")");
  struct Unmap {
    void* p;
    size_t size;
    ~Unmap() { ::munmap(p, size); }
  } unmap{at, object.size()};
  char* base = static_cast<char*>(at);
  RETURN_IF_ERROR(copy_runs(object, pages_fd, [&](uint64_t offset, const char* data, uint64_t bytes) -> Result<> {
    std::memcpy(base + offset, data, bytes);
    return {};
  }));
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/map_files/%lx-%lx", reinterpret_cast<unsigned long>(at),
                reinterpret_cast<unsigned long>(base + object.size()));
  UniqueFd fd(::open(path, O_RDWR));
  if (!fd.valid()) return fail_errno(std::string("open(") + path + ")");
  return fd;
}

Result<UniqueFd> create_memfd(const image::MemoryObject& object, int pages_fd) {
  UniqueFd fd(::memfd_create(object.name().c_str(), MFD_ALLOW_SEALING));
  if (!fd.valid()) return fail_errno("memfd_create(" + object.name() + ")");
  if (::ftruncate(fd.get(), static_cast<off_t>(object.size())) != 0) return fail_errno("ftruncate");
  RETURN_IF_ERROR(copy_runs(object, pages_fd, [&](uint64_t offset, const char* data, uint64_t bytes) {
    return pwrite_all(fd.get(), offset, data, bytes);
  }));
  if (::fchmod(fd.get(), object.mode()) != 0) return fail_errno("fchmod");
  // Last: the seals forbid the writes above. A memfd made without MFD_ALLOW_SEALING reads
  // F_SEAL_SEAL, which this adds back.
  if (object.seals() != 0 && ::fcntl(fd.get(), F_ADD_SEALS, object.seals()) != 0)
    return fail_errno("fcntl(F_ADD_SEALS, " + std::to_string(object.seals()) + ")");
  return fd;
}

// `nofollow` are the image fds of this file with O_NOFOLLOW: each gets its open file through the
// name, in `opened`.
Result<UniqueFd> create_deleted_file(const image::MemoryObject& object, int pages_fd, const std::vector<const image::Fd*>& nofollow,
                                     std::map<const image::Fd*, UniqueFd>* opened) {
  std::string dir = object.name().substr(0, object.name().rfind('/'));
  if (dir.empty()) dir = "/";
  // O_TMPFILE: an inode without a name from the start, in the directory (and filesystem) the
  // deleted file was in, like the original. No fallback to a memfd: it would be another
  // filesystem, with other semantics (statfs, seals, size limits).
  UniqueFd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR, object.mode() & 07777));
  if (!fd.valid()) return fail(errno_error("open(" + dir + ", O_TMPFILE)").with_hint("the filesystem must support O_TMPFILE"));
  if (::ftruncate(fd.get(), static_cast<off_t>(object.size())) != 0) return fail_errno("ftruncate");
  RETURN_IF_ERROR(copy_runs(object, pages_fd, [&](uint64_t offset, const char* data, uint64_t bytes) {
    return pwrite_all(fd.get(), offset, data, bytes);
  }));
  if (::fchown(fd.get(), object.uid(), object.gid()) != 0) return fail_errno("fchown");
  if (::fchmod(fd.get(), object.mode()) != 0) return fail_errno("fchmod");  // After fchown, which clears set-id bits.
  // The kernel names an open file by the dentry it was opened through, and an unlinked one by the
  // name that dentry had: "/dir/#1234 (deleted)" for an O_TMPFILE inode, which the process would
  // read in /proc/self/fd and maps. So the inode gets its old name for a moment, is opened again
  // through it, and is unlinked again: "/dir/old (deleted)", as at the dump. A name taken since
  // (or a directory that refuses the link) is left alone: the file keeps its "#inode" name, and
  // verification refuses the restore, naming the difference.
  std::string self = "/proc/self/fd/" + std::to_string(fd.get());
  if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, object.name().c_str(), AT_SYMLINK_FOLLOW) != 0) {
    if (nofollow.empty()) return fd;
    return fail(errno_error("linkat(" + object.name() + ")").context("give the file its old name to open it with O_NOFOLLOW"));
  }
  for (const image::Fd* holder : nofollow) {
    int flags = static_cast<int>(holder->flags()) & ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC | O_TMPFILE);
    UniqueFd again(::open(object.name().c_str(), flags | O_NOCTTY));
    if (!again.valid()) {
      Error e = errno_error("open(" + object.name() + ") with the flags of fd " + std::to_string(holder->fd()));
      ::unlink(object.name().c_str());
      return fail(e);
    }
    (*opened)[holder] = std::move(again);
  }
  UniqueFd named(::open(object.name().c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
  if (::unlink(object.name().c_str()) != 0) return fail_errno("unlink(" + object.name() + ")");
  if (!named.valid()) return fd;
  return named;
}

const char* describe(image::ObjectKind kind) {
  switch (kind) {
    case image::OBJECT_SHMEM: return "shared anonymous memory";
    case image::OBJECT_MEMFD: return "memfd";
    default: return "deleted file";
  }
}

}  // namespace

Result<MemoryObjects> create_memory_objects(const ImageSet& set, int min_fd) {
  MemoryObjects out;
  if (set.objects.objects_size() == 0) return out;
  std::map<uint64_t, std::vector<const image::Fd*>> nofollow;
  for (const auto& process : set.processes)
    for (const auto& fd : process.files.fds())
      if (fd.kind() == image::FD_DELETED_FILE && (fd.flags() & O_NOFOLLOW)) nofollow[fd.object_id()].push_back(&fd);
  ASSIGN_OR_RETURN(OpenedFile opened, set.dir_fd->open_regular(set.object_pages_name, set.object_pages_size));
  UniqueFd pages = std::move(opened.fd);
  for (const auto& object : set.objects.objects()) {
    std::string what = std::string("recreate ") + describe(object.kind()) + " " + std::to_string(object.id()) +
                       (object.name().empty() ? "" : " (" + object.name() + ")");
    Result<UniqueFd> created = object.kind() == image::OBJECT_SHMEM  ? create_shmem(object, pages.get())
                               : object.kind() == image::OBJECT_MEMFD ? create_memfd(object, pages.get())
                                                                      : create_deleted_file(object, pages.get(), nofollow[object.id()], &out.opened_by_name);
    if (!created) return fail(created.error().context(what));
    int moved = ::fcntl(created->get(), F_DUPFD, min_fd);  // Without FD_CLOEXEC: placeholders inherit it.
    if (moved < 0) return fail(errno_error("fcntl(F_DUPFD, " + std::to_string(min_fd) + ")").context(what));
    out.by_id.emplace(object.id(), UniqueFd(moved));
  }
  // Above min_fd too, out of the way of the image's fd numbers.
  for (auto& [holder, fd] : out.opened_by_name) {
    int moved = ::fcntl(fd.get(), F_DUPFD, min_fd);
    if (moved < 0) return fail_errno("fcntl(F_DUPFD, " + std::to_string(min_fd) + ")");
    fd.reset(moved);
  }
  return out;
}

std::set<uint64_t> objects_mapped_by(const ProcessImage& process) {
  std::set<uint64_t> ids;
  for (const auto& vma : process.mm.vmas())
    if (vma.object_id() != 0) ids.insert(vma.object_id());
  return ids;
}

}  // namespace cryo::restore
