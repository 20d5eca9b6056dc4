// The sysctls of /proc/sys/fs/mqueue that are the IPC namespace's own, and the kernel's hard bounds
// of POSIX message queues (ipc/mqueue.c, include/linux/ipc_namespace.h). Dump reads the sysctls in
// the tree's namespace; restore raises the limits among them while it creates the queues (without
// CAP_SYS_RESOURCE a queue may not exceed them), then writes the image's values.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace cryo::image {

inline constexpr std::array<std::string_view, 5> kMqueueSysctls = {"queues_max", "msg_max", "msgsize_max", "msg_default",
                                                                   "msgsize_default"};

inline constexpr int64_t kMqueueHardQueuesMax = 1024;       // HARD_QUEUESMAX: the most queues a namespace may hold.
inline constexpr int64_t kMqueueHardMsgMax = 65536;         // HARD_MSGMAX: mq_maxmsg and msg_max.
inline constexpr int64_t kMqueueHardMsgSizeMax = 16 << 20;  // HARD_MSGSIZEMAX: mq_msgsize and msgsize_max.
inline constexpr int64_t kMqueueMinMsgSizeMax = 128;        // MIN_MSGSIZEMAX: the least msgsize_max and msgsize_default may be.
inline constexpr uint32_t kMqueuePrioMax = 32768;           // MQ_PRIO_MAX: priorities are below it.
inline constexpr size_t kMqueueNameMax = 255;               // NAME_MAX.

// The least and most value of each of kMqueueSysctls the kernel accepts (queues_max is any int).
struct MqueueSysctlRange {
  int64_t least, most;
};
inline constexpr MqueueSysctlRange mqueue_sysctl_range(std::string_view name) {
  if (name == "queues_max") return {0, INT32_MAX};
  if (name == "msg_max" || name == "msg_default") return {1, kMqueueHardMsgMax};
  return {kMqueueMinMsgSizeMax, kMqueueHardMsgSizeMax};
}

}  // namespace cryo::image
