// The one table of fd kinds, in the shape of CRIU's fd-type operations: per kind of image::Fd, its
// name and how the dump recognises its fds, and its operations at dump (collect), at validation and
// at restore (stage in the helper before the tree is cloned, install in a process, finish once every
// fd of the process exists). A kind has an empty slot where it has no such step. The dispatch points
// of the stages (dump/process_files.cc, restore/image_validation.cc, restore/staged_fds.cc,
// restore/placeholder.cc) loop over or look up this table, so adding a kind is its own file under
// state/files/, its proto message, its tests and one line in fd_kinds.cc.
//
// The kinds whose code still lives in dump/ and restore/ have their line here too (name, sharing,
// the comparison of their state), with the slots for that code empty: the stages then call it
// themselves, until the kind moves into state/files/ and fills its slots.
#pragma once

#include <sys/types.h>

#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "files.pb.h"
#include "image/image_set.h"
#include "kernel/proc_fdinfo.h"
#include "ns/time_namespace.h"
#include "state/files/staged_files.h"

namespace cryo::state {

// What the dump shows a kind's collect of one fd of a frozen process.
struct FdCollect {
  pid_t pid = 0;
  int fd = -1;
  const FdInfo& info;  // Its /proc/PID/fdinfo.
  // The kernel's clocks at the freeze (its own time namespace's offsets taken out), for state that
  // counts on while the tree is frozen; nullptr where nothing is dumped (the preflight).
  const image::ClockReadings* freeze = nullptr;
  std::string_view target = {};  // The text of its /proc/PID/fd link (set for the kinds found by filesystem).
};

// "/proc/PID/fd/N" of the fd being collected.
std::string fd_link(const FdCollect& in);

// Where restore installs one fd: what its install step may need besides the fd's own message.
struct FdInstall {
  // The tree's time namespace offsets as seen from the caller's clocks: zero inside the tree's time
  // namespace, the new offsets in the helper outside it.
  ClockOffsets tree_minus_caller = {};
  const ImageSet* images = nullptr;        // The whole image, when installed for a process of the tree.
  const ProcessImage* process = nullptr;   // The process it is installed in, or nullptr in the helper.
  const StagedFds* staged = nullptr;       // What the helper staged (memory objects ...), once it has.
};

// How restore gives one open file to the several fds that shared it at the dump.
enum class FdSharing {
  OpenedOnce,     // The helper creates it once (the install step) and every holder gets a copy.
  Staged,         // Its stage step creates it by its own id (pipe, socket): never opened by open file id.
  WithinProcess,  // Each process installs its own and dups it there; the install step of a /proc or namespace
                  // file takes one shared with another process from it (pidfd_getfd).
  InNamespace,    // It exists only in the tree's own namespace (POSIX message queue), whose init shares it.
};

// A line of the table names its slots (designated initializers), so a kind fills only the steps it has.
struct FdKindOps {
  image::FdKind kind;
  std::string_view name;         // What messages call the kind.
  std::string_view anon_inode = {};  // Dump: the NAME of the "anon_inode:[NAME]" links of its fds, or empty.
  unsigned long filesystem = 0;      // Dump: the statfs magic of the filesystem its fds lie on (proc, nsfs), or 0.
  FdSharing sharing = FdSharing::OpenedOnce;
  // Dump: fills the kind state of `out` from what the kernel shows (an anonymous-inode kind finds its
  // kind set; one found by filesystem sets it, and may refuse the fd).
  Result<> (*collect)(const FdCollect& in, image::Fd& out) = nullptr;
  // Validation of the kind state of one fd; `numbers` are the fd numbers of its process and `name`
  // names the fd in problems ("fd 5").
  void (*validate)(const image::Fd& fd, const std::set<int>& numbers, const std::string& name, std::vector<std::string>* problems) = nullptr;
  // Whether two holders of one open file agree on its kind state (they read it at one freeze).
  bool (*same_state)(const image::Fd& a, const image::Fd& b) = nullptr;
  // Restore, stage: in the single-threaded helper, before the tree is cloned, creates every open file
  // of the kind in `set` by the kind's own id (a pipe by its pipe_id ...) at fd numbers >= min_fd,
  // not close-on-exec, into `staged`; the placeholders copy them to their numbers.
  Result<> (*stage)(const ImageSet& set, int min_fd, StagedFds& staged) = nullptr;
  // Restore, install: creates the open file with its kind state at the lowest free number (its file
  // status flags are set by create_fd).
  Result<int> (*install)(const image::Fd& fd, const FdInstall& at) = nullptr;
  // Restore, finish: completes the fd (at its number) once every fd of the process is at its own.
  Result<> (*finish)(const image::Fd& fd) = nullptr;
};

// Every kind, in the order of its number in FdKind.
std::span<const FdKindOps> fd_kinds();

// The line of `kind`, or nullptr for a kind cryo does not know (an image from elsewhere).
const FdKindOps* find_fd_kind(image::FdKind kind);

// The kind whose fds are "anon_inode:[name]" links, or nullptr.
const FdKindOps* find_anon_inode_kind(std::string_view name);

// The kind whose fds are all the fds on the filesystem of statfs magic `magic`, or nullptr.
const FdKindOps* find_filesystem_kind(unsigned long magic);

// The number of the earlier fd of `process`, in image order, of the same kind that shares `fd`'s open
// file (a dup), or -1. Placeholders open their fds in image order, so that fd is in place already.
int earlier_fd_of_open_file(const ProcessImage& process, const image::Fd& fd);

// Runs the install step of `ops` and gives the new fd the file status flags (O_NONBLOCK ...) of `fd`
// (but to an O_PATH fd, which has them from its open).
Result<int> create_fd(const FdKindOps& ops, const image::Fd& fd, const FdInstall& at);

}  // namespace cryo::state
