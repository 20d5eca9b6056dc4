#include "image/image_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "base/unique_fd.h"
#include "image/checksum.h"
#include "image/framed_file.h"
#include "image/image_kinds.h"

namespace cryo::image {
namespace {

Result<std::vector<std::string>> list_dir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return fail_errno("opendir(" + dir + ")");
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

Result<> fsync_path(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return fail_errno("open(" + path + ")");
  if (::fsync(fd.get()) != 0) return fail_errno("fsync(" + path + ")");
  return {};
}

// Syncs the files concurrently, one thread each (at most a few dozen files per image). ext4 joins
// concurrent fsyncs into one journal commit: measured here, 10 small files took 40-60 ms one after
// the other and 1-5 ms at once. The dump keeps the tree frozen until its image is durable, so this
// is frozen time.
Result<> fsync_all(const std::vector<std::string>& paths) {
  std::vector<Result<>> results(paths.size());
  std::vector<std::thread> threads;
  threads.reserve(paths.size());
  for (size_t i = 0; i < paths.size(); ++i) threads.emplace_back([&, i] { results[i] = fsync_path(paths[i]); });
  for (auto& thread : threads) thread.join();
  for (auto& result : results) RETURN_IF_ERROR(result);
  return {};
}

std::string parent_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Result<uint64_t> checksum_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return fail_errno("open(" + path + ")");
  return checksum_fd(fd.get(), path);
}

Result<uint64_t> checksum_fd(int fd, const std::string& what) {
  StreamingChecksum sum;
  // A modest chunk, left uninitialised: zero-filling a 4 MiB buffer for every file cost more than
  // hashing a small file (the fuzzer found opening an image dominated by that memset).
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
  std::string dir = final_dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (dir.empty()) return fail("image directory path is empty");
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return fail(dir + " exists and is not a directory");
    ASSIGN_OR_RETURN(auto names, list_dir(dir));
    for (const auto& name : names)
      if (!is_log_file(name))
        return fail(make_error(dir + " is not empty (holds " + name + ")")
                        .with_hint("dump into a new or empty directory"));
  } else if (errno != ENOENT) {
    return fail_errno("stat(" + dir + ")");
  }
  std::string templ = dir + ".cryo-tmp-XXXXXX";
  if (!::mkdtemp(templ.data())) return fail_errno("mkdtemp(" + templ + ")");
  return ImageDirWriter(dir, templ);
}

ImageDirWriter::ImageDirWriter(ImageDirWriter&& other) noexcept
    : final_dir_(std::move(other.final_dir_)),
      temp_dir_(std::move(other.temp_dir_)),
      committed_(other.committed_),
      known_checksums_(std::move(other.known_checksums_)) {
  other.committed_ = true;  // The moved-from object owns nothing to clean up.
}

ImageDirWriter::~ImageDirWriter() {
  if (!committed_ && !temp_dir_.empty()) remove_dir(temp_dir_);
}

Result<> ImageDirWriter::commit(Inventory inventory) {
  ASSIGN_OR_RETURN(auto names, list_dir(temp_dir_));
  inventory.clear_files();
  std::vector<std::string> to_sync;
  for (const auto& name : names) {
    if (is_log_file(name)) continue;
    std::string path = temp_dir_ + "/" + name;
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return fail_errno("stat(" + path + ")");
    uint64_t sum = 0;
    if (auto known = known_checksums_.find(name); known != known_checksums_.end()) {
      sum = known->second;
    } else {
      ASSIGN_OR_RETURN(sum, checksum_file(path));
    }
    to_sync.push_back(path);
    auto* file = inventory.add_files();
    file->set_name(name);
    file->set_size(static_cast<uint64_t>(st.st_size));
    file->set_xxh3(sum);
  }
  inventory.set_format_version(kFormatVersion);
  seal_inventory(inventory);
  RETURN_IF_ERROR(write_image(temp_dir_, Kind::Inventory, 0, inventory));
  to_sync.push_back(temp_dir_ + "/" + file_name(Kind::Inventory));
  to_sync.push_back(temp_dir_);
  RETURN_IF_ERROR(fsync_all(to_sync));
  // A log already written into the final directory (by an earlier failed attempt) is replaced.
  if (::access(final_dir_.c_str(), F_OK) == 0) remove_dir(final_dir_);
  if (::rename(temp_dir_.c_str(), final_dir_.c_str()) != 0)
    return fail_errno("rename(" + temp_dir_ + ", " + final_dir_ + ")");
  committed_ = true;
  if (auto synced = fsync_path(parent_of(final_dir_)); !synced) {
    withdraw();
    return synced;
  }
  return {};
}

void ImageDirWriter::withdraw() {
  if (!committed_) return;
  ::unlink((final_dir_ + "/" + file_name(Kind::Inventory)).c_str());
  if (auto names = list_dir(final_dir_)) {
    for (const auto& name : *names)
      if (!is_log_file(name)) ::unlink((final_dir_ + "/" + name).c_str());
  }
}

Result<Inventory> open_image_dir(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    int err = errno;
    return fail(errno_error("image directory " + dir, err)
                    .with_hint(err == ENOENT ? "check the path given with -D" : ""));
  }
  if (!S_ISDIR(st.st_mode)) return fail(dir + " is not a directory");
  Inventory inventory;
  if (::access((dir + "/" + file_name(Kind::Inventory)).c_str(), F_OK) != 0)
    return fail(make_error(dir + " holds no complete image (inventory.img is missing)")
                    .with_hint("the dump that wrote it did not finish; dump again"));
  RETURN_IF_ERROR(read_image(dir, Kind::Inventory, 0, &inventory));
  // Re-serializing reproduces the bytes that were hashed: a changed value, or a field whose tag was
  // damaged into an unknown one (kept by the parser and serialized again), changes the digest.
  if (!inventory_is_sealed(inventory))
    return fail(make_error(dir + ": image is damaged: " + file_name(Kind::Inventory) + " does not match its own checksum")
                    .with_hint("the image was changed after the dump; dump again"));
  if (inventory.format_version() != kFormatVersion)
    return fail(dir + ": image format version " + std::to_string(inventory.format_version()) +
                ", this cryo reads version " + std::to_string(kFormatVersion));

  ASSIGN_OR_RETURN(auto names, list_dir(dir));
  std::map<std::string, const ImageFile*> expected;
  for (const auto& file : inventory.files()) {
    if (!identify(file.name()) || file.name() == file_name(Kind::Inventory) || !expected.emplace(file.name(), &file).second)
      return fail(dir + ": inventory lists an invalid file name '" + file.name() + "'");
  }
  std::vector<std::string> problems;
  for (const auto& name : names) {
    if (is_log_file(name) || name == file_name(Kind::Inventory)) continue;
    auto it = expected.find(name);
    if (it == expected.end()) {
      problems.push_back(name + " is not in the inventory");
      continue;
    }
    const ImageFile& want = *it->second;
    expected.erase(it);
    std::string path = dir + "/" + name;
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      problems.push_back(name + " is not a regular file");
      continue;
    }
    if (static_cast<uint64_t>(st.st_size) != want.size()) {
      problems.push_back(name + " has " + std::to_string(st.st_size) + " bytes, the inventory says " +
                         std::to_string(want.size()));
      continue;
    }
    auto sum = checksum_file(path);
    if (!sum) {
      problems.push_back(sum.error().message);
    } else if (*sum != want.xxh3()) {
      problems.push_back(name + " does not match its checksum");
    }
  }
  for (const auto& [name, file] : expected) problems.push_back(name + " is missing");
  if (!problems.empty()) {
    std::string message = dir + ": image is damaged: ";
    for (size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
    return fail(make_error(message).with_hint("the image was changed after the dump; dump again"));
  }
  return inventory;
}

void remove_dir(const std::string& dir) {
  if (auto names = list_dir(dir)) {
    for (const auto& name : *names) ::unlink((dir + "/" + name).c_str());
  }
  ::rmdir(dir.c_str());
}

}  // namespace cryo::image
