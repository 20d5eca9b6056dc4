#include "restore/inotify_fds.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace cryo::restore {
namespace {

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

// name_to_handle_at(2) flag (Linux 6.5) for the handle fsnotify shows in fdinfo: an identifier
// of the inode that the filesystem need not be able to open again.
#ifndef AT_HANDLE_FID
#define AT_HANDLE_FID 0x200
#endif

// The largest handle the kernel encodes (MAX_HANDLE_SZ).
constexpr unsigned kMaxHandleBytes = 128;

Error not_the_file(const std::string& name, const std::string& why) {
  return make_error(name + ": the path is another file than the one watched at dump (" + why + ")")
      .with_hint("restore where the watched files are the ones of the dump");
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

}  // namespace

// The path is the kernel's name of the inode, so its last part is never a symbolic link that leads
// elsewhere: lstat, no AT_SYMLINK_FOLLOW, and IN_DONT_FOLLOW when the watch is added.
Result<> check_watched_file(const image::InotifyWatch& watch) {
  return check_same_inode(watch.path(), watch.identity(), watch.handle(), watch.handle_type(), watch_name(watch));
}

Result<> check_same_inode(const std::string& path, const image::FileIdentity& id, const std::string& want_handle, int handle_type,
                          const std::string& name) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return fail(errno_error("lstat").context(name));
  if (st.st_dev != id.dev() || st.st_ino != id.ino() || (st.st_mode & S_IFMT) != (id.mode() & S_IFMT))
    return fail(not_the_file(name, "inode " + std::to_string(st.st_ino) + " instead of " + std::to_string(id.ino())));
  std::vector<unsigned char> buffer(sizeof(file_handle) + kMaxHandleBytes);
  auto* handle = reinterpret_cast<file_handle*>(buffer.data());
  handle->handle_bytes = kMaxHandleBytes;
  int mount_id = 0;
  if (::name_to_handle_at(AT_FDCWD, path.c_str(), handle, &mount_id, AT_HANDLE_FID) != 0)
    return fail(errno_error("name_to_handle_at(AT_HANDLE_FID)").context(name));
  if (handle->handle_type != handle_type || handle->handle_bytes != want_handle.size() ||
      std::memcmp(handle->f_handle, want_handle.data(), want_handle.size()) != 0)
    return fail(not_the_file(name, "inode " + std::to_string(st.st_ino) + " has another file handle: it was deleted and its number reused"));
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

}  // namespace cryo::restore
