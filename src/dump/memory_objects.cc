#include "dump/memory_objects.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/file_util.h"
#include "base/page_size.h"
#include "image/file_identity.h"
#include "dump/page_dump.h"

namespace cryo::dump {
namespace {

constexpr size_t kChunk = 4 << 20;
using image::kMaxObjectBytes;  // Streamed in kChunk pieces: the size only bounds the address space a restore maps.
constexpr std::string_view kDeleted = " (deleted)";

const char* kind_name(image::ObjectKind kind) {
  switch (kind) {
    case image::OBJECT_SHMEM: return "shared anonymous memory";
    case image::OBJECT_MEMFD: return "a memfd";
    case image::OBJECT_DELETED_FILE: return "a deleted file";
    default: return "a memory object";
  }
}

void add_run(Runs& runs, uint64_t offset, uint64_t file_offset) {
  if (runs.size() > 0) {
    auto* last = runs.Mutable(runs.size() - 1);
    uint64_t bytes = last->nr_pages() * kPageSize;
    if (last->offset() + bytes == offset && last->file_offset() + bytes == file_offset) {
      last->set_nr_pages(last->nr_pages() + 1);
      return;
    }
  }
  auto* run = runs.Add();
  run->set_offset(offset);
  run->set_nr_pages(1);
  run->set_file_offset(file_offset);
}

}  // namespace

std::optional<std::string> memfd_name(std::string_view link) {
  constexpr std::string_view kPrefix = "/memfd:";
  if (!link.starts_with(kPrefix) || !link.ends_with(kDeleted)) return std::nullopt;
  return std::string(link.substr(kPrefix.size(), link.size() - kPrefix.size() - kDeleted.size()));
}

std::optional<std::string> deleted_path(std::string_view link) {
  if (!link.ends_with(kDeleted) || link.size() == kDeleted.size()) return std::nullopt;
  return std::string(link.substr(0, link.size() - kDeleted.size()));
}

Result<MemoryObjectCollector> MemoryObjectCollector::create(UniqueFd pages, uint64_t max_runs_bytes) {
  MemoryObjectCollector collector;
  collector.out_ = std::move(pages);
  collector.max_runs_bytes_ = max_runs_bytes;
  return collector;
}

Result<uint64_t> MemoryObjectCollector::add(image::ObjectKind kind, const std::string& source, const std::string& name,
                                            const std::string& what) {
  UniqueFd fd(::open(source.c_str(), O_RDONLY | O_CLOEXEC | O_NOATIME));
  if (!fd.valid() && errno == EPERM) fd.reset(::open(source.c_str(), O_RDONLY | O_CLOEXEC));  // O_NOATIME needs ownership.
  if (!fd.valid()) return fail(errno_error("open(" + source + ")").context(what));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return fail(errno_error("fstat(" + source + ")").context(what));
  auto key = std::make_pair(static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino));
  if (auto it = ids_.find(key); it != ids_.end()) {
    const auto& known = objects_.objects(static_cast<int>(it->second - 1));
    if (known.kind() != kind)
      return fail(make_error(what + " is " + kind_name(kind) + " whose inode was seen before as " + kind_name(known.kind())));
    return it->second;
  }
  struct statfs fs;
  if (::fstatfs(fd.get(), &fs) == 0 && fs.f_type == HUGETLBFS_MAGIC)
    return fail(make_error(what + " is " + kind_name(kind) + " on hugetlbfs, which cryo cannot dump yet"));
  if (!S_ISREG(st.st_mode)) return fail(make_error(what + " is " + kind_name(kind) + " that is not a regular file"));
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > kMaxObjectBytes)
    return fail(make_error(what + " is " + kind_name(kind) + " of " + std::to_string(size) + " bytes; cryo stores at most " +
                           std::to_string(kMaxObjectBytes >> 40) + " TiB per memfd, deleted file or shared anonymous region"));

  image::MemoryObject object;
  object.set_id(static_cast<uint64_t>(objects_.objects_size()) + 1);
  object.set_kind(kind);
  object.set_size(size);
  object.set_name(name);
  object.set_mode(st.st_mode & 07777);
  object.set_uid(st.st_uid);
  object.set_gid(st.st_gid);
  set_identity(st, object.mutable_identity());
  if (kind == image::OBJECT_MEMFD) {
    int seals = ::fcntl(fd.get(), F_GET_SEALS);
    if (seals < 0) return fail(errno_error("fcntl(F_GET_SEALS)").context(what));
    object.set_seals(static_cast<uint32_t>(seals));
  }
  if (out_.valid()) {
    RETURN_IF_ERROR(store_contents(fd.get(), size, *object.mutable_runs(), what));
    // Every object's runs share objects.img's one record: refuse the object that would overflow it.
    // Checked once the object is read: each run held meanwhile stands for at least a page of data
    // the tree holds, 80 times what the run costs here.
    uint64_t record = object.ByteSizeLong();
    if (record > max_runs_bytes_ - std::min(runs_bytes_, max_runs_bytes_))
      return fail(make_error(what + " is " + kind_name(kind) + " of " + std::to_string(size) + " bytes whose data lies in " +
                             std::to_string(object.runs_size()) + " separate runs between holes and zero pages, more than " +
                             "cryo stores (" + std::to_string(max_runs_bytes_) + " bytes of page runs for all objects)"));
    runs_bytes_ += record;
  }
  ids_[key] = object.id();
  *objects_.add_objects() = std::move(object);
  return ids_[key];
}

Result<> MemoryObjectCollector::store_pages(int fd, uint64_t size, Runs& runs, const std::string& what) {
  if (!out_.valid()) return {};
  return store_contents(fd, size, runs, what);
}

Result<> MemoryObjectCollector::store_contents(int fd, uint64_t size, Runs& runs, const std::string& what) {
  if (buffer_.empty()) buffer_.resize(kChunk);
  uint64_t at = 0;
  while (at < size) {
    // Only the data: a shmem page never touched, or swapped out, is still data to SEEK_DATA.
    off_t data = ::lseek(fd, static_cast<off_t>(at), SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // Nothing but a hole up to the end.
      return fail(errno_error("lseek(SEEK_DATA)").context(what));
    }
    off_t hole = ::lseek(fd, data, SEEK_HOLE);
    if (hole < 0) return fail(errno_error("lseek(SEEK_HOLE)").context(what));
    uint64_t start = static_cast<uint64_t>(data) & ~(kPageSize - 1);
    uint64_t end = std::min<uint64_t>((static_cast<uint64_t>(hole) + kPageSize - 1) & ~(kPageSize - 1),
                                      (size + kPageSize - 1) & ~(kPageSize - 1));
    while (start < end) {
      size_t take = static_cast<size_t>(std::min<uint64_t>(end - start, kChunk));
      // The last page of an object whose size is not page aligned reads short: zero the rest.
      std::fill(buffer_.begin(), buffer_.begin() + static_cast<long>(take), 0);
      ssize_t got = ::pread(fd, buffer_.data(), take, static_cast<off_t>(start));
      if (got < 0) return fail(errno_error("pread").context(what));
      for (size_t page = 0; page < take; page += kPageSize) {
        if (is_zero_page(buffer_.data() + page)) continue;
        uint64_t file_offset = objects_.pages_file_size();
        RETURN_IF_ERROR(write_all(out_.get(), buffer_.data() + page, kPageSize, "object pages file"));
        checksum_.update(buffer_.data() + page, kPageSize);
        objects_.set_pages_file_size(file_offset + kPageSize);
        add_run(runs, start + page, file_offset);
      }
      start += take;
    }
    at = end;
  }
  return {};
}

}  // namespace cryo::dump
