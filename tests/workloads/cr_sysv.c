// Checkpoint/restore workload: System V shared memory in the tree's own IPC namespace (cryo run).
//
// Segments are created and removed in between, so that the ids are not a fresh namespace's.
//   A: key 0x5a5a, 3 pages + 100 bytes, mode 0640, attached read-write by the init and (by fork)
//      its child, which also attaches it read-only at a second address; holds pattern 'A' except
//      its control bytes.
//   B: key 0x5a5b, 2 pages, created by euid 4321 / egid 77 (cuid, cgid), then given uid 1234,
//      gid 5678 and mode 0604 with IPC_SET; pattern 'B'; attached by nobody.
//   C: IPC_PRIVATE, 1 page, attached by the init and its child, then removed (IPC_RMID): it lives
//      on through them, key 0, mode with SHM_DEST; pattern 'C'.
//
// kernel.msgmnb and kernel.shmmni are changed (the namespace's own sysctls).
// On SIGUSR1 both check ids (shmget(key) gives the old id), owners, modes, attach counts and bytes;
// the init then writes a ping into A, the child answers in A and in C, and the init reads the
// answers: writes by one process after restore are seen by the other.
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>

#include "cr_common.h"

enum { PAGE = 4096, A_SIZE = 3 * PAGE + 100, B_SIZE = 2 * PAGE, C_SIZE = PAGE };
enum { PING = 10, PONG = 11, CHILD_PROBLEMS = 12, CHILD_DONE = 13 };  // Control bytes of A.
#define KEY_A 0x5a5a
#define KEY_B 0x5a5b

static int id_a, id_b, id_c;
static volatile unsigned char* a;
static const volatile unsigned char* a_ro;  // The child's read-only attachment.
static volatile unsigned char* c;

static int is_control(size_t i) { return i >= PING && i <= CHILD_DONE; }

static void check_pattern(const char* who, const char* what, const volatile unsigned char* data, char tag, size_t size) {
  size_t bad = 0;
  for (size_t i = 0; i < size; ++i)
    if (!(tag == 'A' && is_control(i))) bad += data[i] != pattern_byte(tag, i);
  EXPECT_OR_FAIL(bad == 0, "%s: %s: %zu of %zu bytes wrong\n", who, what, bad, size);
}

static void check_segment(const char* who, const char* name, int id, int key, unsigned mode, size_t size, uid_t uid, gid_t gid,
                          uid_t cuid, gid_t cgid, unsigned long nattch, int removed) {
  struct shmid_ds ds;
  if (shmctl(id, IPC_STAT, &ds) != 0) {
    EXPECT_OR_FAIL(0, "%s: %s: shmctl(%d, IPC_STAT): %s\n", who, name, id, strerror(errno));
    return;
  }
  EXPECT_OR_FAIL(ds.shm_perm.__key == key, "%s: %s: key %#x, not %#x\n", who, name, ds.shm_perm.__key, key);
  EXPECT_OR_FAIL((ds.shm_perm.mode & 0777) == mode, "%s: %s: mode %o, not %o\n", who, name, ds.shm_perm.mode & 0777, mode);
  EXPECT_OR_FAIL(!!(ds.shm_perm.mode & SHM_DEST) == removed, "%s: %s: SHM_DEST %s\n", who, name, removed ? "lost" : "appeared");
  EXPECT_OR_FAIL(ds.shm_segsz == size, "%s: %s: size %zu, not %zu\n", who, name, (size_t)ds.shm_segsz, size);
  EXPECT_OR_FAIL(ds.shm_perm.uid == uid && ds.shm_perm.gid == gid, "%s: %s: owner %u:%u, not %u:%u\n", who, name,
                 ds.shm_perm.uid, ds.shm_perm.gid, uid, gid);
  EXPECT_OR_FAIL(ds.shm_perm.cuid == cuid && ds.shm_perm.cgid == cgid, "%s: %s: creator %u:%u, not %u:%u\n", who, name,
                 ds.shm_perm.cuid, ds.shm_perm.cgid, cuid, cgid);
  EXPECT_OR_FAIL(ds.shm_nattch == nattch, "%s: %s: %lu attachments, not %lu\n", who, name, (unsigned long)ds.shm_nattch, nattch);
  if (key != IPC_PRIVATE) {
    int got = shmget(key, 0, 0);
    EXPECT_OR_FAIL(got == id, "%s: %s: shmget(%#x) gives %d, not %d\n", who, name, key, got, id);
  }
}

// Creates and removes a segment: the ids that follow are no longer 0, 1, 2 (a fresh namespace's).
static void burn_id(void) {
  int id = shmget(IPC_PRIVATE, PAGE, IPC_CREAT | 0600);
  SETUP_OR_DIE(id >= 0 && shmctl(id, IPC_RMID, NULL) == 0, "shmget/IPC_RMID: %s\n", strerror(errno));
}

// The IPC namespace's sysctls are its own: the tree changed two.
static void write_sysctl(const char* name, const char* value) {
  char path[128];
  snprintf(path, sizeof path, "/proc/sys/kernel/%s", name);
  FILE* f = fopen(path, "w");
  SETUP_OR_DIE(f && fputs(value, f) >= 0 && fclose(f) == 0, "write %s: %s\n", path, strerror(errno));
}

static void check_sysctl(const char* who, const char* name, const char* expected) {
  char path[128], value[128] = "";
  snprintf(path, sizeof path, "/proc/sys/kernel/%s", name);
  FILE* f = fopen(path, "r");
  if (f) {
    if (!fgets(value, sizeof value, f)) value[0] = 0;
    fclose(f);
  }
  value[strcspn(value, "\n")] = 0;
  EXPECT_OR_FAIL(strcmp(value, expected) == 0, "%s: kernel.%s is '%s', not '%s'\n", who, name, value, expected);
}

static void check_all(const char* who) {
  check_sysctl(who, "msgmnb", "20000");
  check_sysctl(who, "shmmni", "1000");
  check_segment(who, "A", id_a, KEY_A, 0640, A_SIZE, 0, 0, 0, 0, 3, 0);
  check_segment(who, "B", id_b, KEY_B, 0604, B_SIZE, 1234, 5678, 4321, 77, 0, 0);
  check_segment(who, "C", id_c, IPC_PRIVATE, 0600, C_SIZE, 0, 0, 0, 0, 2, 1);
  check_pattern(who, "A", a, 'A', A_SIZE);
  check_pattern(who, "C", c, 'C', C_SIZE);
  const unsigned char* b = shmat(id_b, NULL, SHM_RDONLY);
  if (b == (void*)-1) {
    EXPECT_OR_FAIL(0, "%s: shmat(B): %s\n", who, strerror(errno));
  } else {
    check_pattern(who, "B", b, 'B', B_SIZE);
    shmdt(b);
  }
}

static void run_child(void) {
  a_ro = shmat(id_a, NULL, SHM_RDONLY);
  SETUP_OR_DIE(a_ro != (void*)-1, "child: shmat(A, SHM_RDONLY): %s\n", strerror(errno));
  a[CHILD_DONE] = 1;
  while (a[PING] != 1) sleep_ms(1);
  check_all("child");
  check_pattern("child", "A read-only", a_ro, 'A', A_SIZE);
  EXPECT_OR_FAIL(a_ro[PING] == 1, "child: the read-only attachment does not see the ping\n");
  c[0] = 'y';
  a[CHILD_PROBLEMS] = (unsigned char)problems_found;
  __sync_synchronize();
  a[PONG] = 1;
  for (;;) pause();  // The namespace dies with the init.
}

int main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  install_check_handler();
  for (int i = 0; i < 3; ++i) burn_id();
  write_sysctl("msgmnb", "20000");
  write_sysctl("shmmni", "1000");
  id_a = shmget(KEY_A, A_SIZE, IPC_CREAT | IPC_EXCL | 0640);
  SETUP_OR_DIE(id_a >= 0, "shmget(A): %s\n", strerror(errno));
  a = shmat(id_a, NULL, 0);
  SETUP_OR_DIE(a != (void*)-1, "shmat(A): %s\n", strerror(errno));
  for (size_t i = 0; i < A_SIZE; ++i) a[i] = is_control(i) ? 0 : pattern_byte('A', i);

  burn_id();
  // B's creator is another user: the creator ids come only from who created it.
  SETUP_OR_DIE(setegid(77) == 0 && seteuid(4321) == 0, "seteuid: %s\n", strerror(errno));
  id_b = shmget(KEY_B, B_SIZE, IPC_CREAT | IPC_EXCL | 0666);
  int get_errno = errno;
  SETUP_OR_DIE(seteuid(0) == 0 && setegid(0) == 0, "seteuid(0): %s\n", strerror(errno));
  SETUP_OR_DIE(id_b >= 0, "shmget(B): %s\n", strerror(get_errno));
  unsigned char* b = shmat(id_b, NULL, 0);
  SETUP_OR_DIE(b != (void*)-1, "shmat(B): %s\n", strerror(errno));
  for (size_t i = 0; i < B_SIZE; ++i) b[i] = pattern_byte('B', i);
  shmdt(b);
  struct shmid_ds ds;
  SETUP_OR_DIE(shmctl(id_b, IPC_STAT, &ds) == 0, "IPC_STAT(B): %s\n", strerror(errno));
  ds.shm_perm.uid = 1234;
  ds.shm_perm.gid = 5678;
  ds.shm_perm.mode = 0604;
  SETUP_OR_DIE(shmctl(id_b, IPC_SET, &ds) == 0, "IPC_SET(B): %s\n", strerror(errno));

  burn_id();
  id_c = shmget(IPC_PRIVATE, C_SIZE, IPC_CREAT | 0600);
  SETUP_OR_DIE(id_c >= 0, "shmget(C): %s\n", strerror(errno));
  c = shmat(id_c, NULL, 0);
  SETUP_OR_DIE(c != (void*)-1, "shmat(C): %s\n", strerror(errno));
  for (size_t i = 0; i < C_SIZE; ++i) c[i] = pattern_byte('C', i);

  pid_t child = fork();
  SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
  if (child == 0) run_child();
  for (int i = 0; i < 5000 && !a[CHILD_DONE]; ++i) sleep_ms(1);
  SETUP_OR_DIE(a[CHILD_DONE], "the child did not attach\n");
  SETUP_OR_DIE(shmctl(id_c, IPC_RMID, NULL) == 0, "IPC_RMID(C): %s\n", strerror(errno));
  say("READY SysV segments %d, %d, %d; child %d\n", id_a, id_b, id_c, (int)child);
  wait_for_check();

  check_all("init");
  a[PING] = 1;
  for (int i = 0; i < 5000 && !a[PONG]; ++i) sleep_ms(1);
  EXPECT_OR_FAIL(a[PONG], "init: the child never answered through segment A after restore\n");
  if (a[PONG]) {
    EXPECT_OR_FAIL(a[CHILD_PROBLEMS] == 0, "init: the child found %d problems\n", a[CHILD_PROBLEMS]);
    EXPECT_OR_FAIL(c[0] == 'y', "init: the child's write into the removed segment C is not seen\n");
  }
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  finish();
}
