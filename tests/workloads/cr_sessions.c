// Checkpoint/restore workload: sessions and process groups whose leader has exited.
//
//   cr_sessions
//
//   P1 init            sid 1,  pgid 1
//   |  (D1: setsid, forked D2, exited: a daemon's double fork; session D1 has no leader)
//   +- D2              sid D1, pgid D1   adopted by the init
//   |  |  (J: led group J in session D1, forked K1 and K2, exited)
//   |  +- W            sid D1, pgid J    joined group J while J lived
//   |  |  (L2: led group L2, exited)
//   |  +- R            sid D1, pgid L2   joined group L2 while L2 lived; its parent is alive
//   |  +- Z            zombie (exit 5), sid D1, pgid D1
//   +- K1              sid D1, pgid J    adopted by the init
//   |  +- K3           sid D1, pgid J
//   +- K2              zombie (exit 3) in group J, adopted by the init
//   |  (J2: led group J2 in the init's session, forked M, exited: a shell job)
//   +- M               sid 1,  pgid J2   adopted by the init
//
// Every live member reports its ids to the init once its shape is final. On SIGUSR1 the init
// signals every member; each checks getpid/getppid/getpgid/getsid against what it had, parents
// check their zombie children's status with waitpid and reap their children, and the init checks
// every member's group and session from outside too.
#include <sys/wait.h>

#include "cr_common.h"

struct identity {
  int role;
  pid_t pid, ppid, pgid, sid;
  pid_t zombie;  // A zombie child (or, from J, a zombie it leaves to the init), 0 if none.
};

enum { ROLE_D2 = 1, ROLE_K1, ROLE_K3, ROLE_W, ROLE_R, ROLE_M, ROLE_J, ROLES };
static const char* const role_names[ROLES] = {"?", "D2", "K1", "K3", "W", "R", "M", "J"};

static struct identity me;
static int report_fd = -1;

static void learn_identity(int role) {
  me.role = role;
  me.pid = getpid();
  me.ppid = getppid();
  me.pgid = getpgid(0);
  me.sid = getsid(0);
}

static void check_identity(void) {
  const char* who = me.role ? role_names[me.role] : "P1";
  EXPECT_OR_FAIL(getpid() == me.pid, "%s: getpid() is %d, was %d\n", who, (int)getpid(), (int)me.pid);
  EXPECT_OR_FAIL(getppid() == me.ppid, "%s: getppid() is %d, was %d\n", who, (int)getppid(), (int)me.ppid);
  EXPECT_OR_FAIL(getpgid(0) == me.pgid, "%s: getpgid() is %d, was %d\n", who, (int)getpgid(0), (int)me.pgid);
  EXPECT_OR_FAIL(getsid(0) == me.sid, "%s: getsid() is %d, was %d\n", who, (int)getsid(0), (int)me.sid);
}

static void report(void) {
  SETUP_OR_DIE(write(report_fd, &me, sizeof me) == sizeof me, "%s: report: %s\n", role_names[me.role], strerror(errno));
}

static pid_t fork_or_die(const char* what) {
  pid_t pid = fork();
  SETUP_OR_DIE(pid >= 0, "fork %s: %s\n", what, strerror(errno));
  return pid;
}

// Until the kernel has made the init our parent (the one we had exited).
static void wait_for_adoption(void) {
  for (int i = 0; i < 5000 && getppid() != 1; ++i) sleep_ms(1);
  SETUP_OR_DIE(getppid() == 1, "%s: not adopted by the init\n", role_names[me.role]);
}

// Until `child` is a zombie, without reaping it.
static void wait_for_zombie(pid_t child) {
  for (int i = 0; i < 5000; ++i) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_PID, (id_t)child, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == child) return;
    sleep_ms(1);
  }
  SETUP_OR_DIE(0, "child %d did not become a zombie\n", (int)child);
}

static void reap_expecting(pid_t child, const char* what, int code) {
  int status = 0;
  pid_t got;
  while ((got = waitpid(child, &status, 0)) < 0 && errno == EINTR) {
  }
  EXPECT_OR_FAIL(got == child, "%s: waitpid(%s = %d): %s\n", me.role ? role_names[me.role] : "P1", what, (int)child,
                 strerror(errno));
  if (got == child)
    EXPECT_OR_FAIL(WIFEXITED(status) && WEXITSTATUS(status) == code, "%s: %s ended with status %#x, expected exit %d\n",
                   me.role ? role_names[me.role] : "P1", what, status, code);
}

// A member that only checks itself: K3, W, R, M.
static void run_member(int role, int adopted) {
  me.role = role;
  if (adopted) wait_for_adoption();
  learn_identity(role);
  report();
  wait_for_check();
  check_identity();
  _exit(problems_found == 0 ? 0 : 1);
}

static void run_k1(void) {
  me.role = ROLE_K1;
  pid_t k3 = fork_or_die("K3");
  if (k3 == 0) run_member(ROLE_K3, 0);
  wait_for_adoption();
  learn_identity(ROLE_K1);
  report();
  wait_for_check();
  check_identity();
  reap_expecting(k3, "K3", 0);
  _exit(problems_found == 0 ? 0 : 1);
}

// J: leads group J in the daemon's session, forks K1 and K2 (which exits), then exits itself.
static void run_j(void) {
  me.role = ROLE_J;
  SETUP_OR_DIE(setpgid(0, 0) == 0, "J: setpgid: %s\n", strerror(errno));
  pid_t k1 = fork_or_die("K1");
  if (k1 == 0) run_k1();
  pid_t k2 = fork_or_die("K2");
  if (k2 == 0) _exit(3);
  wait_for_zombie(k2);
  struct identity note = {ROLE_J, getpid(), getppid(), getpgid(0), getsid(0), k2};
  SETUP_OR_DIE(write(report_fd, &note, sizeof note) == sizeof note, "J: report: %s\n", strerror(errno));
  _exit(0);
}

static void run_d2(void) {
  me.role = ROLE_D2;
  pid_t j = fork_or_die("J");
  if (j == 0) run_j();
  setpgid(j, j);  // As a shell does, on both sides: whoever runs first makes the group.
  pid_t w = fork_or_die("W");
  if (w == 0) {
    SETUP_OR_DIE(setpgid(0, j) == 0, "W: setpgid(0, J): %s\n", strerror(errno));
    run_member(ROLE_W, 0);
  }
  SETUP_OR_DIE(setpgid(w, j) == 0 || errno == EACCES, "D2: setpgid(W, J): %s\n", strerror(errno));
  int status;
  SETUP_OR_DIE(waitpid(j, &status, 0) == j && WIFEXITED(status) && WEXITSTATUS(status) == 0, "D2: J failed\n");

  pid_t l2 = fork_or_die("L2");
  if (l2 == 0) {
    setpgid(0, 0);
    _exit(0);
  }
  setpgid(l2, l2);
  pid_t r = fork_or_die("R");
  if (r == 0) {
    setpgid(0, l2);
    run_member(ROLE_R, 0);
  }
  // L2 is not reaped before R is in its group, so the group exists while R joins.
  SETUP_OR_DIE(setpgid(r, l2) == 0 || errno == EACCES, "D2: setpgid(R, L2): %s\n", strerror(errno));
  for (int i = 0; i < 5000 && getpgid(r) != l2; ++i) sleep_ms(1);
  SETUP_OR_DIE(waitpid(l2, &status, 0) == l2, "D2: waitpid(L2): %s\n", strerror(errno));

  pid_t z = fork_or_die("Z");
  if (z == 0) _exit(5);
  wait_for_zombie(z);
  wait_for_adoption();
  learn_identity(ROLE_D2);
  me.zombie = z;
  report();
  wait_for_check();
  check_identity();
  reap_expecting(z, "zombie Z", 5);
  reap_expecting(w, "W", 0);
  reap_expecting(r, "R", 0);
  _exit(problems_found == 0 ? 0 : 1);
}

int main(void) {
  install_check_handler();
  if (getsid(0) != getpid()) SETUP_OR_DIE(setsid() >= 0, "P1: setsid: %s\n", strerror(errno));
  learn_identity(0);
  SETUP_OR_DIE(me.pid == 1, "not the init of a PID namespace\n");
  int reports[2];
  SETUP_OR_DIE(pipe(reports) == 0, "pipe: %s\n", strerror(errno));
  report_fd = reports[1];

  pid_t d1 = fork_or_die("D1");
  if (d1 == 0) {
    SETUP_OR_DIE(setsid() >= 0, "D1: setsid: %s\n", strerror(errno));
    if (fork_or_die("D2") == 0) run_d2();
    _exit(0);
  }
  int status;
  SETUP_OR_DIE(waitpid(d1, &status, 0) == d1, "waitpid(D1): %s\n", strerror(errno));

  pid_t j2 = fork_or_die("J2");
  if (j2 == 0) {
    setpgid(0, 0);
    if (fork_or_die("M") == 0) run_member(ROLE_M, 1);
    _exit(0);
  }
  setpgid(j2, j2);
  SETUP_OR_DIE(waitpid(j2, &status, 0) == j2, "waitpid(J2): %s\n", strerror(errno));
  close(reports[1]);

  struct identity tree[ROLES];
  memset(tree, 0, sizeof tree);
  for (int received = 0; received < ROLES - 1; ++received) {
    struct identity r;
    ssize_t got;
    while ((got = read(reports[0], &r, sizeof r)) < 0 && errno == EINTR) {
    }
    SETUP_OR_DIE(got == sizeof r && r.role > 0 && r.role < ROLES, "report pipe: got %zd bytes\n", got);
    tree[r.role] = r;
  }
  close(reports[0]);
  pid_t k2 = tree[ROLE_J].zombie, session = (pid_t)d1, group = tree[ROLE_J].pid;
  wait_for_zombie(k2);  // Once J has exited, K2 is the init's zombie.

  // The shape this workload promises, checked once before the checkpoint.
  const struct identity *d2 = &tree[ROLE_D2], *k1 = &tree[ROLE_K1], *k3 = &tree[ROLE_K3], *w = &tree[ROLE_W],
                        *r = &tree[ROLE_R], *m = &tree[ROLE_M];
  SETUP_OR_DIE(d2->ppid == 1 && d2->sid == session && d2->pgid == session, "D2 ids\n");
  SETUP_OR_DIE(k1->ppid == 1 && k1->sid == session && k1->pgid == group, "K1 ids\n");
  SETUP_OR_DIE(k3->ppid == k1->pid && k3->sid == session && k3->pgid == group, "K3 ids\n");
  SETUP_OR_DIE(w->ppid == d2->pid && w->sid == session && w->pgid == group, "W ids\n");
  SETUP_OR_DIE(r->ppid == d2->pid && r->sid == session && r->pgid != d2->pgid &&
                   kill(r->pgid, 0) != 0,
               "R ids\n");
  SETUP_OR_DIE(m->ppid == 1 && m->sid == 1 && m->pgid == j2, "M ids\n");
  SETUP_OR_DIE(getpgid(k2) == group && getsid(k2) == session, "zombie K2 ids\n");
  say("READY session=%d group=%d D2=%d K1=%d K2=%d K3=%d W=%d R=%d(group %d) Z=%d M=%d(group %d)\n", (int)session,
      (int)group, (int)d2->pid, (int)k1->pid, (int)k2, (int)k3->pid, (int)w->pid, (int)r->pid, (int)r->pgid,
      (int)d2->zombie, (int)m->pid, (int)m->pgid);

  wait_for_check();
  check_identity();
  for (int role = 1; role < ROLES; ++role) {
    if (role == ROLE_J) continue;
    const struct identity* t = &tree[role];
    EXPECT_OR_FAIL(getpgid(t->pid) == t->pgid, "P1: getpgid(%s) is %d, was %d\n", role_names[role], (int)getpgid(t->pid),
                   (int)t->pgid);
    EXPECT_OR_FAIL(getsid(t->pid) == t->sid, "P1: getsid(%s) is %d, was %d\n", role_names[role], (int)getsid(t->pid),
                   (int)t->sid);
  }
  EXPECT_OR_FAIL(getpgid(k2) == group && getsid(k2) == session, "P1: zombie K2 is in group %d session %d, was %d %d\n",
                 (int)getpgid(k2), (int)getsid(k2), (int)group, (int)session);
  // The leaders stay gone: no process has their PIDs.
  EXPECT_OR_FAIL(kill(session, 0) != 0 && kill(group, 0) != 0 && kill(j2, 0) != 0 && kill(r->pgid, 0) != 0,
                 "P1: a process has the PID of an exited leader\n");
  for (int role = 1; role < ROLES; ++role)
    if (role != ROLE_J)
      EXPECT_OR_FAIL(kill(tree[role].pid, SIGUSR1) == 0, "P1: kill(%s): %s\n", role_names[role], strerror(errno));
  reap_expecting(k2, "zombie K2", 3);
  reap_expecting(d2->pid, "D2", 0);
  reap_expecting(k1->pid, "K1", 0);
  reap_expecting(m->pid, "M", 0);
  finish();
}
