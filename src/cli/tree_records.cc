#include "cli/tree_records.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cctype>
#include <charconv>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "base/dir_fd.h"
#include "base/file_util.h"
#include "base/logging.h"
#include "base/unique_fd.h"
#include "kernel/proc_status.h"

namespace cryo::cli {
namespace {

constexpr const char* kRunDir = "/run/cryo";
constexpr const char* kRecordDir = "/run/cryo/trees";
constexpr std::string_view kHeader = "cryo-tree-record 1";
constexpr std::string_view kSuffix = ".tree";
constexpr std::string_view kTempSuffix = ".tree.tmp";
// PID_MAX_LIMIT on 64-bit kernels.
constexpr int64_t kMaxPid = 4 * 1024 * 1024;

// Values hold no space, control byte or backslash, so a line is "key value" and nothing more.
std::string escape_value(std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : value) {
    if (c > 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Result<std::string> unescape_value(std::string_view value) {
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    if (c != '\\') {
      if (c <= 0x20 || c >= 0x7f) return fail("raw byte " + std::to_string(c) + " in a value");
      out += static_cast<char>(c);
      continue;
    }
    unsigned byte = 0;
    if (value.size() - i < 4 || value[i + 1] != 'x') return fail("bad escape in a value");
    auto [end, ec] = std::from_chars(value.data() + i + 2, value.data() + i + 4, byte, 16);
    if (ec != std::errc() || end != value.data() + i + 4) return fail("bad escape in a value");
    out += static_cast<char>(byte);
    i += 3;
  }
  return out;
}

template <typename T>
Result<T> parse_number(std::string_view key, std::string_view text, T min, T max) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < min || value > max)
    return fail(std::string(key) + " '" + std::string(text.substr(0, 40)) + "' is not a number in range");
  return value;
}

bool is_boot_id(std::string_view id) {
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? id[i] != '-' : !std::isxdigit(static_cast<unsigned char>(id[i]))) return false;
  }
  return true;
}

int64_t realtime_now_ns() {
  struct timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  return int64_t(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

// Opens the record directory, creating it (and /run/cryo) 0700 when asked. It must be a directory of
// cryo's own user that nobody else can write: records decide what `cryo ps` shows, and which file a
// prune unlinks. Absent and not to be created: an invalid DirFd.
Result<DirFd> open_record_dir(bool create) {
  if (create) {
    if (::mkdir(kRunDir, 0700) != 0 && errno != EEXIST) return fail_errno(std::string("mkdir(") + kRunDir + ")");
    if (::mkdir(kRecordDir, 0700) != 0 && errno != EEXIST) return fail_errno(std::string("mkdir(") + kRecordDir + ")");
  }
  auto dir = DirFd::open(kRecordDir);
  if (!dir) {
    if (!create && dir.error().err == ENOENT) return DirFd();
    return fail(dir.error());
  }
  struct stat st;
  if (::fstat(dir->get(), &st) != 0) return fail_errno(std::string("fstat(") + kRecordDir + ")");
  if (st.st_uid != ::geteuid() || (st.st_mode & 022) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    return fail(make_error(std::string(kRecordDir) + " is owned by uid " + std::to_string(st.st_uid) + " with mode " + mode +
                           ": records there cannot be trusted")
                    .with_hint("make it a directory of this user, mode 0700"));
  }
  // Writers and pruners take it in turn: a prune never unlinks a record renamed into place meanwhile.
  if (::flock(dir->get(), LOCK_EX) != 0) return fail_errno(std::string("flock(") + kRecordDir + ")");
  return std::move(*dir);
}

std::string record_name(pid_t init) { return std::to_string(init) + std::string(kSuffix); }

enum class Liveness { Runs, Gone, NotAnInit };

// Whether the record's tree still runs: the process of that PID has the recorded identity and is PID
// 1 of its own PID namespace. A pidfd pins the process while /proc is read, so the answers all come
// from one process even if the PID is reused in between.
Liveness check_liveness(const TreeRecord& record) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, record.init, 0)));
  if (!pidfd.valid()) return Liveness::Gone;
  auto identity = read_tree_identity(record.init);
  if (!identity || !(*identity == record.identity)) return Liveness::Gone;
  auto status = read_proc_status(record.init);
  // A pidfd becomes readable once its process has exited.
  struct pollfd exited = {pidfd.get(), POLLIN, 0};
  if (!status || ::poll(&exited, 1, 0) != 0) return Liveness::Gone;
  if (status->ns_pid.size() < 2 || status->ns_pid.back() != 1) return Liveness::NotAnInit;
  return Liveness::Runs;
}

// Unlinks `name` if it is still the file that was read (same inode); under the directory's lock.
void unlink_if_same(const DirFd& dir, const std::string& name, const struct stat& read) {
  struct stat now;
  if (::fstatat(dir.get(), name.c_str(), &now, AT_SYMLINK_NOFOLLOW) != 0) return;
  if (now.st_dev == read.st_dev && now.st_ino == read.st_ino) ::unlinkat(dir.get(), name.c_str(), 0);
}

// Reads and parses one record file, or says why it is not one.
Result<std::pair<TreeRecord, struct stat>> read_record(const DirFd& dir, const std::string& name) {
  std::string_view stem(name);
  if (!stem.ends_with(kSuffix)) return fail("not a record file (no " + std::string(kSuffix) + " suffix)");
  stem.remove_suffix(kSuffix.size());
  ASSIGN_OR_RETURN(OpenedFile file, dir.open_regular(name, kMaxRecordFileSize));
  struct stat st;
  if (::fstat(file.fd.get(), &st) != 0) return fail_errno("fstat");
  if (st.st_uid != ::geteuid() || (st.st_mode & 022) != 0)
    return fail("owned by uid " + std::to_string(st.st_uid) + " or writable by others: not a record cryo wrote");
  ASSIGN_OR_RETURN(std::string text, read_bounded(file.fd.get(), kMaxRecordFileSize, dir.describe(name)));
  ASSIGN_OR_RETURN(TreeRecord record, parse_tree_record(text));
  if (std::to_string(record.init) != stem)
    return fail("it names PID " + std::to_string(record.init) + " but is called " + name);
  return std::pair{std::move(record), st};
}

// Goes through every entry of the (locked) record directory: removes the records of trees that
// ended and leftovers of writers that died, keeps the trees that run, and warns about the rest.
TreeListing scan(const DirFd& dir, const std::string& keep = "") {
  TreeListing listing;
  auto names = dir.list();
  if (!names) {
    listing.warnings.push_back(names.error().message);
    return listing;
  }
  for (const std::string& name : *names) {
    if (name == keep) continue;
    // Only a writer holding the lock has a temporary file: one seen now is a dead writer's.
    if (name.ends_with(kTempSuffix)) {
      struct stat st;
      if (::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
        ::unlinkat(dir.get(), name.c_str(), 0);
      continue;
    }
    auto read = read_record(dir, name);
    if (!read) {
      listing.warnings.push_back("skipping " + dir.describe(name) + ": " + read.error().message);
      continue;
    }
    auto& [record, st] = *read;
    switch (check_liveness(record)) {
      case Liveness::Gone:
        logging::get("ps")->debug("{}: the tree of PID {} has ended; record removed", dir.describe(name), record.init);
        unlink_if_same(dir, name, st);
        break;
      case Liveness::NotAnInit:
        listing.warnings.push_back("skipping " + dir.describe(name) + ": PID " + std::to_string(record.init) +
                                   " is not the init of a PID namespace, so this is not a record cryo wrote");
        break;
      case Liveness::Runs:
        listing.running.push_back(std::move(record));
        break;
    }
  }
  std::sort(listing.running.begin(), listing.running.end(),
            [](const TreeRecord& a, const TreeRecord& b) { return a.init < b.init; });
  return listing;
}

}  // namespace

std::string tree_record_dir() { return kRecordDir; }

std::string format_tree_record(const TreeRecord& record) {
  std::string out = std::string(kHeader) + "\n";
  out += "init " + std::to_string(record.init) + "\n";
  out += "boot_id " + escape_value(record.identity.boot_id) + "\n";
  out += "pidns_inode " + std::to_string(record.identity.pidns_inode) + "\n";
  out += "init_start_time " + std::to_string(record.identity.init_start_time) + "\n";
  out += std::string("origin ") + (record.origin == TreeOrigin::Run ? "run" : "restore") + "\n";
  out += "started_ns " + std::to_string(record.started_ns) + "\n";
  if (record.origin == TreeOrigin::Restore) out += "image " + escape_value(record.image) + "\n";
  out += "monotonic_offset_ns " + std::to_string(record.offsets.monotonic_ns) + "\n";
  out += "boottime_offset_ns " + std::to_string(record.offsets.boottime_ns) + "\n";
  for (const std::string& arg : record.command) out += "arg " + escape_value(arg) + "\n";
  return out;
}

Result<TreeRecord> parse_tree_record(std::string_view text) {
  if (text.size() > kMaxRecordFileSize) return fail("larger than " + std::to_string(kMaxRecordFileSize) + " bytes");
  if (!text.starts_with(std::string(kHeader) + "\n")) return fail("does not start with '" + std::string(kHeader) + "'");
  if (!text.ends_with('\n')) return fail("its last line is cut off");
  text.remove_prefix(kHeader.size() + 1);
  TreeRecord record;
  std::map<std::string, std::string, std::less<>> fields;
  while (!text.empty()) {
    size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline + 1);
    size_t space = line.find(' ');
    if (space == std::string_view::npos) return fail("a line without a value");
    std::string_view key = line.substr(0, space);
    ASSIGN_OR_RETURN_CTX(std::string value, unescape_value(line.substr(space + 1)), std::string(key.substr(0, 40)));
    if (key == "arg") {
      if (record.command.size() >= kMaxRecordArgs) return fail("more than " + std::to_string(kMaxRecordArgs) + " arguments");
      if (value.size() > kMaxRecordArgBytes) return fail("an argument longer than " + std::to_string(kMaxRecordArgBytes) + " bytes");
      record.command.push_back(std::move(value));
      continue;
    }
    static constexpr std::string_view kKeys[] = {"init", "boot_id", "pidns_inode", "init_start_time", "origin",
                                                 "started_ns", "image", "monotonic_offset_ns", "boottime_offset_ns"};
    if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys))
      return fail("unknown key '" + escape_value(key.substr(0, 40)) + "'");
    if (!fields.emplace(std::string(key), std::move(value)).second) return fail("key '" + std::string(key) + "' twice");
  }
  for (std::string_view key : {"init", "boot_id", "pidns_inode", "init_start_time", "origin", "started_ns",
                               "monotonic_offset_ns", "boottime_offset_ns"})
    if (!fields.contains(key)) return fail("no '" + std::string(key) + "'");
  if (record.command.empty()) return fail("no command");
  ASSIGN_OR_RETURN(int64_t init, parse_number<int64_t>("init", fields["init"], 1, kMaxPid));
  record.init = static_cast<pid_t>(init);
  record.identity.boot_id = fields["boot_id"];
  if (!is_boot_id(record.identity.boot_id)) return fail("boot_id is not a boot id");
  ASSIGN_OR_RETURN(record.identity.pidns_inode,
                   parse_number<uint64_t>("pidns_inode", fields["pidns_inode"], 1, UINT64_MAX));
  ASSIGN_OR_RETURN(record.identity.init_start_time,
                   parse_number<uint64_t>("init_start_time", fields["init_start_time"], 1, UINT64_MAX));
  ASSIGN_OR_RETURN(record.started_ns, parse_number<int64_t>("started_ns", fields["started_ns"], 1, INT64_MAX));
  ASSIGN_OR_RETURN(record.offsets.monotonic_ns,
                   parse_number<int64_t>("monotonic_offset_ns", fields["monotonic_offset_ns"], INT64_MIN, INT64_MAX));
  ASSIGN_OR_RETURN(record.offsets.boottime_ns,
                   parse_number<int64_t>("boottime_offset_ns", fields["boottime_offset_ns"], INT64_MIN, INT64_MAX));
  const std::string& origin = fields["origin"];
  if (origin == "run") {
    record.origin = TreeOrigin::Run;
    if (fields.contains("image")) return fail("a tree cryo run started has no image");
  } else if (origin == "restore") {
    record.origin = TreeOrigin::Restore;
    if (!fields.contains("image")) return fail("a restored tree without its image");
    record.image = fields["image"];
    if (!record.image.starts_with('/') || record.image.size() > kMaxRecordArgBytes ||
        record.image.find('\0') != std::string::npos)
      return fail("image is not an absolute path");
  } else {
    return fail("origin '" + escape_value(origin.substr(0, 40)) + "' is neither run nor restore");
  }
  return record;
}

std::vector<std::string> bounded_command(std::vector<std::string> argv) {
  std::vector<std::string> kept;
  size_t room = kMaxRecordCommandBytes;
  for (auto& arg : argv) {
    if (kept.size() == kMaxRecordArgs || (room == 0 && !arg.empty())) break;
    arg.resize(std::min({arg.size(), kMaxRecordArgBytes, room}));
    room -= arg.size();
    kept.push_back(std::move(arg));
  }
  return kept;
}

Result<TreeRecord> describe_tree(pid_t init, TreeOrigin origin, std::vector<std::string> command, std::string image) {
  TreeRecord record;
  record.init = init;
  record.origin = origin;
  record.started_ns = realtime_now_ns();
  ASSIGN_OR_RETURN(record.identity, read_tree_identity(init));
  ASSIGN_OR_RETURN(record.offsets, read_timens_offsets(init));
  if (origin == TreeOrigin::Restore) {
    char resolved[PATH_MAX];
    if (::realpath(image.c_str(), resolved) == nullptr) return fail_errno("realpath(" + image + ")");
    record.image = resolved;
    if (command.empty()) {
      // The restored init's own command line, from its restored memory.
      ASSIGN_OR_RETURN(std::string cmdline, read_file("/proc/" + std::to_string(init) + "/cmdline"));
      size_t start = 0;
      while (start < cmdline.size()) {
        size_t end = cmdline.find('\0', start);
        if (end == std::string::npos) end = cmdline.size();
        command.push_back(cmdline.substr(start, end - start));
        start = end + 1;
      }
    }
  }
  if (command.empty()) command.push_back("");
  record.command = bounded_command(std::move(command));
  return record;
}

Result<> save_tree_record(const TreeRecord& record) {
  ASSIGN_OR_RETURN(DirFd dir, open_record_dir(true));
  const std::string name = record_name(record.init);
  const std::string temp = std::to_string(record.init) + std::string(kTempSuffix);
  ::unlinkat(dir.get(), temp.c_str(), 0);  // A dead writer's; we hold the lock.
  std::string text = format_tree_record(record);
  {
    ASSIGN_OR_RETURN(UniqueFd out, dir.create_file(temp));
    if (auto written = write_all(out.get(), text.data(), text.size(), dir.describe(temp)); !written) {
      ::unlinkat(dir.get(), temp.c_str(), 0);
      return fail(written.error());
    }
  }
  if (::renameat(dir.get(), temp.c_str(), dir.get(), name.c_str()) != 0) {
    auto error = errno_error("rename(" + dir.describe(temp) + ")");
    ::unlinkat(dir.get(), temp.c_str(), 0);
    return fail(error);
  }
  // Noticed while here: the records of trees that ended go.
  for (const auto& warning : scan(dir, name).warnings) logging::get("ps")->debug("{}", warning);
  return {};
}

void record_detached_tree(pid_t init, TreeOrigin origin, std::vector<std::string> command, const std::string& image) {
  auto record = describe_tree(init, origin, std::move(command), image);
  if (!record) {
    // Ended already: there is nothing to find again.
    logging::get("ps")->debug("host pid {}: no record: {}", init, record.error().message);
    return;
  }
  if (auto saved = save_tree_record(*record); !saved)
    logging::get("ps")->warn("cryo ps will not list the tree of PID {}: {}", init, saved.error().message);
}

Result<TreeListing> list_running_trees() {
  ASSIGN_OR_RETURN(DirFd dir, open_record_dir(false));
  if (!dir.valid()) return TreeListing{};
  return scan(dir);
}

void forget_tree_record(pid_t init, const TreeIdentityFacts& identity) {
  auto dir = open_record_dir(false);
  if (!dir || !dir->valid()) return;
  const std::string name = record_name(init);
  auto read = read_record(*dir, name);
  if (!read || !(read->first.identity == identity)) return;
  unlink_if_same(*dir, name, read->second);
}

}  // namespace cryo::cli
