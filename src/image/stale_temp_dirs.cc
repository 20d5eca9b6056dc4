#include "image/stale_temp_dirs.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <random>

#include "base/logging.h"

namespace cryo::image {
namespace {

constexpr size_t kSuffixLength = 6;
constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

auto log() { return logging::get("image"); }

// flock, retried on EINTR.
int lock(int fd, int operation) {
  int rc;
  do rc = ::flock(fd, operation);
  while (rc != 0 && errno == EINTR);
  return rc;
}

}  // namespace

std::string temp_dir_prefix(const std::string& final_name) { return final_name + ".cryo-tmp-"; }

bool is_temp_dir_of(const std::string& name, const std::string& final_name) {
  std::string prefix = temp_dir_prefix(final_name);
  if (name.size() != prefix.size() + kSuffixLength || !name.starts_with(prefix)) return false;
  for (size_t i = prefix.size(); i < name.size(); ++i)
    if (kAlphabet.find(name[i]) == std::string_view::npos) return false;
  return true;
}

Result<DirFd> make_locked_temp_dir(const DirFd& parent, const std::string& final_name, std::string* temp_name) {
  // Shared: other dumps may make theirs at the same time; a sweep (exclusive) waits for us.
  if (lock(parent.get(), LOCK_SH) != 0) return fail_errno("flock(" + parent.path() + ", LOCK_SH)");
  struct Unlock {
    int fd;
    ~Unlock() { lock(fd, LOCK_UN); }
  } unlock{parent.get()};
  std::random_device entropy;
  std::uniform_int_distribution<size_t> pick(0, kAlphabet.size() - 1);
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string name = temp_dir_prefix(final_name);
    for (size_t i = 0; i < kSuffixLength; ++i) name += kAlphabet[pick(entropy)];
    if (::mkdirat(parent.get(), name.c_str(), 0700) != 0) {
      if (errno == EEXIST) continue;
      return fail_errno("mkdir(" + parent.describe(name) + ")");
    }
    auto dir = DirFd::open_at(parent, name, parent.describe(name));
    if (!dir) {
      ::unlinkat(parent.get(), name.c_str(), AT_REMOVEDIR);
      return fail(dir.error());
    }
    if (lock(dir->get(), LOCK_EX | LOCK_NB) != 0) {
      Error e = errno_error("flock(" + dir->path() + ", LOCK_EX)");
      ::unlinkat(parent.get(), name.c_str(), AT_REMOVEDIR);
      return fail(e);
    }
    *temp_name = name;
    return std::move(*dir);
  }
  return fail("mkdir(" + parent.describe(temp_dir_prefix(final_name) + "XXXXXX") + "): no free name in 100 attempts");
}

void remove_flat_dir(const DirFd& parent, const std::string& name, const DirFd& dir) {
  if (auto names = dir.list()) {
    for (const auto& entry : *names) ::unlinkat(dir.get(), entry.c_str(), 0);  // EISDIR for a directory: left.
  }
  ::unlinkat(parent.get(), name.c_str(), AT_REMOVEDIR);
}

std::vector<std::string> remove_stale_temp_dirs(const DirFd& parent, const std::string& final_name) {
  std::vector<std::string> removed;
  auto names = parent.list();
  if (!names) return removed;
  bool any = false;
  for (const auto& name : *names) any = any || is_temp_dir_of(name, final_name);
  if (!any) return removed;
  // Exclusive, without waiting: a dump making its directory right now holds the shared lock, and
  // its directory is not yet locked. Another time then.
  if (lock(parent.get(), LOCK_EX | LOCK_NB) != 0) return removed;
  for (const auto& name : *names) {
    if (!is_temp_dir_of(name, final_name)) continue;
    auto st = parent.stat_entry(name);
    if (!st || !S_ISDIR(st->st_mode) || st->st_uid != ::geteuid()) continue;  // Not one a dump of ours made.
    auto dir = DirFd::open_at(parent, name, parent.describe(name));
    if (!dir) continue;
    struct stat opened;
    if (::fstat(dir->get(), &opened) != 0 || opened.st_ino != st->st_ino || opened.st_dev != st->st_dev) continue;
    if (lock(dir->get(), LOCK_EX | LOCK_NB) != 0) {
      log()->debug("{} is in use by a running cryo; left alone", dir->path());
      continue;
    }
    remove_flat_dir(parent, name, *dir);
    if (parent.stat_entry(name)) {
      log()->warn("{} is left over from a dump that no longer runs, and cannot be removed", dir->path());
      continue;
    }
    log()->info("removed {}, left over from a dump that no longer runs", dir->path());
    removed.push_back(name);
  }
  lock(parent.get(), LOCK_UN);
  return removed;
}

}  // namespace cryo::image
