#include "image/image_dir.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "base/file_util.h"
#include "base/parallel_for.h"
#include "base/stage_timer.h"
#include "base/threads.h"
#include "base/unique_fd.h"
#include "image/checksum.h"
#include "image/framed_file.h"
#include "image/image_kinds.h"
#include "image/image_signature.h"
#include "image/stale_temp_dirs.h"

namespace cryo::image {
namespace {

Result<> fsync_entry(const DirFd& dir, const std::string& name) {
  UniqueFd fd(::openat(dir.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return fail_errno("open(" + dir.describe(name) + ")");
  if (::fsync(fd.get()) != 0) return fail_errno("fsync(" + dir.describe(name) + ")");
  return {};
}

// Syncs the files concurrently, on up to kSyncThreads threads that take the next file as each is
// done, and the temporary directory beside them. ext4 joins concurrent fsyncs into one journal
// commit: measured here, 10 small files took 40-60 ms one after the other and 1-5 ms at once. A
// thread per file, as this once was, cost more than the syncs for a large tree (6 files a
// process: 6,000 threads for 1,000 processes took 0.6 s on tmpfs, where fsync itself does
// nothing). The dump keeps the tree frozen until its image is durable, so this is frozen time.
constexpr size_t kSyncThreads = 16;

Result<> fsync_all(const DirFd& dir, const std::vector<std::string>& names) {
  Result<> dir_synced;
  std::thread dir_sync = thread_or_inline([&] { dir_synced = dir.fsync(); });
  Result<> files_synced = parallel_for(names.size(), [&](size_t i) { return fsync_entry(dir, names[i]); }, kSyncThreads,
                                       /*per_cpu=*/false);
  if (dir_sync.joinable()) dir_sync.join();
  RETURN_IF_ERROR(files_synced);
  return dir_synced;
}

// Hashes exactly `size` bytes of fd; a file that holds more or fewer is reported as such.
Result<uint64_t> checksum_fd(int fd, uint64_t size, const std::string& what) {
  StreamingChecksum sum;
  // A modest chunk, left uninitialised: zero-filling a 4 MiB buffer for every file cost more than
  // hashing a small file (the fuzzer found opening an image dominated by that memset).
  constexpr size_t kChunk = 256 << 10;
  auto buf = std::make_unique_for_overwrite<char[]>(kChunk);
  uint64_t total = 0;
  for (;;) {
    // One byte past the size is asked for, to notice a file that grew.
    size_t want = static_cast<size_t>(std::min<uint64_t>(kChunk, size + 1 - total));
    ssize_t n = ::read(fd, buf.get(), want);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("read(" + what + ")");
    }
    if (n == 0) break;
    total += static_cast<uint64_t>(n);
    if (total > size) return fail(what + " grew while it was read");
    sum.update(buf.get(), static_cast<size_t>(n));
  }
  if (total != size) return fail(what + " shrank while it was read");
  return sum.digest();
}

// The same for a file of an image directory being opened, which only cryo writes (0700): a large
// one is hashed through a mapping instead of read, which spares copying it (a 512 MiB pages file
// took 0.08-0.34 s read and 0.03-0.09 s mapped, here). A window of kWindow at a time, so that cryo's
// own memory stays bounded whatever the image holds (mapped pages count in its RSS). Its size was
// just checked against the inventory; a file cut short meanwhile would fault (SIGBUS), as the
// restore's mapping of its pages file would. Files of the host (file identity) are read, never
// mapped: a program may truncate those any time.
Result<uint64_t> checksum_image_file(int fd, uint64_t size, const std::string& what) {
  constexpr uint64_t kWindow = 8 << 20;
  struct stat st;
  if (size < kWindow || ::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) != size) return checksum_fd(fd, size, what);
  StreamingChecksum sum;
  for (uint64_t at = 0; at < size; at += kWindow) {
    size_t len = static_cast<size_t>(std::min(kWindow, size - at));
    void* p = ::mmap(nullptr, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, static_cast<off_t>(at));
    if (p == MAP_FAILED) return fail_errno("mmap(" + what + ")");
    sum.update(p, len);
    ::munmap(p, len);
  }
  return sum.digest();
}

struct SplitPath {
  std::string path;  // As given, without trailing slashes.
  std::string parent;
  std::string name;
};

Result<SplitPath> split_image_path(const std::string& path) {
  std::string dir = path;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (dir.empty()) return fail("image directory path is empty");
  auto slash = dir.find_last_of('/');
  SplitPath split;
  split.path = dir;
  split.parent = slash == std::string::npos ? "." : slash == 0 ? "/" : dir.substr(0, slash);
  split.name = slash == std::string::npos ? dir : dir.substr(slash + 1);
  if (split.name.empty() || split.name == "." || split.name == ".." || split.name == "/")
    return fail(make_error("-D " + path + " does not name a new directory").with_hint("give a path such as /var/tmp/images/mytree"));
  return split;
}

// The parent of an image directory: the user's path, followed as given, but it must be a directory.
Result<DirFd> open_parent(const SplitPath& split, const std::string& final_dir) {
  UniqueFd fd(::open(split.parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    int err = errno;
    if (err == ENOENT)
      return fail(make_error(final_dir + ": its parent directory " + split.parent + " does not exist")
                      .with_hint("create it first (mkdir -p " + split.parent + ")"));
    if (err == ENOTDIR) return fail(final_dir + ": its parent " + split.parent + " is not a directory");
    return fail_errno("open(" + split.parent + ", O_DIRECTORY)");
  }
  return DirFd(std::move(fd), split.parent);
}

// An existing final directory may hold only the logs of an earlier attempt, as regular files.
Result<> check_empty_image_dir(const DirFd& dir) {
  ASSIGN_OR_RETURN(auto names, dir.list());
  for (const auto& name : names) {
    if (!is_log_file(name))
      return fail(make_error(dir.path() + " is not empty (holds " + name + ")").with_hint("dump into a new or empty directory"));
    RETURN_IF_ERROR(dir.refuse_non_regular(name));
  }
  return {};
}

}  // namespace

Result<> check_image_file(const DirFd& dir, const std::string& name, uint64_t size, uint64_t xxh3, bool checksum) {
  ASSIGN_OR_RETURN(OpenedFile file, dir.open_regular(name, UINT64_MAX));
  if (file.size != size)
    return fail(name + " has " + std::to_string(file.size) + " bytes, the inventory says " + std::to_string(size));
  if (!checksum) return {};
  ASSIGN_OR_RETURN(uint64_t sum, checksum_image_file(file.fd.get(), size, dir.describe(name)));
  if (sum != xxh3) return fail(name + " does not match its checksum");
  return {};
}

// The whole content of an open file, however long (file identity by content: the caller bounds it).
Result<uint64_t> checksum_fd(int fd, const std::string& what) {
  StreamingChecksum sum;
  constexpr size_t kChunk = 256 << 10;
  auto buf = std::make_unique_for_overwrite<char[]>(kChunk);
  for (off_t at = 0;;) {
    ssize_t n = ::pread(fd, buf.get(), kChunk, at);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("read(" + what + ")");
    }
    if (n == 0) break;
    sum.update(buf.get(), static_cast<size_t>(n));
    at += n;
  }
  return sum.digest();
}

Result<uint64_t> checksum_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return fail_errno("open(" + path + ")");
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return fail_errno("fstat(" + path + ")");
  if (!S_ISREG(st.st_mode)) return fail(not_regular_error(path, st.st_mode));
  return checksum_fd(fd.get(), static_cast<uint64_t>(st.st_size), path);
}

namespace {

uint64_t inventory_digest(const Inventory& inventory) {
  Inventory unsealed = inventory;
  unsealed.clear_self_xxh3();
  std::string bytes = unsealed.SerializeAsString();
  return XXH3_64bits(bytes.data(), bytes.size());
}

}  // namespace

void seal_inventory(Inventory& inventory) { inventory.set_self_xxh3(inventory_digest(inventory)); }

bool inventory_is_sealed(const Inventory& inventory) { return inventory.self_xxh3() == inventory_digest(inventory); }

Result<ImageDirWriter> ImageDirWriter::create(const std::string& final_dir) {
  ASSIGN_OR_RETURN(SplitPath split, split_image_path(final_dir));
  ImageDirWriter writer;
  ASSIGN_OR_RETURN(writer.parent_, open_parent(split, final_dir));
  writer.final_name_ = split.name;
  writer.final_dir_ = split.path;
  if (auto st = writer.parent_.stat_entry(split.name); st) {
    if (S_ISLNK(st->st_mode))
      return fail(make_error(writer.final_dir_ + " is a symlink")
                      .with_hint("give the directory itself with -D (readlink -f " + writer.final_dir_ + ")"));
    if (!S_ISDIR(st->st_mode))
      return fail(writer.final_dir_ + " exists and is " + std::string(file_type_name(st->st_mode)) + ", not a directory");
    ASSIGN_OR_RETURN(DirFd existing, DirFd::open_at(writer.parent_, split.name, writer.final_dir_));
    RETURN_IF_ERROR(check_empty_image_dir(existing));
  } else if (st.error().err != ENOENT) {
    return fail(st.error());
  }
  remove_stale_temp_dirs(writer.parent_, split.name);
  ASSIGN_OR_RETURN(writer.temp_, make_locked_temp_dir(writer.parent_, split.name, &writer.temp_name_));
  return writer;
}

ImageDirWriter::~ImageDirWriter() {
  if (!committed_ && temp_.valid()) remove_flat_dir(parent_, temp_name_, temp_);
}

Result<> ImageDirWriter::commit(Inventory inventory, const SigningKey* key, StageTimer* stages) {
  ASSIGN_OR_RETURN(auto names, temp_.list());
  inventory.clear_files();
  std::vector<std::string> to_sync;
  for (const auto& name : names) {
    if (is_log_file(name)) continue;
    // The dump's stats are synced with the image (so that a complete image always has them) but are
    // not in the inventory: the dump replaces them once it knows what the sync and the kill took.
    if (is_stats_file(name)) {
      RETURN_IF_ERROR(temp_.refuse_non_regular(name));
      to_sync.push_back(name);
      continue;
    }
    ASSIGN_OR_RETURN(struct stat st, temp_.stat_entry(name));
    if (!S_ISREG(st.st_mode)) return fail(not_regular_error(temp_.describe(name), st.st_mode));
    uint64_t size = static_cast<uint64_t>(st.st_size);
    uint64_t sum = 0;
    if (auto known = known_checksums_.find(name); known != known_checksums_.end()) {
      sum = known->second;
    } else {
      ASSIGN_OR_RETURN(OpenedFile file, temp_.open_regular(name, size));
      ASSIGN_OR_RETURN(sum, checksum_fd(file.fd.get(), size, temp_.describe(name)));
    }
    to_sync.push_back(name);
    auto* file = inventory.add_files();
    file->set_name(name);
    file->set_size(size);
    file->set_xxh3(sum);
  }
  inventory.set_format_version(kFormatVersion);
  seal_inventory(inventory);
  const google::protobuf::Message* one[] = {&inventory};
  ASSIGN_OR_RETURN(std::string inventory_bytes, encode_records(Kind::Inventory, one));
  {
    std::string name = file_name(Kind::Inventory);
    ASSIGN_OR_RETURN(UniqueFd out, temp_.create_file(name));
    RETURN_IF_ERROR(write_all(out.get(), inventory_bytes.data(), inventory_bytes.size(), temp_.describe(name)));
    to_sync.push_back(name);
  }
  if (key) {
    std::string name(signature_file_name());
    std::string signature = sign_inventory(*key, inventory_bytes);
    ASSIGN_OR_RETURN(UniqueFd out, temp_.create_file(name));
    RETURN_IF_ERROR(write_all(out.get(), signature.data(), signature.size(), temp_.describe(name)));
    to_sync.push_back(name);
  }
  if (stages) stages->enter("sync");
  RETURN_IF_ERROR(fsync_all(temp_, to_sync));
  // An existing empty directory (perhaps with the log of an earlier failed attempt) is replaced:
  // rename() replaces an empty directory atomically, so only its logs are removed first.
  if (auto st = parent_.stat_entry(final_name_); st) {
    if (!S_ISDIR(st->st_mode)) return fail(final_dir_ + " is " + std::string(file_type_name(st->st_mode)) + ", not a directory");
    ASSIGN_OR_RETURN(DirFd existing, DirFd::open_at(parent_, final_name_, final_dir_));
    RETURN_IF_ERROR(check_empty_image_dir(existing));
    ASSIGN_OR_RETURN(auto logs, existing.list());
    for (const auto& log_name : logs) ::unlinkat(existing.get(), log_name.c_str(), 0);
  }
  if (::renameat(parent_.get(), temp_name_.c_str(), parent_.get(), final_name_.c_str()) != 0)
    return fail_errno("rename(" + parent_.describe(temp_name_) + ", " + final_dir_ + ")");
  committed_ = true;
  if (auto synced = parent_.fsync(); !synced) {
    withdraw();
    return synced;
  }
  return {};
}

void ImageDirWriter::withdraw() {
  if (!committed_) return;
  // temp_ is the same directory under its final name: the rename moved it, not its fd.
  ::unlinkat(temp_.get(), file_name(Kind::Inventory).c_str(), 0);
  if (auto names = temp_.list()) {
    for (const auto& name : *names)
      if (!is_log_file(name)) ::unlinkat(temp_.get(), name.c_str(), 0);
  }
}

std::string ImageDirWriter::keep_failure_log() {
  if (committed_ || !temp_.valid()) return "";
  if (auto st = temp_.stat_entry("dump.log"); !st || !S_ISREG(st->st_mode)) return "";
  bool created = ::mkdirat(parent_.get(), final_name_.c_str(), 0700) == 0;
  if (!created && errno != EEXIST) return "no dump.log kept: " + errno_error("mkdir(" + final_dir_ + ")").message;
  auto final_dir = DirFd::open_at(parent_, final_name_, final_dir_);
  if (!final_dir) return "no dump.log kept: " + final_dir.error().message;
  struct stat st;
  if (::fstat(final_dir->get(), &st) != 0) return "no dump.log kept: " + errno_error("fstat(" + final_dir_ + ")").message;
  if (!created && (st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    return "no dump.log kept in " + final_dir_ + ": others can read it (mode " + mode +
           ") and cryo does not change the mode of a directory it did not create";
  }
  // rename() replaces a directory entry, never what a symlink of that name points to.
  if (::renameat(temp_.get(), "dump.log", final_dir->get(), "dump.log") != 0)
    return "no dump.log kept: " + errno_error("rename(dump.log into " + final_dir_ + ")").message;
  return "";
}

Result<Inventory> read_inventory(const DirFd& dir, const VerifyKey* verify) {
  ASSIGN_OR_RETURN(auto names, dir.list());
  // Before anything is read: a symlink could point anywhere, a FIFO would hang a read, a device has
  // effects of its own. None belongs in an image directory.
  for (const auto& name : names) {
    ASSIGN_OR_RETURN(struct stat st, dir.stat_entry(name));
    if (!S_ISREG(st.st_mode)) return fail(not_regular_error(dir.describe(name), st.st_mode));
  }
  const std::string inventory_name = file_name(Kind::Inventory);
  if (!std::binary_search(names.begin(), names.end(), inventory_name))
    return fail(make_error(dir.path() + " holds no complete image (inventory.img is missing)")
                    .with_hint("the dump that wrote it did not finish; dump again"));
  // Read once: the bytes whose signature is checked are the bytes decoded.
  ASSIGN_OR_RETURN(std::string bytes, dir.read_regular(inventory_name, kMaxInventorySize));
  if (verify) RETURN_IF_ERROR(verify_inventory_signature(dir, bytes, *verify));
  ASSIGN_OR_RETURN(auto records, decode_records(Kind::Inventory, bytes, inventory_name));
  if (records.size() != 1)
    return fail(inventory_name + ": holds " + std::to_string(records.size()) + " records, expected exactly one");
  Inventory inventory;
  inventory.CopyFrom(*records[0]);
  // Re-serializing reproduces the bytes that were hashed: a changed value, or a field whose tag was
  // damaged into an unknown one (kept by the parser and serialized again), changes the digest.
  if (!inventory_is_sealed(inventory))
    return fail(make_error(dir.path() + ": image is damaged: " + inventory_name + " does not match its own checksum")
                    .with_hint("the image was changed after the dump; dump again"));
  // The digest cannot see what the parser drops: the unused high bits of the tenth byte of a varint
  // (vdso addresses near 2^64 have ten). So the file must also be exactly the encoding of what it
  // decodes to (cryo writes nothing else).
  const google::protobuf::Message* decoded[] = {records[0].get()};
  ASSIGN_OR_RETURN(std::string canonical, encode_records(Kind::Inventory, decoded));
  if (canonical != bytes)
    return fail(make_error(dir.path() + ": image is damaged: " + inventory_name + " is not the encoding of what it holds")
                    .with_hint("the image was changed after the dump; dump again"));
  if (inventory.format_version() != kFormatVersion)
    return fail(dir.path() + ": image format version " + std::to_string(inventory.format_version()) +
                ", this cryo reads version " + std::to_string(kFormatVersion));
  return inventory;
}

Result<Inventory> open_image_dir(const DirFd& dir, const VerifyKey* verify, bool defer_page_checksums) {
  ASSIGN_OR_RETURN(Inventory inventory, read_inventory(dir, verify));
  ASSIGN_OR_RETURN(auto names, dir.list());
  const std::string inventory_name = file_name(Kind::Inventory);
  std::map<std::string, const ImageFile*> expected;
  for (const auto& file : inventory.files()) {
    if (!identify(file.name()) || file.name() == inventory_name || !expected.emplace(file.name(), &file).second)
      return fail(dir.path() + ": inventory lists an invalid file name '" + file.name() + "'");
  }
  std::vector<std::string> problems;
  for (const auto& name : names) {
    if (is_outside_inventory(name) || name == inventory_name || name == signature_file_name()) continue;
    auto it = expected.find(name);
    if (it == expected.end()) {
      problems.push_back(name + " is not in the inventory");
      continue;
    }
    const ImageFile& want = *it->second;
    expected.erase(it);
    bool deferred = defer_page_checksums && name.starts_with("pages-");
    if (auto checked = check_image_file(dir, name, want.size(), want.xxh3(), !deferred); !checked)
      problems.push_back(checked.error().message);
  }
  for (const auto& [name, file] : expected) problems.push_back(name + " is missing");
  if (!problems.empty()) {
    std::string message = dir.path() + ": image is damaged: ";
    for (size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
    return fail(make_error(message).with_hint("the image was changed after the dump; dump again"));
  }
  return inventory;
}

Result<Inventory> open_image_dir(const std::string& dir, const VerifyKey* verify) {
  auto opened = DirFd::open(dir);
  if (!opened) {
    if (opened.error().err == ENOENT)
      return fail(errno_error("image directory " + dir, ENOENT).with_hint("check the path given with -D"));
    return fail(opened.error());
  }
  return open_image_dir(*opened, verify);
}

void remove_dir(const std::string& dir) {
  auto split = split_image_path(dir);
  if (!split) return;
  UniqueFd parent_fd(::open(split->parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!parent_fd.valid()) return;
  DirFd parent(std::move(parent_fd), split->parent);
  auto opened = DirFd::open_at(parent, split->name, dir);
  if (!opened) return;
  remove_flat_dir(parent, split->name, *opened);
}

}  // namespace cryo::image
