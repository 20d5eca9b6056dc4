#include "state/files/inotify.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "base/file_util.h"
#include "base/unique_fd.h"
#include "image/inotify_limits.h"
#include "image/value_checks.h"
#include "state/files/watched_inode.h"

namespace cryo::state {
namespace {

std::string watch_name(const InotifyWatchInfo& watch) {
  return "inotify watch " + std::to_string(watch.wd) + " (inode " + std::to_string(watch.ino) + " on device " +
         device_name(watch.sdev) + ")";
}

// What fdinfo shows of an inotify watch's mask: the event bits and the two flags the kernel keeps
// (IN_ONLYDIR, IN_DONT_FOLLOW, IN_MASK_ADD and IN_MASK_CREATE act only when the watch is added).
constexpr uint32_t kInotifyMaskBits = IN_ALL_EVENTS | IN_EXCL_UNLINK | IN_ONESHOT;
// Far above the default fs.inotify.max_user_watches (8192, or up to 1 % of memory).
constexpr int kMaxInotifyWatches = 1 << 20;

void validate_inotify_state(const image::InotifyState& state, const std::string& name, std::vector<std::string>* problems) {
  if (state.watches_size() > kMaxInotifyWatches) {
    problems->push_back(name + ": inotify fd has too many watches");
    return;
  }
  int last = 0;
  std::set<std::pair<uint64_t, uint64_t>> inodes;
  for (const auto& watch : state.watches()) {
    std::string w = name + ": inotify watch " + std::to_string(watch.wd());
    // Restore adds them in this order to get the same numbers: ascending also means unique.
    if (watch.wd() <= 0) problems->push_back(w + ": a wd is a positive number");
    else if (watch.wd() <= last) problems->push_back(w + " is not above the watch before it (" + std::to_string(last) + ")");
    last = std::max(last, watch.wd());
    if (watch.mask() & ~kInotifyMaskBits) problems->push_back(w + ": unknown mask bits in " + std::to_string(watch.mask()));
    if (!image::is_clean_absolute_path(watch.path())) problems->push_back(w + ": path '" + watch.path() + "' is not a clean absolute path");
    if (!watch.has_identity() || watch.identity().ino() == 0) problems->push_back(w + ": no identity of the watched file");
    if (watch.handle().empty() || watch.handle().size() > 128) problems->push_back(w + ": no file handle, or one longer than the kernel's 128 bytes");
    else if (!inodes.insert({watch.identity().dev(), watch.identity().ino()}).second)
      problems->push_back(w + ": a second watch on the same file (an fd has one watch per inode)");
  }
  if (last - static_cast<int64_t>(state.watches_size()) > image::kMaxInotifySkippedWds)
    problems->push_back(name + ": inotify watches reach wd " + std::to_string(last) + ", skipping more than " +
                        std::to_string(image::kMaxInotifySkippedWds) + " numbers");
}

// Directories every tree sees; the first not watched by the fd itself carries the throwaway watches
// (a second watch on an inode the fd already watches would only change that watch's mask).
constexpr const char* kThrowawayCandidates[] = {"/", "/dev", "/etc", "/usr", "/tmp"};

std::string watch_name(const image::InotifyWatch& watch) { return "inotify watch " + std::to_string(watch.wd()) + " (" + watch.path() + ")"; }

Result<std::string> throwaway_path(const image::InotifyState& state) {
  for (const char* candidate : kThrowawayCandidates) {
    struct stat st;
    if (::stat(candidate, &st) != 0) continue;
    bool watched = false;
    for (const auto& watch : state.watches())
      watched |= watch.identity().dev() == st.st_dev && watch.identity().ino() == st.st_ino;
    if (!watched) return std::string(candidate);
  }
  return fail("no directory to fill gaps in the wd numbers with: the fd watches all of / /dev /etc /usr /tmp");
}

// Reads every queued event: each must be the IN_IGNORED of a throwaway watch (wd `throwaway`, or
// none expected when 0). An event of a restored watch cannot be given back to the queue.
Result<> drain(int fd, int throwaway) {
  alignas(inotify_event) char buffer[4096];
  bool seen = false;
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n < 0) return fail_errno("read(inotify)");
    for (ssize_t at = 0; at + static_cast<ssize_t>(sizeof(inotify_event)) <= n;) {
      inotify_event event;
      std::memcpy(&event, buffer + at, sizeof event);
      if (throwaway == 0 || event.wd != throwaway || event.mask != IN_IGNORED)
        return fail(make_error("inotify wd " + std::to_string(event.wd) + " got event mask " + std::to_string(event.mask) +
                               " while its fd was being restored, which cryo cannot give back")
                        .with_hint("a watched file changed during the restore; restore again"));
      seen = true;
      at += static_cast<ssize_t>(sizeof event + event.len);
    }
  }
  if (throwaway != 0 && !seen) return fail("inotify: the removal of throwaway watch " + std::to_string(throwaway) + " queued no IN_IGNORED");
  return {};
}

Result<UniqueFd> create_inotify(const image::InotifyState& state) {
  UniqueFd fd(::inotify_init1(IN_NONBLOCK));
  if (!fd.valid()) return fail_errno("inotify_init1");
  std::string throwaway;
  int next = 1;  // The wd the kernel gives next.
  for (const auto& watch : state.watches()) {
    // Validation made the wds ascending and positive.
    if (next < watch.wd() && throwaway.empty()) { ASSIGN_OR_RETURN(throwaway, throwaway_path(state)); }
    for (; next < watch.wd(); ++next) {
      int wd = ::inotify_add_watch(fd.get(), throwaway.c_str(), IN_DELETE_SELF | IN_ONLYDIR);
      if (wd < 0) return fail_errno("inotify_add_watch(" + throwaway + ") to skip wd " + std::to_string(next));
      if (wd != next) return fail("inotify: the throwaway watch that skips wd " + std::to_string(next) + " got wd " + std::to_string(wd));
      if (::inotify_rm_watch(fd.get(), wd) != 0) return fail_errno("inotify_rm_watch(" + std::to_string(wd) + ")");
      RETURN_IF_ERROR(drain(fd.get(), wd));
    }
    RETURN_IF_ERROR(check_watched_file(watch));
    int wd = ::inotify_add_watch(fd.get(), watch.path().c_str(), watch.mask() | IN_DONT_FOLLOW);
    if (wd < 0) return fail(errno_error("inotify_add_watch").context(watch_name(watch)));
    if (wd != watch.wd()) return fail(watch_name(watch) + " came back as wd " + std::to_string(wd));
    // The path could have been replaced between the check and the watch.
    RETURN_IF_ERROR(check_watched_file(watch));
    next = wd + 1;
  }
  RETURN_IF_ERROR(drain(fd.get(), 0));
  return fd;
}

}  // namespace

Result<> collect_inotify(const FdCollect& in, image::Fd& out) {
  pid_t pid = in.pid;
  const FdInfo& info = in.info;
  ASSIGN_OR_RETURN(int queued, queued_event_bytes(pid, in.fd));
  if (queued > 0)
    return fail(make_error("inotify fd has " + std::to_string(queued) + " bytes of events queued, which cryo cannot dump: they cannot "
                           "be read back without taking them from the process")
                    .with_hint("let the process read its events first, then dump again"));
  ASSIGN_OR_RETURN(std::string mountinfo, read_file("/proc/" + std::to_string(pid) + "/mountinfo"));
  std::vector<InotifyWatchInfo> watches = info.inotify_watches;
  std::sort(watches.begin(), watches.end(), [](const auto& a, const auto& b) { return a.wd < b.wd; });
  if (!watches.empty() && watches.back().wd - static_cast<int64_t>(watches.size()) > image::kMaxInotifySkippedWds)
    return fail(make_error("inotify fd's watches reach wd " + std::to_string(watches.back().wd) + " with " + std::to_string(watches.size()) +
                           " live, which cryo cannot dump: restore would add a throwaway watch for each of the more than " +
                           std::to_string(image::kMaxInotifySkippedWds) + " numbers between"));
  image::InotifyState* state = out.mutable_inotify();
  for (const InotifyWatchInfo& watch : watches) {
    if (watch.ignored_mask != 0) return fail(watch_name(watch) + " has an ignored mask, which inotify never sets");
    image::InotifyWatch* entry = state->add_watches();
    entry->set_wd(watch.wd);
    entry->set_mask(watch.mask);
    RETURN_IF_ERROR(record_watched_inode(pid, mountinfo, {watch.ino, watch.sdev, watch.handle, watch.handle_type}, watch_name(watch), entry));
  }
  return {};
}

void validate_inotify(const image::Fd& fd, const std::set<int>&, const std::string& name, std::vector<std::string>* problems) {
  validate_inotify_state(fd.inotify(), name, problems);
}

// The path is the kernel's name of the inode, so its last part is never a symbolic link that leads
// elsewhere: lstat, no AT_SYMLINK_FOLLOW, and IN_DONT_FOLLOW when the watch is added.
Result<> check_watched_file(const image::InotifyWatch& watch) {
  return check_same_inode(watch.path(), watch.identity(), watch.handle(), watch.handle_type(), watch_name(watch));
}

// Non-blocking from the start; create_fd then sets the image's status flags.
Result<int> install_inotify(const image::Fd& fd, const FdInstall&) {
  ASSIGN_OR_RETURN(UniqueFd made, create_inotify(fd.inotify()));
  return made.release();
}

}  // namespace cryo::state
