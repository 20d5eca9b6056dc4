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

#include "base/page_size.h"
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

// Opens the shmem file of every segment from inside the IPC namespace of `pid` (attaching a
// segment, reading its file through /proc/self/map_files, detaching), so that its data can be read
// with SEEK_DATA and pread like a memory object's, without faulting its holes in.
Result<std::vector<UniqueFd>> open_segments(pid_t pid, const image::SysvIpc& ipc) {
  std::vector<UniqueFd> files;
  RETURN_IF_ERROR(run_in_namespace_of(pid, "ipc", CLONE_NEWIPC, "open the tree's SysV shared memory segments", [&]() -> Result<> {
    for (const auto& segment : ipc.segments()) {
      // Root attaches any segment (CAP_IPC_OWNER), also one marked for removal (Linux allows it).
      void* at = ::shmat(segment.id(), nullptr, SHM_RDONLY);
      if (at == reinterpret_cast<void*>(-1)) return fail_errno("shmat(" + std::to_string(segment.id()) + ")");
      uint64_t whole = (segment.size() + kPageSize - 1) & ~(kPageSize - 1);
      char path[80];
      std::snprintf(path, sizeof path, "/proc/self/map_files/%lx-%lx", reinterpret_cast<unsigned long>(at),
                    reinterpret_cast<unsigned long>(at) + static_cast<unsigned long>(whole));
      UniqueFd file(::open(path, O_RDONLY | O_CLOEXEC));
      int saved = errno;
      ::shmdt(at);
      if (!file.valid())
        return fail(errno_error(std::string("open(") + path + ")", saved).context("segment " + std::to_string(segment.id())));
      files.push_back(std::move(file));
    }
    return {};
  }));
  return files;
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

Result<image::SysvIpc> collect_sysv_ipc(pid_t pid, MemoryObjectCollector& pages) {
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
  // Segments' pages go to the object pages file: only messages share sysv.img's record bytes.
  RETURN_IF_ERROR(collect_sysv_sem_msg(pid, ipc));
  if (ipc.segments_size() == 0) return ipc;
  for (const auto& s : ipc.segments())
    if (s.size() > image::kMaxObjectBytes)
      return fail("System V shared memory segment " + std::to_string(s.id()) + " is of " + std::to_string(s.size()) +
                  " bytes; cryo stores at most " + std::to_string(image::kMaxObjectBytes >> 40) + " TiB per segment");

  ASSIGN_OR_RETURN_CTX(std::vector<UniqueFd> files, open_segments(pid, ipc), "copy SysV shared memory");
  for (int i = 0; i < ipc.segments_size(); ++i) {
    auto& segment = *ipc.mutable_segments(i);
    segment.set_paged(true);
    std::string what = "System V shared memory segment " + std::to_string(segment.id());
    RETURN_IF_ERROR(pages.store_pages(files[static_cast<size_t>(i)].get(), segment.size(), *segment.mutable_runs(), what));
  }
  // The runs share sysv.img's one record with the messages.
  if (ipc.ByteSizeLong() > image::kMaxObjectRunsBytes)
    return fail(make_error("the tree's SysV objects take " + std::to_string(ipc.ByteSizeLong()) +
                           " bytes of record (segments' data scattered into many runs between holes, and messages), more than the " +
                           std::to_string(image::kMaxObjectRunsBytes) + " cryo stores, which cryo cannot dump yet"));
  return ipc;
}

}  // namespace cryo::dump
