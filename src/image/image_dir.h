// An image directory as a whole: written into a private temporary directory and renamed into place
// only when complete; read only after every file matches the inventory. Every file in it is opened
// relative to the directory's fd (base/dir_fd.h): an image directory is data, never a path to follow.
#pragma once

#include <map>
#include <string>

#include "base/dir_fd.h"
#include "base/stage_timer.h"
#include "base/error.h"
#include "image/signing_keys.h"
#include "inventory.pb.h"

namespace cryo::image {

// inventory.img is read before anything says how large it may be: this bounds it (about two
// million files; an image of the largest tree restore accepts stays far below).
constexpr uint64_t kMaxInventorySize = 64ull << 20;

// Checksums a whole file with XXH3-64 (tests and tools; cryo checksums through open fds).
Result<uint64_t> checksum_file(const std::string& path);
// The same for an open file, from its start whatever its position (pread); `what` names it in errors.
Result<uint64_t> checksum_fd(int fd, const std::string& what);

// Checks that the image file `name` of `dir` holds exactly `size` bytes whose XXH3-64 is `xxh3`
// (with `checksum` false, only its size). The failure's message is the problem alone ("pages-7.img
// does not match its checksum"), as open_image_dir lists it.
Result<> check_image_file(const DirFd& dir, const std::string& name, uint64_t size, uint64_t xxh3, bool checksum = true);

// Sets inventory.self_xxh3 from the rest of the record (commit does this; the fuzzer too).
void seal_inventory(Inventory& inventory);
// Whether inventory.self_xxh3 matches the rest of the record.
bool inventory_is_sealed(const Inventory& inventory);

class ImageDirWriter {
 public:
  // Checks `final_dir` before anything else happens (the dump freezes nothing before this): it must
  // not be a symlink, its parent must be a directory, and it must be absent or an empty directory
  // (logs of an earlier attempt aside). Removes stale temporary directories of earlier dumps into
  // it, then creates and locks a 0700 temporary directory beside it to write into.
  static Result<ImageDirWriter> create(const std::string& final_dir);
  ImageDirWriter(ImageDirWriter&& other) noexcept = default;
  ImageDirWriter& operator=(ImageDirWriter&&) = delete;
  ~ImageDirWriter();  // Removes the temporary directory unless committed.

  // Where image files are written until commit.
  const DirFd& dir() const { return temp_; }
  const std::string& final_dir() const { return final_dir_; }

  // Tells the checksum of a file the caller wrote into dir() and hashed while writing, so that
  // commit() need not read it back. The file must not change afterwards.
  void set_known_checksum(const std::string& name, uint64_t xxh3) { known_checksums_[name] = xxh3; }

  // Records size and checksum of every file written, writes the inventory (and, given a key, the
  // signature of the inventory), syncs, and renames the temporary directory to the final one. An
  // existing empty final directory is replaced. Log files are moved along but are not part of the
  // image. A commit that fails after the rename withdraws the image again. Given `stages`, the sync
  // (and rename) is timed as the stage "sync".
  Result<> commit(Inventory inventory, const SigningKey* key = nullptr, StageTimer* stages = nullptr);

  // Takes a committed image back: removes the inventory first, so that the directory never looks
  // complete, then every other image file. Log files stay, to explain the failure.
  void withdraw();

  // After a failed dump: moves the temporary directory's dump.log to the final directory, creating
  // it (0700) when absent. An existing directory that others can read gets no log (cryo never
  // changes the mode of a directory it did not create, and the log holds the tree's details).
  // Returns why no log was kept, or "" when it was.
  std::string keep_failure_log();

 private:
  ImageDirWriter() = default;
  DirFd parent_;
  std::string final_name_;  // final_dir_'s last component, in parent_.
  std::string final_dir_;
  std::string temp_name_;
  DirFd temp_;              // Locked (flock) for the writer's whole life: see stale_temp_dirs.h.
  bool committed_ = false;
  std::map<std::string, uint64_t> known_checksums_;
};

// The inventory alone, checked as open_image_dir checks it (entries, size, its own checksum and
// encoding, the signature, the format version), with no other file read: what a restore looks at
// before it starts (state/process/address_randomization.h).
Result<Inventory> read_inventory(const DirFd& dir, const VerifyKey* verify = nullptr);
// Opens an image directory for reading: every entry must be a regular file (a symlink, FIFO, device
// or directory is refused by name before anything is read), the inventory must be readable within
// kMaxInventorySize, match its own checksum and be of this format version, and every file must be
// present with its recorded size and checksum, with no file missing or extra. Every mismatch is
// reported in one error. With a key, the inventory's signature must check out first.
// With `defer_page_checksums` (restore --lazy), the raw pages files (pages-<pid>.img) are checked
// for their size only: the caller checksums them later, before it trusts them for good.
Result<Inventory> open_image_dir(const DirFd& dir, const VerifyKey* verify = nullptr, bool defer_page_checksums = false);
// The same, opening `dir` (DirFd::open) first.
Result<Inventory> open_image_dir(const std::string& dir, const VerifyKey* verify = nullptr);

// Removes a directory and everything in it (image directories are flat), following no symlink.
void remove_dir(const std::string& dir);

}  // namespace cryo::image
