// Checkpoint/restore workload: SysV semaphore sets and message queues in the tree's own IPC
// namespace (cryo run), with two children blocked on them at the checkpoint.
//
// Sets and queues are created and removed in between, so that the ids are not a fresh namespace's.
//   S1: key 0x5e31, 10 semaphores, created by euid 4321 / egid 77 (cuid, cgid), then given uid
//       1234, gid 5678 and mode 0604; values 0, 107, 207 ... 907. Semaphore 0 is what child 1
//       waits for (blocked in semop at the checkpoint).
//   S2: IPC_PRIVATE, 1 semaphore at 32767 (SEMVMX), mode 0600.
//   Q1: key 0x3e51, mode 0620, msg_qbytes 25000, 20 messages of several types and sizes (one empty).
//   Q2: IPC_PRIVATE, mode 0600, created by euid 4321, owner 1234:5678; empty. Child 2 waits in
//       msgrcv for a message of type 99 on it at the checkpoint.
//
// kernel.sem's semmsl is lowered to 5 after S1 (10 semaphores) exists, and kernel.msgmnb to 20000
// after Q1 got msg_qbytes 25000 (IPC_SET above msgmnb needs CAP_SYS_RESOURCE): restore must raise
// both while it creates the objects, then give them the image's values.
// On SIGUSR1 the init checks ids (semget/msgget of the keys), owners, creators, modes, values, the
// waiter counts, and reads Q1's messages in order with their types and bytes; then it wakes child
// 1 through S1 and child 2 through Q2, and each answers on Q2 after checking what woke it.
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/wait.h>

#include "cr_common.h"

#define KEY_S1 0x5e31
#define KEY_Q1 0x3e51
enum { S1_NSEMS = 10, Q1_MESSAGES = 20, Q1_QBYTES = 25000, MAX_TEXT = 2000 };
enum { WAKE_CHILD2 = 99, ANSWER_CHILD1 = 101, ANSWER_CHILD2 = 102 };

union semun {
  int val;
  struct semid_ds* buf;
  unsigned short* array;
};

static int id_s1, id_s2, id_q1, id_q2;

struct message {
  long type;
  char text[MAX_TEXT + 1];
};

static size_t q1_size(int i) { return (size_t)(i * 577) % MAX_TEXT; }
static long q1_type(int i) { return 1 + (i * 7) % 5; }
static unsigned short s1_value(int i) { return i == 0 ? 0 : (unsigned short)(i * 100 + 7); }

static void burn_ids(void) {
  int s = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600), q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  SETUP_OR_DIE(s >= 0 && q >= 0 && semctl(s, 0, IPC_RMID) == 0 && msgctl(q, IPC_RMID, NULL) == 0, "burn ids: %s\n",
               strerror(errno));
}

static void write_sysctl(const char* name, const char* value) {
  char path[128];
  snprintf(path, sizeof path, "/proc/sys/kernel/%s", name);
  FILE* f = fopen(path, "w");
  SETUP_OR_DIE(f && fputs(value, f) >= 0 && fclose(f) == 0, "write %s: %s\n", path, strerror(errno));
}

static void check_sysctl(const char* name, const char* expected) {
  char path[128], value[128] = "";
  snprintf(path, sizeof path, "/proc/sys/kernel/%s", name);
  FILE* f = fopen(path, "r");
  if (f) {
    if (!fgets(value, sizeof value, f)) value[0] = 0;
    fclose(f);
  }
  value[strcspn(value, "\n")] = 0;
  EXPECT_OR_FAIL(strcmp(value, expected) == 0, "kernel.%s is '%s', not '%s'\n", name, value, expected);
}

static void check_perm(const char* name, const struct ipc_perm* perm, int key, unsigned mode, uid_t uid, gid_t gid, uid_t cuid,
                       gid_t cgid) {
  EXPECT_OR_FAIL(perm->__key == key, "%s: key %#x, not %#x\n", name, perm->__key, key);
  EXPECT_OR_FAIL((perm->mode & 0777) == mode, "%s: mode %o, not %o\n", name, perm->mode & 0777, mode);
  EXPECT_OR_FAIL(perm->uid == uid && perm->gid == gid, "%s: owner %u:%u, not %u:%u\n", name, perm->uid, perm->gid, uid, gid);
  EXPECT_OR_FAIL(perm->cuid == cuid && perm->cgid == cgid, "%s: creator %u:%u, not %u:%u\n", name, perm->cuid, perm->cgid, cuid,
                 cgid);
}

static void check_set(const char* name, int id, int key, unsigned mode, uid_t uid, gid_t gid, uid_t cuid, gid_t cgid,
                      int nsems, const unsigned short* values) {
  struct semid_ds ds;
  union semun arg = {.buf = &ds};
  if (semctl(id, 0, IPC_STAT, arg) != 0) {
    EXPECT_OR_FAIL(0, "%s: semctl(%d, IPC_STAT): %s\n", name, id, strerror(errno));
    return;
  }
  check_perm(name, &ds.sem_perm, key, mode, uid, gid, cuid, cgid);
  EXPECT_OR_FAIL(ds.sem_nsems == (unsigned long)nsems, "%s: %lu semaphores, not %d\n", name, (unsigned long)ds.sem_nsems, nsems);
  if (ds.sem_nsems != (unsigned long)nsems) return;
  unsigned short got[S1_NSEMS];
  arg.array = got;
  EXPECT_OR_FAIL(semctl(id, 0, GETALL, arg) == 0, "%s: GETALL: %s\n", name, strerror(errno));
  for (int i = 0; i < nsems; ++i)
    EXPECT_OR_FAIL(got[i] == values[i], "%s: semaphore %d is %u, not %u\n", name, i, got[i], values[i]);
  if (key != IPC_PRIVATE) {
    int again = semget(key, 0, 0);
    EXPECT_OR_FAIL(again == id, "%s: semget(%#x) gives %d, not %d\n", name, key, again, id);
  }
}

static void check_queue_stat(const char* name, int id, int key, unsigned mode, uid_t uid, gid_t gid, uid_t cuid, gid_t cgid,
                             unsigned long qbytes, unsigned long qnum, unsigned long cbytes) {
  struct msqid_ds ds;
  if (msgctl(id, IPC_STAT, &ds) != 0) {
    EXPECT_OR_FAIL(0, "%s: msgctl(%d, IPC_STAT): %s\n", name, id, strerror(errno));
    return;
  }
  check_perm(name, &ds.msg_perm, key, mode, uid, gid, cuid, cgid);
  EXPECT_OR_FAIL(ds.msg_qbytes == qbytes, "%s: msg_qbytes %lu, not %lu\n", name, (unsigned long)ds.msg_qbytes, qbytes);
  EXPECT_OR_FAIL(ds.msg_qnum == qnum, "%s: %lu messages, not %lu\n", name, (unsigned long)ds.msg_qnum, qnum);
  EXPECT_OR_FAIL(ds.__msg_cbytes == cbytes, "%s: %lu bytes queued, not %lu\n", name, (unsigned long)ds.__msg_cbytes, cbytes);
  if (key != IPC_PRIVATE) {
    int again = msgget(key, 0);
    EXPECT_OR_FAIL(again == id, "%s: msgget(%#x) gives %d, not %d\n", name, key, again, id);
  }
}

// Takes Q1's messages, oldest first: each with its type, size and bytes.
static void check_q1_messages(void) {
  static struct message m;
  for (int i = 0; i < Q1_MESSAGES; ++i) {
    ssize_t n = msgrcv(id_q1, &m, MAX_TEXT, 0, IPC_NOWAIT);
    if (n < 0) {
      EXPECT_OR_FAIL(0, "Q1: message %d: msgrcv: %s\n", i, strerror(errno));
      return;
    }
    EXPECT_OR_FAIL(m.type == q1_type(i), "Q1: message %d has type %ld, not %ld\n", i, m.type, q1_type(i));
    EXPECT_OR_FAIL((size_t)n == q1_size(i), "Q1: message %d has %zd bytes, not %zu\n", i, n, q1_size(i));
    size_t bad = 0;
    for (size_t k = 0; k < (size_t)n; ++k) bad += (unsigned char)m.text[k] != pattern_byte((char)('a' + i), k);
    EXPECT_OR_FAIL(bad == 0, "Q1: message %d: %zu bytes wrong\n", i, bad);
  }
  EXPECT_OR_FAIL(msgrcv(id_q1, &m, MAX_TEXT, 0, IPC_NOWAIT) < 0 && errno == ENOMSG, "Q1: a message more than %d\n", Q1_MESSAGES);
}

static void answer(long type, const char* text) {
  struct message m = {.type = type};
  snprintf(m.text, sizeof m.text, "%s", text);
  if (msgsnd(id_q2, &m, strlen(m.text), 0) != 0) say("FAIL: child: msgsnd answer: %s\n", strerror(errno));
}

// Blocked in semop for semaphore 0 of S1 across the checkpoint; the init posts it after restore.
static void run_child1(void) {
  struct sembuf op = {0, -1, 0};
  int r;
  do r = semop(id_s1, &op, 1);
  while (r < 0 && errno == EINTR);
  answer(ANSWER_CHILD1, r == 0 ? "child 1 woke" : strerror(errno));
  for (;;) pause();  // The namespace dies with the init.
}

// Blocked in msgrcv for type 99 on Q2 across the checkpoint.
static void run_child2(void) {
  struct message m;
  ssize_t n;
  do n = msgrcv(id_q2, &m, MAX_TEXT, WAKE_CHILD2, 0);
  while (n < 0 && errno == EINTR);
  if (n >= 0) m.text[n] = 0;
  answer(ANSWER_CHILD2, n < 0 ? strerror(errno) : strcmp(m.text, "wake 2") == 0 ? "child 2 woke" : "child 2: wrong wake text");
  for (;;) pause();
}

// The syscall a process is blocked in, from /proc/PID/syscall (its first number).
static long blocked_in(pid_t pid) {
  char path[64], text[256] = "";
  snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
  FILE* f = fopen(path, "r");
  if (!f) return -1;
  if (!fgets(text, sizeof text, f)) text[0] = 0;
  fclose(f);
  return strtol(text, NULL, 10);
}

// An answer of a child on Q2, waiting up to 5 s.
static void expect_answer(long type, const char* expected) {
  struct message m;
  ssize_t n = -1;
  for (int i = 0; i < 5000 && n < 0; ++i) {
    n = msgrcv(id_q2, &m, MAX_TEXT, type, IPC_NOWAIT);
    if (n < 0) sleep_ms(1);
  }
  if (n >= 0) m.text[n] = 0;
  EXPECT_OR_FAIL(n >= 0 && strcmp(m.text, expected) == 0, "answer %ld: '%s', not '%s'\n", type, n >= 0 ? m.text : "none",
                 expected);
}

int main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  install_check_handler();
  for (int i = 0; i < 3; ++i) burn_ids();

  // S1, created by another user: the creator ids come only from who created it.
  SETUP_OR_DIE(setegid(77) == 0 && seteuid(4321) == 0, "seteuid: %s\n", strerror(errno));
  id_s1 = semget(KEY_S1, S1_NSEMS, IPC_CREAT | IPC_EXCL | 0666);
  int s1_errno = errno;
  id_q2 = msgget(IPC_PRIVATE, IPC_CREAT | 0666);
  int q2_errno = errno;
  SETUP_OR_DIE(seteuid(0) == 0 && setegid(0) == 0, "seteuid(0): %s\n", strerror(errno));
  SETUP_OR_DIE(id_s1 >= 0 && id_q2 >= 0, "semget(S1): %s, msgget(Q2): %s\n", strerror(s1_errno), strerror(q2_errno));
  unsigned short values[S1_NSEMS];
  for (int i = 0; i < S1_NSEMS; ++i) values[i] = s1_value(i);
  union semun arg = {.array = values};
  SETUP_OR_DIE(semctl(id_s1, 0, SETALL, arg) == 0, "SETALL(S1): %s\n", strerror(errno));
  struct semid_ds sds;
  arg.buf = &sds;
  SETUP_OR_DIE(semctl(id_s1, 0, IPC_STAT, arg) == 0, "IPC_STAT(S1): %s\n", strerror(errno));
  sds.sem_perm.uid = 1234;
  sds.sem_perm.gid = 5678;
  sds.sem_perm.mode = 0604;
  SETUP_OR_DIE(semctl(id_s1, 0, IPC_SET, arg) == 0, "IPC_SET(S1): %s\n", strerror(errno));
  struct msqid_ds qds;
  SETUP_OR_DIE(msgctl(id_q2, IPC_STAT, &qds) == 0, "IPC_STAT(Q2): %s\n", strerror(errno));
  qds.msg_perm.uid = 1234;
  qds.msg_perm.gid = 5678;
  qds.msg_perm.mode = 0600;
  SETUP_OR_DIE(msgctl(id_q2, IPC_SET, &qds) == 0, "IPC_SET(Q2): %s\n", strerror(errno));

  burn_ids();
  id_s2 = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
  SETUP_OR_DIE(id_s2 >= 0 && semctl(id_s2, 0, SETVAL, (union semun){.val = 32767}) == 0, "S2: %s\n", strerror(errno));

  burn_ids();
  write_sysctl("msgmnb", "30000");
  id_q1 = msgget(KEY_Q1, IPC_CREAT | IPC_EXCL | 0620);
  SETUP_OR_DIE(id_q1 >= 0, "msgget(Q1): %s\n", strerror(errno));
  SETUP_OR_DIE(msgctl(id_q1, IPC_STAT, &qds) == 0, "IPC_STAT(Q1): %s\n", strerror(errno));
  qds.msg_qbytes = Q1_QBYTES;
  SETUP_OR_DIE(msgctl(id_q1, IPC_SET, &qds) == 0, "IPC_SET(Q1): %s\n", strerror(errno));
  unsigned long q1_bytes = 0;
  static struct message m;
  for (int i = 0; i < Q1_MESSAGES; ++i) {
    m.type = q1_type(i);
    for (size_t k = 0; k < q1_size(i); ++k) m.text[k] = (char)pattern_byte((char)('a' + i), k);
    SETUP_OR_DIE(msgsnd(id_q1, &m, q1_size(i), IPC_NOWAIT) == 0, "msgsnd(Q1, %d): %s\n", i, strerror(errno));
    q1_bytes += q1_size(i);
  }
  // Lowered below what S1 and Q1 have: the objects stay, new ones would be refused.
  write_sysctl("msgmnb", "20000");
  write_sysctl("sem", "5 32000 500 32000");

  pid_t child1 = fork();
  SETUP_OR_DIE(child1 >= 0, "fork: %s\n", strerror(errno));
  if (child1 == 0) run_child1();
  pid_t child2 = fork();
  SETUP_OR_DIE(child2 >= 0, "fork: %s\n", strerror(errno));
  if (child2 == 0) run_child2();
  for (int i = 0; i < 5000 && (semctl(id_s1, 0, GETNCNT) != 1 || blocked_in(child2) != SYS_msgrcv); ++i) sleep_ms(1);
  SETUP_OR_DIE(semctl(id_s1, 0, GETNCNT) == 1, "child 1 does not wait on S1\n");
  SETUP_OR_DIE(blocked_in(child2) == SYS_msgrcv, "child 2 does not wait in msgrcv\n");
  say("READY sets %d, %d; queues %d, %d; children %d, %d\n", id_s1, id_s2, id_q1, id_q2, (int)child1, (int)child2);
  wait_for_check();

  check_sysctl("msgmnb", "20000");
  check_sysctl("sem", "5\t32000\t500\t32000");
  check_set("S1", id_s1, KEY_S1, 0604, 1234, 5678, 4321, 77, S1_NSEMS, values);
  unsigned short semvmx = 32767;
  check_set("S2", id_s2, IPC_PRIVATE, 0600, 0, 0, 0, 0, 1, &semvmx);
  // The restarted semop of child 1 waits again.
  for (int i = 0; i < 2000 && semctl(id_s1, 0, GETNCNT) != 1; ++i) sleep_ms(1);
  EXPECT_OR_FAIL(semctl(id_s1, 0, GETNCNT) == 1, "S1: %d waiters on semaphore 0, not child 1\n", semctl(id_s1, 0, GETNCNT));
  check_queue_stat("Q1", id_q1, KEY_Q1, 0620, 0, 0, 0, 0, Q1_QBYTES, Q1_MESSAGES, q1_bytes);
  check_queue_stat("Q2", id_q2, IPC_PRIVATE, 0600, 1234, 5678, 4321, 77, 16384, 0, 0);
  check_q1_messages();

  struct sembuf post = {0, 1, 0};
  EXPECT_OR_FAIL(semop(id_s1, &post, 1) == 0, "semop(S1, +1): %s\n", strerror(errno));
  expect_answer(ANSWER_CHILD1, "child 1 woke");
  struct message wake = {.type = WAKE_CHILD2, .text = "wake 2"};
  EXPECT_OR_FAIL(msgsnd(id_q2, &wake, strlen(wake.text), 0) == 0, "msgsnd(Q2, wake): %s\n", strerror(errno));
  expect_answer(ANSWER_CHILD2, "child 2 woke");
  kill(child1, SIGKILL);
  kill(child2, SIGKILL);
  waitpid(child1, NULL, 0);
  waitpid(child2, NULL, 0);
  finish();
}
