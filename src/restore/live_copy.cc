#include "restore/live_copy.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>
#include <sstream>

#include "base/file_util.h"

namespace cryo::restore {
namespace {

constexpr const char* kRecordDir = "/run/cryo";
constexpr const char* kAllowCopyHint = "pass --allow-copy to restore a second copy anyway";

// The PID of the process holding a flock on inode `ino`, from /proc/locks ("1: FLOCK ADVISORY WRITE
// 1234 00:1f:5678 0 EOF"), or 0.
pid_t flock_holder(ino_t ino) {
  auto locks = read_file("/proc/locks");
  if (!locks) return 0;
  std::istringstream lines(*locks);
  std::string line;
  std::string suffix = ":" + std::to_string(ino);
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string number, kind, mode, access, pid, device;
    if (!(fields >> number >> kind >> mode >> access >> pid >> device)) continue;
    if (kind == "FLOCK" && device.ends_with(suffix)) return static_cast<pid_t>(std::atoi(pid.c_str()));
  }
  return 0;
}

}  // namespace

std::string live_source_refusal(const image::TreeIdentity& source, uint32_t root_pid,
                                const std::optional<TreeIdentityFacts>& now, const std::string& boot_id) {
  if (source.boot_id() != boot_id || !now) return {};
  if (now->pidns_inode != source.pidns_inode() || now->init_start_time != source.init_start_time()) return {};
  return "the tree this image was dumped from still runs (its init is host PID " + std::to_string(root_pid) +
         "); restoring it would make a second live copy";
}

Result<> check_source_tree_gone(const image::Inventory& inventory, const std::string& dir) {
  if (!inventory.has_source_tree()) return {};  // An image from before cryo recorded its tree.
  ASSIGN_OR_RETURN(std::string boot_id, read_boot_id());
  std::optional<TreeIdentityFacts> now;
  if (auto facts = read_tree_identity(static_cast<pid_t>(inventory.root_pid()))) now = *facts;
  std::string refusal = live_source_refusal(inventory.source_tree(), inventory.root_pid(), now, boot_id);
  if (refusal.empty()) return {};
  return fail(make_error("cannot restore " + dir + ": " + refusal).with_hint("end that tree first, or " + std::string(kAllowCopyHint)));
}

Result<RestoreLock> RestoreLock::acquire(const std::string& dir) {
  // The directory itself: nothing is created, and it is the image, wherever it was moved or renamed.
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  struct stat st;
  // Without a directory, the image reader says what is wrong with it.
  if (!fd.valid() || ::fstat(fd.get(), &st) != 0) return RestoreLock(UniqueFd(), dir, "");
  std::string record = std::string(kRecordDir) + "/restored-" + std::to_string(st.st_dev) + "-" + std::to_string(st.st_ino) + ".tree";
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return RestoreLock(std::move(fd), dir, record);
  if (errno != EWOULDBLOCK) return fail_errno("flock(" + dir + ")");
  pid_t holder = flock_holder(st.st_ino);
  return fail(make_error("another cryo restore of " + dir + " is running" +
                         (holder > 0 ? " (PID " + std::to_string(holder) + ")" : ""))
                  .with_hint("wait for it to end, or " + std::string(kAllowCopyHint)));
}

namespace {

// True while the tree a record names still runs.
bool recorded_tree_runs(const std::string& text) {
  std::istringstream in(text);
  TreeIdentityFacts recorded;
  pid_t init = 0;
  if (!(in >> init >> recorded.boot_id >> recorded.pidns_inode >> recorded.init_start_time)) return false;
  auto now = read_tree_identity(init);
  return now && *now == recorded;
}

// Removes the records of trees that ended (of any image), so they do not pile up in /run/cryo.
// A record replaced meanwhile (a restore renames a new one into place) has another inode and stays.
void remove_ended_records() {
  DIR* d = ::opendir(kRecordDir);
  if (d == nullptr) return;
  while (dirent* entry = ::readdir(d)) {
    std::string name = entry->d_name;
    if (!name.starts_with("restored-") || !name.ends_with(".tree")) continue;
    std::string path = std::string(kRecordDir) + "/" + name;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    struct stat held, named;
    if (!fd.valid() || ::fstat(fd.get(), &held) != 0 || !S_ISREG(held.st_mode) || held.st_size > 4096) continue;
    std::string text(static_cast<size_t>(held.st_size), '\0');
    if (::read(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) continue;
    if (recorded_tree_runs(text)) continue;
    if (::lstat(path.c_str(), &named) == 0 && named.st_ino == held.st_ino && named.st_dev == held.st_dev) ::unlink(path.c_str());
  }
  ::closedir(d);
}

}  // namespace

Result<> RestoreLock::check_no_restored_copy_runs() const {
  if (record_.empty()) return {};
  auto text = read_file(record_);
  if (!text) {
    remove_ended_records();
    return {};
  }
  pid_t init = std::atoi(text->c_str());
  if (recorded_tree_runs(*text)) {
    return fail(make_error("cannot restore " + dir_ + ": a tree restored from this image earlier still runs (its init is host PID " +
                             std::to_string(init) + "); restoring it again would make a second live copy")
                      .with_hint("end that tree first, or " + std::string(kAllowCopyHint)));
  }
  // That tree is gone (or the record is unreadable): nothing to protect any more. Under the lock, so
  // no other restore of this image is writing it now.
  ::unlink(record_.c_str());
  remove_ended_records();
  return {};
}

void RestoreLock::record_restored_tree(pid_t init) const {
  if (record_.empty()) return;
  auto facts = read_tree_identity(init);
  if (!facts) return;
  ::mkdir(kRecordDir, 0700);
  std::string text = std::to_string(init) + " " + facts->boot_id + " " + std::to_string(facts->pidns_inode) + " " +
                     std::to_string(facts->init_start_time) + "\n";
  std::string temp = record_ + ".tmp";
  UniqueFd out(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out.valid() || !write_all(out.get(), text.data(), text.size(), temp)) {
    ::unlink(temp.c_str());
    return;
  }
  ::rename(temp.c_str(), record_.c_str());
}

}  // namespace cryo::restore
