#include "dump/sysv_ipc.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/run_in_child.h"
#include "base/unique_fd.h"
#include "image/ipc_sysctls.h"
#include "image/object_limits.h"
#include "kernel/proc_text.h"
#include "ns/namespace_file.h"

namespace cryo::dump {
namespace {

// From the kernel's include/linux/shm.h: the mode bits /proc/sysvipc/shm shows beyond the permissions.
constexpr uint32_t kShmDest = 01000;
constexpr uint32_t kShmLocked = 02000;

std::string key_text(int64_t key) {
  char text[32];
  std::snprintf(text, sizeof text, "%#llx", static_cast<unsigned long long>(static_cast<uint32_t>(key)));
  return key == 0 ? "IPC_PRIVATE" : text;
}

// Only async-signal-safe calls between fork and _exit. Copies every segment into `out` (shared
// with cryo) and reports '=', or '!', the segment's index and errno on a failure (a complete
// report either way, so the child exits with 0).
int copy_in_child(int ns, const image::SysvIpc& ipc, char* out, int report) {
  auto failed = [&](int index) {
    int msg[3] = {'!', index, errno};
    report_to_parent(report, msg, sizeof msg);
    ::_exit(0);
  };
  if (::setns(ns, CLONE_NEWIPC) != 0) failed(-1);
  size_t offset = 0;
  for (int i = 0; i < ipc.segments_size(); ++i) {
    const auto& segment = ipc.segments(i);
    // Root attaches any segment (CAP_IPC_OWNER), also one marked for removal (Linux allows it).
    void* at = ::shmat(segment.id(), nullptr, SHM_RDONLY);
    if (at == reinterpret_cast<void*>(-1)) failed(i);
    std::memcpy(out + offset, at, segment.size());
    ::shmdt(at);
    offset += segment.size();
  }
  int done[3] = {'=', 0, 0};
  report_to_parent(report, done, sizeof done);
  return 0;
}

}  // namespace

Result<std::vector<SysvObject>> parse_sysvipc(std::string_view text, const std::string& kind) {
  std::vector<SysvObject> objects;
  auto rows = proc_text::lines(text);
  for (size_t i = 1; i < rows.size(); ++i) {  // The first line names the columns.
    auto f = proc_text::fields(rows[i]);
    if (f.empty()) continue;
    if (f.size() < 2) return fail("sysvipc: malformed line '" + std::string(rows[i]) + "'");
    SysvObject object{kind};
    ASSIGN_OR_RETURN(object.key, proc_text::parse_i64(f[0], "sysvipc key"));
    ASSIGN_OR_RETURN(object.id, proc_text::parse_i64(f[1], "sysvipc id"));
    objects.push_back(object);
  }
  return objects;
}

Result<image::SysvIpc> parse_sysvipc_shm(std::string_view text) {
  // key shmid perms size cpid lpid nattch uid gid cuid cgid atime dtime ctime rss swap
  image::SysvIpc ipc;
  auto rows = proc_text::lines(text);
  for (size_t i = 1; i < rows.size(); ++i) {
    auto f = proc_text::fields(rows[i]);
    if (f.empty()) continue;
    if (f.size() < 11) return fail("/proc/sysvipc/shm: malformed line '" + std::string(rows[i]) + "'");
    auto* s = ipc.add_segments();
    ASSIGN_OR_RETURN(int64_t key, proc_text::parse_i64(f[0], "shm key"));
    ASSIGN_OR_RETURN(int64_t id, proc_text::parse_i64(f[1], "shmid"));
    ASSIGN_OR_RETURN(uint64_t perms, proc_text::parse_u64(f[2], 8, "shm perms"));
    ASSIGN_OR_RETURN(uint64_t size, proc_text::parse_u64(f[3], 10, "shm size"));
    uint64_t owner[4];
    for (size_t k = 0; k < 4; ++k) {
      ASSIGN_OR_RETURN(owner[k], proc_text::parse_u64(f[7 + k], 10, "shm owner"));
    }
    if (id < 0 || id > INT32_MAX || key < INT32_MIN || key > INT32_MAX)
      return fail("/proc/sysvipc/shm: key or id out of range in '" + std::string(rows[i]) + "'");
    s->set_key(static_cast<int32_t>(key));
    s->set_id(static_cast<int32_t>(id));
    s->set_mode(static_cast<uint32_t>(perms & 0777));
    s->set_removed(perms & kShmDest);
    s->set_locked(perms & kShmLocked);
    s->set_size(size);
    s->set_uid(static_cast<uint32_t>(owner[0]));
    s->set_gid(static_cast<uint32_t>(owner[1]));
    s->set_cuid(static_cast<uint32_t>(owner[2]));
    s->set_cgid(static_cast<uint32_t>(owner[3]));
    if (perms & ~static_cast<uint64_t>(0777 | kShmDest | kShmLocked))
      return fail("shared memory segment " + std::to_string(id) + " has mode bits " + std::to_string(perms) +
                  " unknown to cryo");
  }
  std::sort(ipc.mutable_segments()->begin(), ipc.mutable_segments()->end(),
            [](const auto& a, const auto& b) { return a.id() < b.id(); });
  return ipc;
}

Result<> check_sysv_mappings(image::SysvIpc& ipc, const std::vector<SysvMapping>& mappings) {
  constexpr uint64_t kPage = 4096;
  std::vector<bool> mapped(static_cast<size_t>(ipc.segments_size()), false);
  for (const auto& m : mappings) {
    char range[64];
    std::snprintf(range, sizeof range, "%lx-%lx", static_cast<unsigned long>(m.start), static_cast<unsigned long>(m.end));
    std::string what = "pid " + std::to_string(m.pid) + ": mapping " + range + " (" + m.path + ")";
    int index = -1;
    for (int i = 0; i < ipc.segments_size(); ++i)
      if (static_cast<uint64_t>(ipc.segments(i).id()) == m.shmid) index = i;
    if (index < 0) return fail(what + ": its segment " + std::to_string(m.shmid) + " is not in the tree's IPC namespace");
    auto& segment = *ipc.mutable_segments(index);
    uint64_t whole = (segment.size() + kPage - 1) / kPage * kPage;
    if (m.pgoff != 0 || m.end - m.start != whole)
      return fail(make_error(what + " is part of System V shared memory segment " + std::to_string(m.shmid) +
                             " (munmap or mprotect of a piece), which cryo cannot dump yet")
                      .with_hint("keep whole attachments (shmat/shmdt) of the segment"));
    unsigned key = 0;
    if (std::sscanf(m.path.c_str(), "/SYSV%8x", &key) != 1) return fail(what + ": the name of a SysV mapping has no key");
    if (segment.removed()) {
      segment.set_creation_key(static_cast<int32_t>(key));
    } else if (static_cast<uint32_t>(segment.key()) != key) {
      return fail(what + ": its name does not show the segment's key " + key_text(segment.key()));
    }
    mapped[static_cast<size_t>(index)] = true;
  }
  for (int i = 0; i < ipc.segments_size(); ++i)
    if (ipc.segments(i).removed() && !mapped[static_cast<size_t>(i)])
      return fail(make_error("System V shared memory segment " + std::to_string(ipc.segments(i).id()) +
                             " is removed (IPC_RMID) but still attached by a process outside the tree, which cryo cannot dump")
                      .with_hint("detach it there first"));
  return {};
}

Result<image::SysvIpc> collect_sysv_ipc(pid_t pid) {
  ASSIGN_OR_RETURN(std::string text, read_file_in_namespace_of(pid, "ipc", CLONE_NEWIPC, "/proc/sysvipc/shm"));
  ASSIGN_OR_RETURN(image::SysvIpc ipc, parse_sysvipc_shm(text));
  auto read_sysctl = [&](std::string_view name) -> Result<std::string> {
    std::string path = "/proc/sys/kernel/" + std::string(name);
    ASSIGN_OR_RETURN(std::string value, read_file_in_namespace_of(pid, "ipc", CLONE_NEWIPC, path.c_str(), 256));
    while (!value.empty() && value.back() == '\n') value.pop_back();
    return value;
  };
  for (std::string_view name : image::kIpcSysctls) {
    ASSIGN_OR_RETURN(std::string value, read_sysctl(name));
    // -1, no id asked for, is what a new namespace has and cannot be written.
    if (name.ends_with("_next_id") && value == "-1") continue;
    auto* sysctl = ipc.add_sysctls();
    sysctl->set_name(std::string(name));
    sysctl->set_value(value);
  }
  // With it, a segment goes when its creator exits unattached: restored segments have another
  // creator (the restore's helper), so they would not go with the process that made them.
  ASSIGN_OR_RETURN(std::string rmid_forced, read_sysctl("shm_rmid_forced"));
  if (rmid_forced != "0")
    return fail(make_error("the tree's IPC namespace has kernel.shm_rmid_forced = " + rmid_forced + ", which cryo cannot dump yet")
                    .with_hint("set it to 0 in the tree (sysctl kernel.shm_rmid_forced=0)"));
  uint64_t total = 0;
  for (const auto& s : ipc.segments()) total += s.size();
  RETURN_IF_ERROR(collect_sysv_sem_msg(pid, ipc, total));
  if (ipc.segments_size() == 0) return ipc;
  // One record of sysv.img holds them all.
  if (total > image::kMaxSysvBytes)
    return fail(make_error("the tree's SysV shared memory segments hold " + std::to_string(total) + " bytes, more than the " +
                           std::to_string(image::kMaxSysvBytes) + " cryo stores, which cryo cannot dump yet")
                    .with_hint("use smaller segments"));

  std::string ns_path = "/proc/" + std::to_string(pid) + "/ns/ipc";
  UniqueFd ns(::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) return fail_errno("open(" + ns_path + ")");
  // Shared with the helper, which copies the segments into it from inside the namespace.
  void* buffer = ::mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (buffer == MAP_FAILED) return fail_errno("mmap(" + std::to_string(total) + " bytes for SysV shared memory)");
  struct Unmap {
    void* p;
    size_t n;
    ~Unmap() { ::munmap(p, n); }
  } unmap{buffer, total};
  ASSIGN_OR_RETURN_CTX(std::string answer,
                       run_in_child({.what = "the helper in the tree's IPC namespace", .max_report = 3 * sizeof(int)},
                                    [&](int out) { return copy_in_child(ns.get(), ipc, static_cast<char*>(buffer), out); }),
                       "copy SysV shared memory");
  int report[3] = {0, 0, 0};
  if (answer.size() == sizeof report) std::memcpy(report, answer.data(), sizeof report);
  if (answer.size() == sizeof report && report[0] == '!') {
    std::string call = report[1] < 0 ? "setns(" + ns_path + ")" : "shmat(" + std::to_string(ipc.segments(report[1]).id()) + ")";
    return fail(errno_error(call, report[2]).context("copy SysV shared memory"));
  }
  if (answer.size() != sizeof report || report[0] != '=')
    return fail("copy SysV shared memory: the helper in the tree's IPC namespace failed");
  const char* bytes = static_cast<const char*>(buffer);
  for (auto& s : *ipc.mutable_segments()) {
    s.set_contents(bytes, s.size());
    bytes += s.size();
  }
  return ipc;
}

}  // namespace cryo::dump
