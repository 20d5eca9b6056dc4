// The trees `cryo run --detach` and `cryo restore --detach` started on this host, so that `cryo ps`
// can find them again: one record file per tree, /run/cryo/trees/<init pid>.tree (the directory
// 0700, the files 0600, each written to a temporary name and renamed into place).
//
// A PID outlives its tree: once the init is gone the kernel hands its number to the next process.
// So a record holds the tree's identity (boot id, PID-namespace inode, the init's start time from
// /proc/PID/stat field 22) and is believed only while the process of that PID still has all three
// and is PID 1 of its own namespace. A record that fails that is stale and removed; one that cannot
// be parsed, or does not hold together, is not cryo's and is skipped with a warning, never trusted.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "kernel/tree_identity.h"
#include "ns/time_namespace.h"

namespace cryo::cli {

enum class TreeOrigin { Run, Restore };

struct TreeRecord {
  pid_t init = 0;                 // Host PID of the tree's init.
  TreeIdentityFacts identity;
  TreeOrigin origin = TreeOrigin::Run;
  int64_t started_ns = 0;         // CLOCK_REALTIME when it was started or restored.
  std::string image;              // The image directory it was restored from (absolute); empty for run.
  ClockOffsets offsets;           // Of its time namespace, as the kernel shows them.
  std::vector<std::string> command;

  bool operator==(const TreeRecord&) const = default;
};

// Bounds of a record, far above anything real.
constexpr size_t kMaxRecordFileSize = 64 * 1024;
constexpr size_t kMaxRecordArgs = 256;
constexpr size_t kMaxRecordArgBytes = 4096;
// The whole command: escaped (4 bytes for 1 at worst), with the image path and the rest, it stays
// inside kMaxRecordFileSize.
constexpr size_t kMaxRecordCommandBytes = 8192;

// The record file's text, and back. parse_tree_record refuses anything format_tree_record would not
// write: an unknown version or key, a key twice, a value out of range, a missing field.
std::string format_tree_record(const TreeRecord& record);
Result<TreeRecord> parse_tree_record(std::string_view text);

// The command a record keeps: argv cut to the bounds above (a long command line is shortened,
// never refused), so that every record cryo writes is one it reads back.
std::vector<std::string> bounded_command(std::vector<std::string> argv);

// The record of a tree just started or restored (its init is host PID `init`): identity, offsets,
// and for a restore the command line as /proc shows it. Fails when the tree is already gone.
Result<TreeRecord> describe_tree(pid_t init, TreeOrigin origin, std::vector<std::string> command, std::string image);

// Writes the record atomically, and removes the records of trees that ended. Best effort for its
// callers: the tree runs either way, so a failure is a warning, not cryo's exit status.
Result<> save_tree_record(const TreeRecord& record);

// describe_tree and save_tree_record for a tree that was just detached. A failure is a warning: the
// tree runs either way, and cryo's exit status is about the tree.
void record_detached_tree(pid_t init, TreeOrigin origin, std::vector<std::string> command, const std::string& image);

// What `cryo ps` learns from the record directory: the trees that still run, in PID order, and one
// warning per record file it skipped. Records of trees that ended are removed.
struct TreeListing {
  std::vector<TreeRecord> running;
  std::vector<std::string> warnings;
};
Result<TreeListing> list_running_trees();

// After a dump ended the tree whose identity was `identity`: removes its record, if it has one.
void forget_tree_record(pid_t init, const TreeIdentityFacts& identity);

// The directory of records; tests look into it.
std::string tree_record_dir();

}  // namespace cryo::cli
