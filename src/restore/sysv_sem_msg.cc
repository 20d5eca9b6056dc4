// The SysV semaphore sets and message queues of sysv.img, created by the restore's helper inside
// the tree's new IPC namespace (restore/sysv_helper.h). Each takes its old id from sem_next_id or
// msg_next_id, its creator from the helper's effective ids, then owner and mode with IPC_SET; a
// set gets its values with SETALL, a queue its messages, oldest first, with msgsnd. What the
// kernel does not let anyone set comes back as the restore's: sem_otime/sem_ctime, a semaphore's
// sempid (the helper, which reads 0 in the tree), msg_stime, msg_lspid (the helper), msg_lrpid and
// msg_rtime (0). SEM_UNDO adjustments of processes are not in the image (the kernel shows none).
#include <fcntl.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "restore/sysv_helper.h"

namespace cryo::restore::sysv_helper {
namespace {

// semctl's fourth argument, which the caller defines (sem.h says so).
union SemArg {
  int val;
  struct semid_ds* buf;
  unsigned short* array;
};

void create_sem_set(const image::SysvSemSet& s, int index, const Scratch& scratch, int out) {
  if (!write_next_id("sem_next_id", s.id())) report_and_exit(out, kNextId, index, errno, kSemSet);
  if (!become_creator(s.cuid(), s.cgid())) report_and_exit(out, kCreds, index, errno, kSemSet);
  int id = ::semget(s.key(), s.values_size(), IPC_CREAT | IPC_EXCL | static_cast<int>(s.mode()));
  int get_errno = errno;
  if (!become_root()) report_and_exit(out, kCreds, index, errno, kSemSet);
  if (id < 0) report_and_exit(out, kGet, index, get_errno, kSemSet);
  if (id != s.id()) report_and_exit(out, kWrongId, index, id, kSemSet);
  struct semid_ds ds;
  SemArg arg;
  arg.buf = &ds;
  if (::semctl(id, 0, IPC_STAT, arg) != 0) report_and_exit(out, kStat, index, errno, kSemSet);
  ds.sem_perm.uid = s.uid();
  ds.sem_perm.gid = s.gid();
  ds.sem_perm.mode = static_cast<unsigned short>(s.mode());
  if (::semctl(id, 0, IPC_SET, arg) != 0) report_and_exit(out, kSet, index, errno, kSemSet);
  for (int i = 0; i < s.values_size(); ++i) scratch.values[i] = static_cast<unsigned short>(s.values(i));
  arg.array = scratch.values;
  if (::semctl(id, 0, SETALL, arg) != 0) report_and_exit(out, kSetAll, index, errno, kSemSet);
}

void create_msg_queue(const image::SysvMsgQueue& q, int index, const Scratch& scratch, int out) {
  if (!write_next_id("msg_next_id", q.id())) report_and_exit(out, kNextId, index, errno, kMsgQueue);
  if (!become_creator(q.cuid(), q.cgid())) report_and_exit(out, kCreds, index, errno, kMsgQueue);
  int id = ::msgget(q.key(), IPC_CREAT | IPC_EXCL | static_cast<int>(q.mode()));
  int get_errno = errno;
  if (!become_root()) report_and_exit(out, kCreds, index, errno, kMsgQueue);
  if (id < 0) report_and_exit(out, kGet, index, get_errno, kMsgQueue);
  if (id != q.id()) report_and_exit(out, kWrongId, index, id, kMsgQueue);
  // msgsnd wants the bytes and the number of messages within msg_qbytes: a queue whose limit was
  // lowered below what it holds gets a larger one while it is filled.
  uint64_t bytes = 0;
  for (const auto& m : q.messages()) bytes += m.text().size();
  uint64_t filling = std::max<uint64_t>({q.qbytes(), bytes, static_cast<uint64_t>(q.messages_size())});
  struct msqid_ds ds;
  if (::msgctl(id, IPC_STAT, &ds) != 0) report_and_exit(out, kStat, index, errno, kMsgQueue);
  ds.msg_perm.uid = q.uid();
  ds.msg_perm.gid = q.gid();
  ds.msg_perm.mode = static_cast<unsigned short>(q.mode());
  ds.msg_qbytes = filling;
  if (::msgctl(id, IPC_SET, &ds) != 0) report_and_exit(out, kSet, index, errno, kMsgQueue);
  for (int i = 0; i < q.messages_size(); ++i) {
    const auto& m = q.messages(i);
    long type = m.type();
    std::memcpy(scratch.message, &type, sizeof type);
    std::memcpy(scratch.message + sizeof type, m.text().data(), m.text().size());
    if (::msgsnd(id, scratch.message, m.text().size(), IPC_NOWAIT) != 0) report_and_exit(out, kSend, index, errno, kMsgQueue);
  }
  if (filling != q.qbytes()) {
    ds.msg_qbytes = q.qbytes();
    if (::msgctl(id, IPC_SET, &ds) != 0) report_and_exit(out, kQbytes, index, errno, kMsgQueue);
  }
}

}  // namespace

void create_sem_sets(const image::SysvIpc& ipc, const Scratch& scratch, int out) {
  for (int i = 0; i < ipc.sem_sets_size(); ++i) create_sem_set(ipc.sem_sets(i), i, scratch, out);
}

void create_msg_queues(const image::SysvIpc& ipc, const Scratch& scratch, int out) {
  for (int i = 0; i < ipc.msg_queues_size(); ++i) create_msg_queue(ipc.msg_queues(i), i, scratch, out);
}

}  // namespace cryo::restore::sysv_helper
