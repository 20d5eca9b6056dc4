// Validation of the POSIX message queues of sysv.img and of the mqd fds that name them
// (restore/posix_mqueues.h restores both): names the kernel takes, attributes within its hard
// bounds, messages that fit their queue in the order a receive gives them, and sysctls in range.
#include <fcntl.h>

#include <functional>
#include <map>
#include <set>
#include <string>

#include "image/mqueue_limits.h"
#include "image/object_limits.h"
#include "restore/image_validation.h"

namespace cryo::restore {
namespace {

constexpr uint32_t kKernelLargefile = 0100000;  // glibc's O_LARGEFILE is 0 on x86_64.

bool valid_name(const std::string& name) {
  return !name.empty() && name.size() <= image::kMqueueNameMax && name != "." && name != ".." &&
         name.find('/') == std::string::npos && name.find('\0') == std::string::npos;
}

// One decimal number, optionally negative, as the kernel prints an int (at most 11 characters, so
// that stoll cannot overflow).
bool parse_number(const std::string& text, long long* value) {
  if (text.empty() || text.size() > 11) return false;
  size_t start = text[0] == '-' ? 1 : 0;
  if (start == text.size() || text.find_first_not_of("0123456789", start) != std::string::npos) return false;
  *value = std::stoll(text);
  return true;
}

void validate_queue(const image::PosixQueue& q, const std::string& name, uint64_t* bytes,
                    const std::function<void(const std::string&)>& problem) {
  if (q.mode() & ~0777u) problem(name + ": mode " + std::to_string(q.mode()) + " has more than permission bits");
  if (q.maxmsg() < 1 || q.maxmsg() > image::kMqueueHardMsgMax)
    problem(name + ": mq_maxmsg " + std::to_string(q.maxmsg()) + " is outside 1.." + std::to_string(image::kMqueueHardMsgMax));
  if (q.msgsize() < 1 || q.msgsize() > image::kMqueueHardMsgSizeMax)
    problem(name + ": mq_msgsize " + std::to_string(q.msgsize()) + " is outside 1.." + std::to_string(image::kMqueueHardMsgSizeMax));
  if (q.messages_size() > q.maxmsg())
    problem(name + ": " + std::to_string(q.messages_size()) + " messages, more than its mq_maxmsg " + std::to_string(q.maxmsg()));
  uint32_t previous = image::kMqueuePrioMax;
  for (int i = 0; i < q.messages_size(); ++i) {
    const auto& m = q.messages(i);
    std::string message = name + ": message " + std::to_string(i);
    if (static_cast<int64_t>(m.text().size()) > q.msgsize()) {
      problem(message + " has " + std::to_string(m.text().size()) + " bytes, more than its mq_msgsize " + std::to_string(q.msgsize()));
      break;
    }
    if (m.priority() >= image::kMqueuePrioMax) {
      problem(message + " has priority " + std::to_string(m.priority()) + ", not below " + std::to_string(image::kMqueuePrioMax));
      break;
    }
    // Sent again in this order, a higher priority after a lower one would come out first.
    if (m.priority() > previous) {
      problem(message + " has priority " + std::to_string(m.priority()) + " after a message of priority " + std::to_string(previous) +
              " (not in the order a receive gives)");
      break;
    }
    previous = m.priority();
    *bytes += m.text().size();
  }
}

void validate_sysctls(const image::SysvIpc& ipc, const std::function<void(const std::string&)>& problem) {
  std::set<std::string> seen;
  for (const auto& sysctl : ipc.mqueue_sysctls()) {
    bool known = false;
    for (std::string_view name : image::kMqueueSysctls) known |= sysctl.name() == name;
    if (!known) {
      problem("fs.mqueue sysctl '" + sysctl.name().substr(0, 64) + "' is not one of the IPC namespace's");
      continue;
    }
    if (!seen.insert(sysctl.name()).second) problem("fs.mqueue sysctl " + sysctl.name() + " twice");
    long long value = 0;
    image::MqueueSysctlRange range = image::mqueue_sysctl_range(sysctl.name());
    if (!parse_number(sysctl.value(), &value) || value < range.least || value > range.most)
      problem("fs.mqueue." + sysctl.name() + ": value '" + sysctl.value().substr(0, 64) + "' is not a number in " +
              std::to_string(range.least) + ".." + std::to_string(range.most));
  }
}

}  // namespace

void validate_posix_mqueues(const ImageSet& set, std::vector<std::string>* problems) {
  const auto& ipc = set.sysv;
  auto problem = [&](const std::string& text) { problems->push_back("sysv.img: " + text); };
  if ((ipc.posix_queues_size() > 0 || ipc.mqueue_sysctls_size() > 0) && !set.namespaces.own_ipc())
    problem("POSIX message queues or fs.mqueue sysctls of a tree without an IPC namespace of its own");
  if (ipc.posix_queues_size() > image::kMqueueHardQueuesMax)
    problem(std::to_string(ipc.posix_queues_size()) + " POSIX message queues, more than the kernel allows");
  validate_sysctls(ipc, problem);
  // One record holds them with the SysV objects' bytes.
  uint64_t bytes = 0;
  for (const auto& s : ipc.segments())
    if (!s.paged()) bytes += s.contents().size();
  for (const auto& q : ipc.msg_queues())
    for (const auto& m : q.messages()) bytes += m.text().size();
  std::map<uint64_t, const image::PosixQueue*> by_id;
  std::set<std::string> names;
  for (const auto& q : ipc.posix_queues()) {
    std::string name = "POSIX message queue";
    if (!valid_name(q.name())) {
      problem(name + " named '" + q.name().substr(0, 64) + "': not a name of 1.." + std::to_string(image::kMqueueNameMax) +
              " bytes without '/' or NUL");
      continue;
    }
    name += " /" + q.name();
    if (!names.insert(q.name()).second) problem(name + ": a second queue with this name");
    if (q.queue_id() == 0 || !by_id.emplace(q.queue_id(), &q).second) problem(name + ": queue id " + std::to_string(q.queue_id()) + " is 0 or not unique");
    validate_queue(q, name, &bytes, problem);
  }
  if (bytes > image::kMaxSysvBytes) problem("segments and messages hold " + std::to_string(bytes) + " bytes, more than cryo stores");
  for (const auto& process : set.processes)
    for (const auto& fd : process.files.fds()) {
      if (fd.kind() != image::FD_POSIX_MQUEUE) continue;
      std::string name = "pid " + std::to_string(process.pid()) + ": fd " + std::to_string(fd.fd()) + " (POSIX message queue)";
      auto queue = by_id.find(fd.mqueue_id());
      if (queue == by_id.end()) {
        problems->push_back(name + ": queue " + std::to_string(fd.mqueue_id()) + " is not in sysv.img");
        continue;
      }
      if (fd.path() != "/" + queue->second->name())
        problems->push_back(name + ": path '" + fd.path().substr(0, 64) + "' is not the name of queue " + std::to_string(fd.mqueue_id()));
      if ((fd.flags() & ~static_cast<uint32_t>(O_ACCMODE | O_NONBLOCK | kKernelLargefile)) != 0)
        problems->push_back(name + ": flags " + std::to_string(fd.flags()) + " are more than an access mode, O_NONBLOCK and O_LARGEFILE");
    }
}

}  // namespace cryo::restore
