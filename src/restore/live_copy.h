// Never a second live copy of a tree by accident. Two copies of one tree, each writing the same
// files, is a way to lose data, so restore refuses, unless given --allow-copy:
// - while the tree the image was dumped from still runs on this host (the image records its
//   identity: boot id, PID-namespace inode, the init's start time). This also covers a default-mode
//   dump killed between the commit of its image and the kill of its tree.
// - while another restore of the same image runs: that one holds an exclusive flock on the image
//   directory itself, until its restore ends (in the foreground, until its tree exits).
// - while a tree an earlier restore made from this image still runs: a restore that succeeds
//   records its tree's identity in /run/cryo/restored-<dev>-<inode>.tree (the image directory's).
#pragma once

#include <optional>
#include <string>

#include "base/error.h"
#include "base/unique_fd.h"
#include "inventory.pb.h"
#include "kernel/tree_identity.h"

namespace cryo::restore {

// The one-line refusal when `source` still runs according to `now` (what the host says about the
// init PID the image names, nullopt when there is no such process); empty when restoring is safe.
std::string live_source_refusal(const image::TreeIdentity& source, uint32_t root_pid,
                                const std::optional<TreeIdentityFacts>& now, const std::string& boot_id);

// Refuses (see above) when the image's source tree still runs here.
Result<> check_source_tree_gone(const image::Inventory& inventory, const std::string& dir);

class RestoreLock {
 public:
  // Fails at once when another cryo restore holds the lock of `dir`, naming its PID when known.
  static Result<RestoreLock> acquire(const std::string& dir);

  // Refuses while the tree an earlier restore of this image recorded still runs; forgets one that ended.
  Result<> check_no_restored_copy_runs() const;
  // Records the tree just restored (its init is host PID `init`). Best effort: without the record
  // only this one protection is lost, and the restore itself succeeded.
  void record_restored_tree(pid_t init) const;

 private:
  RestoreLock(UniqueFd fd, std::string dir, std::string record)
      : fd_(std::move(fd)), dir_(std::move(dir)), record_(std::move(record)) {}
  UniqueFd fd_;
  std::string dir_;
  std::string record_;  // Empty when the directory could not be opened.
};

}  // namespace cryo::restore
