// The POSIX message queues of sysv.img, recreated by the tree's init placeholder in the restored
// tree's new IPC namespace before it forks any child (mq_open names a queue of the caller's IPC
// namespace, whatever its mounts): each with its name, owner, mode, mq_maxmsg and mq_msgsize, and
// its messages sent again in the order they were received, which rebuilds the queue's order (equal
// priorities are FIFO). The namespace's fs.mqueue limits are raised while the queues are made, then
// given the image's values. Open files of a queue that several fds share are opened then too, at
// staging numbers every placeholder inherits; every other mqd fd is opened by its placeholder.
#pragma once

#include <map>
#include <vector>

#include "base/error.h"
#include "files.pb.h"
#include "image/image_set.h"
#include "sysv.pb.h"

namespace cryo::restore {

// The image's fs.mqueue limits (queues_max, msg_max, msgsize_max) with each raised to what the
// image's queues need to be created without CAP_SYS_RESOURCE; only those present, in image order.
std::vector<image::IpcSysctl> raised_mqueue_limits(const image::SysvIpc& ipc);

// In the tree's new IPC namespace (the init placeholder): creates every queue with its messages,
// then writes the image's fs.mqueue sysctls. It takes each owner's effective ids for a while, which
// clears the caller's parent-death signal and may reset its dumpable flag.
Result<> create_posix_mqueues(const image::SysvIpc& ipc);

// Opens the queue of an FD_POSIX_MQUEUE fd (validation tied its path to the queue's name) with its
// flags and position (a read of its status text moves it), in the caller's IPC namespace. Returns the new fd, at the lowest free number.
Result<int> open_posix_mqueue(const image::Fd& fd);

// Opens, at numbers >= min_fd, one open file for each open_file_id of mqd fds that more than one
// fd holds, into `files` (by open_file_id): the fds that shared one share it again.
Result<> stage_shared_mqueue_files(const ImageSet& set, int min_fd, std::map<uint64_t, int>& files);

}  // namespace cryo::restore
