// Validation of sysv.img (restore/sysv_ipc.h restores it) and of the mappings that name its segments.
#include <climits>
#include <cstdio>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "image/ipc_sysctls.h"
#include "image/object_limits.h"
#include "restore/image_validation.h"

namespace cryo::restore {
namespace {

uint64_t whole_pages(uint64_t size) { return (size + 4095) / 4096 * 4096; }

// The kernel's bounds: SEMVMX, the largest semaphore value; IPCMNI, the most objects of one kind
// in a namespace (the default, without ipcmni_extend); an int for msg_qbytes (msgmnb is an int).
// The counts of semaphores and messages are image/object_limits.h's, which dump applies too.
constexpr uint32_t kSemValueMax = 32767;
constexpr int kMaxObjectsOfAKind = 32768;
using image::kMaxMessages;
using image::kMaxSemaphores;
using image::kMaxSemsPerSet;

template <typename Object>
void check_id_key_mode(const Object& o, const std::string& name, std::set<int64_t>& ids, std::set<int32_t>& keys,
                       const std::function<void(const std::string&)>& problem) {
  if (o.id() < 0) problem(name + ": negative id");
  if (!ids.insert(o.id()).second) problem(name + ": a second one with this id");
  if (o.key() != 0 && !keys.insert(o.key()).second) problem(name + ": a second one with key " + std::to_string(o.key()));
  if (o.mode() & ~0777u) problem(name + ": mode " + std::to_string(o.mode()) + " has more than permission bits");
}

// Semaphore sets and message queues (restore/sysv_sem_msg.cc creates them).
void validate_sem_msg(const ImageSet& set, uint64_t shm_bytes, const std::function<void(const std::string&)>& problem) {
  const auto& ipc = set.sysv;
  if ((ipc.sem_sets_size() > 0 || ipc.msg_queues_size() > 0) && !set.namespaces.own_ipc())
    problem("SysV semaphore sets or message queues of a tree without an IPC namespace of its own");
  if (ipc.sem_sets_size() > kMaxObjectsOfAKind) problem(std::to_string(ipc.sem_sets_size()) + " semaphore sets, more than the kernel allows");
  if (ipc.msg_queues_size() > kMaxObjectsOfAKind) problem(std::to_string(ipc.msg_queues_size()) + " message queues, more than the kernel allows");
  std::set<int64_t> ids;
  std::set<int32_t> keys;
  uint64_t semaphores = 0;
  for (const auto& s : ipc.sem_sets()) {
    std::string name = "semaphore set " + std::to_string(s.id());
    check_id_key_mode(s, name, ids, keys, problem);
    if (s.values_size() == 0) problem(name + ": no semaphores");
    if (static_cast<uint64_t>(s.values_size()) > kMaxSemsPerSet) problem(name + ": " + std::to_string(s.values_size()) + " semaphores, more than cryo restores");
    semaphores += static_cast<uint64_t>(s.values_size());
    for (int i = 0; i < s.values_size(); ++i)
      if (s.values(i) > kSemValueMax) {
        problem(name + ": semaphore " + std::to_string(i) + " has value " + std::to_string(s.values(i)) + ", more than 32767");
        break;
      }
  }
  if (semaphores > kMaxSemaphores) problem(std::to_string(semaphores) + " semaphores, more than cryo restores");
  ids.clear();
  keys.clear();
  uint64_t bytes = shm_bytes, messages = 0;
  for (const auto& q : ipc.msg_queues()) {
    std::string name = "message queue " + std::to_string(q.id());
    check_id_key_mode(q, name, ids, keys, problem);
    if (q.qbytes() > INT_MAX) problem(name + ": msg_qbytes " + std::to_string(q.qbytes()) + " is more than the kernel allows");
    messages += static_cast<uint64_t>(q.messages_size());
    for (int i = 0; i < q.messages_size(); ++i) {
      const auto& m = q.messages(i);
      if (m.type() <= 0) {
        problem(name + ": message " + std::to_string(i) + " has type " + std::to_string(m.type()) + " (not > 0)");
        break;
      }
      bytes += m.text().size();
    }
  }
  if (messages > kMaxMessages) problem(std::to_string(messages) + " queued messages, more than cryo restores");
  if (bytes > image::kMaxSysvBytes) problem("segments and messages hold " + std::to_string(bytes) + " bytes, more than cryo stores");
}

}  // namespace

void validate_sysv(const ImageSet& set, std::vector<std::string>* problems) {
  const auto& segments = set.sysv.segments();
  auto problem = [&](const std::string& text) { problems->push_back("sysv.img: " + text); };
  if (set.sysv.sysctls_size() > 0 && !set.namespaces.own_ipc()) problem("IPC sysctls of a tree without an IPC namespace of its own");
  uint64_t shm_bytes = 0;  // What sysv.img's record holds: only segments from before they were paged.
  for (const auto& s : segments)
    if (!s.paged()) shm_bytes += s.contents().size();
  validate_sem_msg(set, shm_bytes, problem);
  std::set<std::string> seen;
  for (const auto& sysctl : set.sysv.sysctls()) {
    bool known = false;
    for (std::string_view name : image::kIpcSysctls) known |= sysctl.name() == name;
    if (!known) problem("sysctl '" + sysctl.name() + "' is not one of the IPC namespace's");
    if (!seen.insert(sysctl.name()).second) problem("sysctl " + sysctl.name() + " twice");
    // Numbers, separated by blanks (kernel.sem has four), as the kernel prints them.
    bool numbers = !sysctl.value().empty() && sysctl.value().size() <= 128 &&
                   sysctl.value().find_first_not_of("0123456789-\t ") == std::string::npos;
    if (!numbers) problem("sysctl " + sysctl.name() + ": value '" + sysctl.value().substr(0, 64) + "' is not numbers");
    // kernel.sem is four numbers, the others one (restore raises the limits among them).
    size_t count = 0;
    bool in_number = false;
    for (char c : sysctl.value()) {
      bool digit = c != ' ' && c != '\t';
      count += digit && !in_number;
      in_number = digit;
    }
    if (numbers && count != (sysctl.name() == "sem" ? 4u : 1u))
      problem("sysctl " + sysctl.name() + ": value '" + sysctl.value().substr(0, 64) + "' has " + std::to_string(count) + " numbers");
  }
  if (segments.empty()) {
    for (const auto& process : set.processes)
      for (const auto& vma : process.mm.vmas())
        if (vma.kind() == image::VMA_SYSV_SHM)
          problems->push_back("pid " + std::to_string(process.pid()) + ": maps SysV segment " + std::to_string(vma.shmid()) +
                              ", which the image does not hold");
    return;
  }
  if (!set.namespaces.own_ipc()) problem("SysV segments of a tree without an IPC namespace of its own");
  std::map<int64_t, const image::SysvShmSegment*> by_id;
  std::set<int32_t> live_keys;
  uint64_t total = 0;
  for (const auto& s : segments) {
    std::string name = "segment " + std::to_string(s.id());
    if (s.id() < 0) problem(name + ": negative id");
    if (!by_id.emplace(s.id(), &s).second) problem(name + ": a second segment with this id");
    if (s.size() == 0) problem(name + ": size 0");
    if (s.paged()) {
      // Its pages are in objpages.img, like a memory object's, and it may be as large as one.
      if (!s.contents().empty()) problem(name + ": paged, yet with " + std::to_string(s.contents().size()) + " bytes of contents");
      if (s.size() > image::kMaxObjectBytes)
        problem(name + ": size " + std::to_string(s.size()) + " is above the " + std::to_string(image::kMaxObjectBytes >> 40) +
                " TiB cryo restores");
      validate_page_runs(s.runs(), s.size(), set.object_pages_size, [&](const std::string& text) { problem(name + ": " + text); });
    } else {
      if (s.runs_size() != 0) problem(name + ": page runs for a segment that is not paged");
      if (s.contents().size() != s.size())
        problem(name + ": " + std::to_string(s.contents().size()) + " bytes of contents for size " + std::to_string(s.size()));
      total += s.size();
    }
    if (s.mode() & ~0777u) problem(name + ": mode " + std::to_string(s.mode()) + " has more than permission bits");
    if (s.removed()) {
      if (s.key() != 0) problem(name + ": removed but with key " + std::to_string(s.key()));
    } else {
      if (s.creation_key() != 0) problem(name + ": a creation key for a segment that is not removed");
      if (s.key() != 0 && !live_keys.insert(s.key()).second) problem(name + ": a second segment with key " + std::to_string(s.key()));
    }
  }
  if (total > image::kMaxSysvBytes) problem("segments hold " + std::to_string(total) + " bytes of contents, more than cryo stores");
  std::set<int64_t> mapped;
  for (const auto& process : set.processes) {
    for (const auto& vma : process.mm.vmas()) {
      if (vma.kind() != image::VMA_SYSV_SHM) continue;
      std::string name = "pid " + std::to_string(process.pid()) + ": SysV mapping at " + std::to_string(vma.start());
      auto it = by_id.find(static_cast<int64_t>(vma.shmid()));
      if (vma.shmid() > INT32_MAX || it == by_id.end()) {
        problems->push_back(name + ": segment " + std::to_string(vma.shmid()) + " is not in sysv.img");
        continue;
      }
      const image::SysvShmSegment& s = *it->second;
      mapped.insert(s.id());
      if (vma.end() - vma.start() != whole_pages(s.size()))
        problems->push_back(name + ": " + std::to_string(vma.end() - vma.start()) + " bytes for segment " + std::to_string(s.id()) +
                            " of " + std::to_string(s.size()));
      unsigned key = 0;
      int32_t expected = s.removed() ? s.creation_key() : s.key();
      if (std::sscanf(vma.path().c_str(), "/SYSV%8x", &key) != 1 || static_cast<int32_t>(key) != expected)
        problems->push_back(name + ": named '" + vma.path() + "', not after the key of segment " + std::to_string(s.id()));
    }
  }
  for (const auto& s : segments)
    if (s.removed() && !mapped.count(s.id()))
      problem("segment " + std::to_string(s.id()) + " is removed and mapped by no process (it would be gone)");
}

}  // namespace cryo::restore
