// SysV semaphore sets and message queues of the tree's IPC namespace (dump/sysv_ipc.h). A thread of
// cryo joins the namespace (an IPC namespace is per thread, and the thread's goes with it) and
// reads each object with IPC_STAT, its values with GETALL and its messages with msgrcv(MSG_COPY),
// which copies the message at an index without taking it off the queue.
#include <sched.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

#include "dump/sysv_ipc.h"
#include "image/object_limits.h"
#include "ns/namespace_file.h"

namespace cryo::dump {
namespace {

#ifndef MSG_COPY
constexpr int MSG_COPY = 040000;  // include/uapi/linux/msg.h; glibc defines it only with _GNU_SOURCE.
#endif

// semctl's fourth argument, which the caller defines (sem.h says so).
union SemArg {
  int val;
  struct semid_ds* buf;
  unsigned short* array;
};

std::string id_text(const char* kind, int id, key_t key) {
  char text[96];
  if (key == IPC_PRIVATE)
    std::snprintf(text, sizeof text, "%s %d (key IPC_PRIVATE)", kind, id);
  else
    std::snprintf(text, sizeof text, "%s %d (key %#x)", kind, id, static_cast<unsigned>(key));
  return text;
}

Result<> owner_and_mode(const struct ipc_perm& perm, const std::string& name) {
  if (perm.mode & ~0777u)
    return fail(name + " has mode bits " + std::to_string(perm.mode) + " unknown to cryo, which cryo cannot dump");
  return {};
}

Result<> collect_sets(const std::vector<SysvObject>& sets, image::SysvIpc& ipc) {
  uint64_t semaphores = 0;
  for (const auto& object : sets) {
    int id = static_cast<int>(object.id);
    std::string name = id_text("SysV semaphore set", id, static_cast<key_t>(object.key));
    struct semid_ds ds {};
    SemArg arg{};
    arg.buf = &ds;
    if (::semctl(id, 0, IPC_STAT, arg) != 0) return fail_errno("semctl(" + std::to_string(id) + ", IPC_STAT)");
    RETURN_IF_ERROR(owner_and_mode(ds.sem_perm, name));
    semaphores += ds.sem_nsems;
    if (ds.sem_nsems > image::kMaxSemsPerSet || semaphores > image::kMaxSemaphores)
      return fail(make_error(name + " has " + std::to_string(ds.sem_nsems) + " semaphores, more than the " +
                             std::to_string(image::kMaxSemsPerSet) + " in a set (" + std::to_string(image::kMaxSemaphores) +
                             " in all) cryo stores, which cryo cannot dump")
                      .with_hint("use smaller sets"));
    std::vector<unsigned short> values(ds.sem_nsems);
    arg.array = values.data();
    if (!values.empty() && ::semctl(id, 0, GETALL, arg) != 0) return fail_errno("semctl(" + std::to_string(id) + ", GETALL)");
    auto* set = ipc.add_sem_sets();
    set->set_key(ds.sem_perm.__key);
    set->set_id(id);
    set->set_mode(ds.sem_perm.mode & 0777);
    set->set_uid(ds.sem_perm.uid);
    set->set_gid(ds.sem_perm.gid);
    set->set_cuid(ds.sem_perm.cuid);
    set->set_cgid(ds.sem_perm.cgid);
    for (unsigned short value : values) set->add_values(value);
  }
  return {};
}

Result<> collect_queues(const std::vector<SysvObject>& queues, image::SysvIpc& ipc, uint64_t budget) {
  uint64_t stored = 0, messages = 0;
  for (const auto& object : queues) {
    int id = static_cast<int>(object.id);
    std::string name = id_text("SysV message queue", id, static_cast<key_t>(object.key));
    struct msqid_ds ds {};
    if (::msgctl(id, IPC_STAT, &ds) != 0) return fail_errno("msgctl(" + std::to_string(id) + ", IPC_STAT)");
    RETURN_IF_ERROR(owner_and_mode(ds.msg_perm, name));
    // Each message is 16 bytes of record besides its text.
    stored += ds.msg_cbytes + 16 * ds.msg_qnum;
    messages += ds.msg_qnum;
    if (stored > budget || messages > image::kMaxMessages)
      return fail(make_error("the tree's SysV message queues hold more than the " +
                             std::to_string(image::kMaxSysvBytes) + " bytes (or " + std::to_string(image::kMaxMessages) +
                             " messages) cryo stores, which cryo cannot dump")
                      .with_hint("empty the queues (msgrcv) first"));
    auto* queue = ipc.add_msg_queues();
    queue->set_key(ds.msg_perm.__key);
    queue->set_id(id);
    queue->set_mode(ds.msg_perm.mode & 0777);
    queue->set_uid(ds.msg_perm.uid);
    queue->set_gid(ds.msg_perm.gid);
    queue->set_cuid(ds.msg_perm.cuid);
    queue->set_cgid(ds.msg_perm.cgid);
    queue->set_qbytes(ds.msg_qbytes);
    // No message is longer than the bytes of its queue; mtype comes first.
    std::vector<char> buffer(sizeof(long) + ds.msg_cbytes + 1);
    for (msgqnum_t i = 0; i < ds.msg_qnum; ++i) {
      ssize_t n = ::msgrcv(id, buffer.data(), ds.msg_cbytes + 1, static_cast<long>(i), MSG_COPY | IPC_NOWAIT);
      if (n < 0 && errno == ENOSYS)
        return fail(make_error(name + " holds messages, which cryo reads with msgrcv(MSG_COPY), which this kernel lacks "
                                      "(CONFIG_CHECKPOINT_RESTORE), so cryo cannot dump them")
                        .with_hint("empty the queue (msgrcv) first"));
      // MSG_COPY copies at most kernel.msgmax bytes: a message sent before msgmax was lowered is longer.
      if (n < 0 && errno == E2BIG)
        return fail(make_error(name + ": message " + std::to_string(i) +
                               " is longer than the namespace's kernel.msgmax, which cryo cannot dump")
                        .with_hint("raise kernel.msgmax in the tree"));
      if (n < 0) return fail_errno("msgrcv(" + std::to_string(id) + ", MSG_COPY of message " + std::to_string(i) + ")");
      long type;
      std::memcpy(&type, buffer.data(), sizeof type);
      auto* message = queue->add_messages();
      message->set_type(type);
      message->set_text(buffer.data() + sizeof(long), static_cast<size_t>(n));
    }
  }
  return {};
}

}  // namespace

Result<> collect_sysv_sem_msg(pid_t pid, image::SysvIpc& ipc) {
  ASSIGN_OR_RETURN(std::string sem_text, read_file_in_namespace_of(pid, "ipc", CLONE_NEWIPC, "/proc/sysvipc/sem"));
  ASSIGN_OR_RETURN_CTX(auto sets, parse_sysvipc(sem_text, "SysV semaphore set"), "/proc/sysvipc/sem");
  ASSIGN_OR_RETURN(std::string msg_text, read_file_in_namespace_of(pid, "ipc", CLONE_NEWIPC, "/proc/sysvipc/msg"));
  ASSIGN_OR_RETURN_CTX(auto queues, parse_sysvipc(msg_text, "SysV message queue"), "/proc/sysvipc/msg");
  if (sets.empty() && queues.empty()) return {};
  for (const auto* objects : {&sets, &queues})
    for (const auto& object : *objects)
      if (object.id < 0 || object.id > INT32_MAX || object.key < INT32_MIN || object.key > INT32_MAX)
        return fail("/proc/sysvipc: " + object.kind + " " + std::to_string(object.id) + ": key or id out of range");
  uint64_t budget = image::kMaxSysvBytes;  // Segments' bytes are in objpages.img, not in sysv.img's record.
  RETURN_IF_ERROR(run_in_namespace_of(pid, "ipc", CLONE_NEWIPC, "read the tree's SysV semaphores and message queues", [&]() -> Result<> {
    RETURN_IF_ERROR(collect_sets(sets, ipc));
    return collect_queues(queues, ipc, budget);
  }));
  auto by_id = [](const auto& a, const auto& b) { return a.id() < b.id(); };
  std::sort(ipc.mutable_sem_sets()->begin(), ipc.mutable_sem_sets()->end(), by_id);
  std::sort(ipc.mutable_msg_queues()->begin(), ipc.mutable_msg_queues()->end(), by_id);
  return {};
}

}  // namespace cryo::dump
