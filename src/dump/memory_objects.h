// objects.img and objpages.img: memory objects of the tree whose contents live nowhere else once
// the tree is gone, each stored once however many processes map it or hold it open: shared
// anonymous memory (the shmem inode behind MAP_SHARED|MAP_ANONYMOUS and MAP_SHARED /dev/zero),
// memfds, and regular files deleted while open or mapped.
//
// An object is read through a file cryo opens itself (/proc/PID/map_files/A-B for a mapping,
// /proc/PID/fd/N for an fd). That gives the whole object, also the pages that this process never
// touched but another one did. Only data is stored: holes (SEEK_DATA/SEEK_HOLE) and pages of zeros
// are skipped, since a recreated object reads as zeros there.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "image/checksum.h"
#include "image/object_limits.h"
#include "objects.pb.h"

namespace cryo::dump {

// "/memfd:NAME (deleted)" -> "NAME"; nullopt for any other link text.
std::optional<std::string> memfd_name(std::string_view link);
// "/dir/file (deleted)" -> "/dir/file"; nullopt when the text has no " (deleted)" suffix.
std::optional<std::string> deleted_path(std::string_view link);

// What a memfd_secret file is, for refusals of an fd or a mapping of one: its pages are out of
// the kernel's direct map, so no one but the process itself can read them (not /proc/PID/mem, not
// map_files), and a restore would find no file at its "/secretmem (deleted)".
inline constexpr const char* kSecretMemory = "secret memory (memfd_secret: no one but the process can read its pages)";

using Runs = google::protobuf::RepeatedPtrField<image::ObjectRun>;

class MemoryObjectCollector {
 public:
  // Object pages are appended to `pages` (the new, empty object pages file) as objects are found.
  // `max_runs_bytes` bounds the serialized objects (their page runs), image::kMaxObjectRunsBytes
  // outside tests.
  static Result<MemoryObjectCollector> create(UniqueFd pages, uint64_t max_runs_bytes = image::kMaxObjectRunsBytes);
  // One that only applies the checks (size limit, hugetlbfs) and stores nothing: for the preflight
  // check of a process that is still running.
  static MemoryObjectCollector checking_only() { return MemoryObjectCollector(); }

  // The id of the object behind `source` (a /proc link cryo can open), storing the object the first
  // time its inode is seen. `name` is the memfd name or the deleted file's path; `what` names the
  // holder in errors ("pid 3: mapping 7f..-7f.. (/memfd:x (deleted))").
  Result<uint64_t> add(image::ObjectKind kind, const std::string& source, const std::string& name, const std::string& what);

  // Appends the data pages of `fd` (a shmem file of `size` bytes) to the object pages file as
  // `runs`, the same way as an object's: for SysV segments, which sysv.img describes. Nothing for
  // a checking-only collector.
  Result<> store_pages(int fd, uint64_t size, Runs& runs, const std::string& what);

  bool empty() const { return objects_.objects_size() == 0; }
  // XXH3-64 of the object pages file as written so far (hashed while writing, so the image's
  // commit need not read it back while the tree is frozen).
  uint64_t pages_checksum() const { return checksum_.digest(); }
  const image::MemoryObjects& objects() const { return objects_; }

 private:
  Result<> store_contents(int fd, uint64_t size, Runs& runs, const std::string& what);

  UniqueFd out_;
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> ids_;  // (st_dev, st_ino) -> id.
  image::MemoryObjects objects_;
  std::vector<char> buffer_;  // kChunk bytes: an object is read through it piece by piece.
  uint64_t runs_bytes_ = 0;   // Serialized size of the objects stored so far (their runs, mostly).
  uint64_t max_runs_bytes_ = image::kMaxObjectRunsBytes;
  image::StreamingChecksum checksum_;
};

}  // namespace cryo::dump
