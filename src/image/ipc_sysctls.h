// The sysctls of /proc/sys/kernel that are the IPC namespace's own: dump reads them inside the
// tree's namespace, restore writes them into the new one (sysv.img): the limits first raised to
// what the objects need (restore/sysv_ipc.h raised_ipc_limits), then all with their values once the
// objects exist (a lowered shmmni, semmsl or msgmnb would refuse recreating what they no longer allow).
#pragma once

#include <array>
#include <string_view>

namespace cryo::image {

// In the order restore writes them: the *_next_id ones last, since creating a segment uses and
// resets shm_next_id. A *_next_id that reads -1 (none asked for) is not stored: it cannot be written.
inline constexpr std::array<std::string_view, 10> kIpcSysctls = {"shmmax", "shmall", "shmmni", "msgmax", "msgmnb", "msgmni",
                                                                 "sem", "shm_next_id", "sem_next_id", "msg_next_id"};

}  // namespace cryo::image
