// Checkpoint workload for refusals: sets up one thing cryo cannot checkpoint, then waits. A dump
// must refuse it cleanly and leave the tree running; on SIGUSR1 the workload checks that the thing
// still works (the refused dump did not disturb it) and says PASS.
//
//   cr_unsupported --kind=KIND --dir=DIR
//
// KIND: sysv_shm, posix_mq_notify (a queue with mq_notify registered and a message queued),
// posix_mq_host (an fd of queue --queue=NAME, for a tree started in the host's IPC namespace),
// posix_mq_unlinked (an fd of a queue removed with mq_unlink), proc_kmsg, nsfs_other (a UTS namespace no process is in), inotify_queued (an event not read yet),
// inotify_deleted (a watch on a file unlinked while open), fifo_unlinked, fifo_opath, cpu_timer,
// seccomp_notify (a filter that hands sysinfo to a supervisor), nested_pidns, tcp_connected, epoll_shared (a set inherited by fork that watches a
// file only the init holds and one only the child holds), pidfd_reaped (of a child waited for),
// pidfd_sibling (the second child's pidfd of the first), pidfd_shared (the init's pidfd of
// itself, inherited by its child), fanotify_mount (a mark on DIR's
// mount), fanotify_queued (an event not read yet), fanotify_content (a permission class),
// uffd_missing, uffd_wp (a mapping
// registered with userfaultfd), shared_files, shared_fs, shared_vm (a
// child cloned with CLONE_FILES, CLONE_FS or CLONE_VM|CLONE_SIGHAND that shares that table with the init),
// own_mount (a tmpfs mounted on DIR/mnt in the tree's mount namespace), own_netns (the init unshares
// a network namespace), ptmx (a pseudo-terminal master with its slave open too), sud (syscall user
// dispatch on, its selector set to let syscalls through), secretmem_fd (a memfd_secret fd, not
// mapped), secretmem_map (a mapping of one, its fd closed), ldt (an entry in the local descriptor
// table, modify_ldt), aio (an AIO context, io_setup), mixed_randomization (a child exec'd with
// ADDR_NO_RANDOMIZE: a tree of both ways), mbind (two pages bound to node 0 with mbind),
// dead_leader (a child whose main thread ended with pthread_exit while its second thread runs on),
// thread_files, thread_fs (a thread that unshared its fd table, or its cwd, root and umask),
// thread_nnp, thread_personality, thread_seccomp (a thread that set no_new_privs, a personality or
// a seccomp filter for itself alone), thread_seccomp_more (the same under a filter both threads share),
// thread_uts (a thread that unshared a UTS namespace), thread_keepcaps (PR_SET_KEEPCAPS in one thread),
// deleted_exe (a child running a copy of sleep that was deleted since), orphan_in_live_session (a
// process the init adopted that stays in the session of a live leader), process_keyring (a key
// added to the process keyring).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <asm/ldt.h>
#include <linux/aio_abi.h>
#include <linux/filter.h>
#include <stddef.h>
#include <linux/keyctl.h>
#include <linux/mempolicy.h>
#include <linux/seccomp.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <mqueue.h>
#include <pthread.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cr_common.h"

static char* shm;
static char* bound;  // mbind: the pages bound to node 0.
static int fd = -1;
static timer_t timer;
static pid_t child;
// Syscall user dispatch's selector byte: ALLOW (0) lets every syscall through while dispatch stays on.
static volatile char dispatch_selector;
#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#define PR_SYS_DISPATCH_ON 1
#endif

static void* waiting_thread(void* arg) {
  (void)arg;
  for (;;) pause();
  return NULL;
}

// thread_files, thread_fs: what the thread did to its own table.
static pid_t unshared_tid;
static const char* unshare_kind;
static volatile int thread_keepcaps = -1;  // thread_keepcaps: what the thread last read of its own.
static void* unsharing_thread(void* arg) {
  (void)arg;
  if (strcmp(unshare_kind, "thread_files") == 0) {
    if (unshare(CLONE_FILES) != 0 || dup2(0, 50) != 50) _exit(1);  // fd 50 is in this thread's table only.
  } else if (strcmp(unshare_kind, "thread_fs") == 0) {
    if (unshare(CLONE_FS) != 0 || chdir("/") != 0) _exit(1);
  } else if (strcmp(unshare_kind, "thread_uts") == 0) {
    if (unshare(CLONE_NEWUTS) != 0) _exit(1);
  } else if (strcmp(unshare_kind, "thread_keepcaps") == 0) {
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) _exit(1);
    unshared_tid = (pid_t)syscall(SYS_gettid);
    for (;;) {
      thread_keepcaps = prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0);
      sleep_ms(10);
    }
  } else if (strcmp(unshare_kind, "thread_nnp") == 0) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(1);
  } else if (strcmp(unshare_kind, "thread_seccomp") == 0) {
    // Root may install a filter without no_new_privs; this thread alone runs under it.
    struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog program = {1, &allow};
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) _exit(1);
  } else if (personality(PER_LINUX | UNAME26) < 0) {
    _exit(1);
  }
  unshared_tid = (pid_t)syscall(SYS_gettid);
  for (;;) pause();
  return NULL;
}

static int sharing_child(void* arg) {
  (void)arg;
  for (;;) pause();
  return 0;
}

// A child that shares `flags`' tables with us, on a stack of its own.
static void clone_sharing(int flags) {
  static char stack[64 * 1024] __attribute__((aligned(16)));
  child = clone(sharing_child, stack + sizeof stack, flags | SIGCHLD, NULL);
  SETUP_OR_DIE(child > 0, "clone: %s\n", strerror(errno));
}

static void setup(const char* kind, const char* dir, const char* queue) {
  char path[512];
  if (strcmp(kind, "sysv_shm") == 0) {
    // Whole segments are dumped; an attachment cut to a piece of its segment is not.
    int id = shmget(IPC_PRIVATE, 2 * 4096, IPC_CREAT | 0600);
    SETUP_OR_DIE(id >= 0, "shmget: %s\n", strerror(errno));
    shm = shmat(id, NULL, 0);
    SETUP_OR_DIE(shm != (void*)-1, "shmat: %s\n", strerror(errno));
    SETUP_OR_DIE(munmap(shm + 4096, 4096) == 0, "munmap: %s\n", strerror(errno));
    shmctl(id, IPC_RMID, NULL);  // Gone once detached: nothing left behind.
    strcpy(shm, "sysv");
  } else if (strcmp(kind, "posix_mq_host") == 0) {
    // The test removes it (the host's queues outlive the tree).
    fd = mq_open(queue, O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
    SETUP_OR_DIE(fd >= 0, "mq_open(%s): %s\n", queue, strerror(errno));
  } else if (strcmp(kind, "posix_mq_unlinked") == 0) {
    // Gone by name, alive through the fd: nothing to reopen it by.
    fd = mq_open("/cr_unsupported", O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
    SETUP_OR_DIE(fd >= 0 && mq_unlink("/cr_unsupported") == 0, "mq_open, mq_unlink: %s\n", strerror(errno));
  } else if (strcmp(kind, "posix_mq_notify") == 0) {
    // Queues are dumped (cr_mqueue), a registration for notification is not. The queue holds a
    // message so that a dump that took and gave back its messages would show (the check below).
    fd = mq_open("/cr_unsupported", O_RDWR | O_CREAT | O_NONBLOCK, 0600, NULL);
    SETUP_OR_DIE(fd >= 0, "mq_open: %s\n", strerror(errno));
    SETUP_OR_DIE(mq_send(fd, "kept", 4, 3) == 0, "mq_send: %s\n", strerror(errno));
    struct sigevent event = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2};
    SETUP_OR_DIE(signal(SIGUSR2, SIG_IGN) != SIG_ERR && mq_notify(fd, &event) == 0, "mq_notify: %s\n", strerror(errno));
  } else if (strcmp(kind, "proc_kmsg") == 0) {
    // Other /proc files come back (cr_procfiles); the kernel log's readers consume it.
    fd = open("/proc/kmsg", O_RDONLY | O_NONBLOCK);
    SETUP_OR_DIE(fd >= 0, "open /proc/kmsg: %s\n", strerror(errno));
  } else if (strcmp(kind, "nsfs_other") == 0) {
    // The tree's own namespaces and the host's it shares come back (cr_nsfs); this UTS namespace
    // was a child's, which made it and exited: no process of the tree is in it.
    int made[2], done[2];
    SETUP_OR_DIE(pipe(made) == 0 && pipe(done) == 0, "pipe: %s\n", strerror(errno));
    pid_t maker = fork();
    SETUP_OR_DIE(maker >= 0, "fork: %s\n", strerror(errno));
    if (maker == 0) {
      close(done[1]);
      char byte = unshare(CLONE_NEWUTS) == 0;
      (void)!write(made[1], &byte, 1);
      (void)!read(done[0], &byte, 1);
      _exit(0);
    }
    char byte = 0;
    SETUP_OR_DIE(read(made[0], &byte, 1) == 1 && byte == 1, "unshare(CLONE_NEWUTS) in a child failed\n");
    snprintf(path, sizeof path, "/proc/%d/ns/uts", maker);
    fd = open(path, O_RDONLY);
    SETUP_OR_DIE(fd >= 0, "open %s: %s\n", path, strerror(errno));
    close(done[1]);
    SETUP_OR_DIE(waitpid(maker, NULL, 0) == maker, "waitpid: %s\n", strerror(errno));
    close(made[0]);
    close(made[1]);
    close(done[0]);
  } else if (strcmp(kind, "inotify_queued") == 0) {
    // A directory of its own: the dump writes its image under DIR.
    snprintf(path, sizeof path, "%s/watched", dir);
    fd = inotify_init1(0);
    SETUP_OR_DIE(mkdir(path, 0700) == 0 && fd >= 0 && inotify_add_watch(fd, path, IN_CREATE) >= 0, "inotify: %s\n", strerror(errno));
    snprintf(path, sizeof path, "%s/watched/new", dir);
    int made = open(path, O_WRONLY | O_CREAT, 0600);  // Queues one IN_CREATE event of 16 + 16 bytes.
    SETUP_OR_DIE(made >= 0, "create: %s\n", strerror(errno));
    close(made);
  } else if (strcmp(kind, "inotify_deleted") == 0) {
    // The open fd keeps the unlinked file, and so the watch on it.
    snprintf(path, sizeof path, "%s/watched", dir);
    int file = open(path, O_RDWR | O_CREAT, 0600);
    fd = inotify_init1(0);
    SETUP_OR_DIE(file >= 0 && fd >= 0 && inotify_add_watch(fd, path, IN_MODIFY) == 1 && unlink(path) == 0,
                 "inotify: %s\n", strerror(errno));
  } else if (strcmp(kind, "fifo_unlinked") == 0) {
    // A named FIFO is dumped (cr_fifo.c), unless it was unlinked while open: there is no path to reopen.
    snprintf(path, sizeof path, "%s/fifo", dir);
    SETUP_OR_DIE(mkfifo(path, 0600) == 0, "mkfifo: %s\n", strerror(errno));
    fd = open(path, O_RDWR);
    SETUP_OR_DIE(fd >= 0 && unlink(path) == 0, "open and unlink fifo: %s\n", strerror(errno));
  } else if (strcmp(kind, "fifo_opath") == 0) {
    snprintf(path, sizeof path, "%s/fifo", dir);
    SETUP_OR_DIE(mkfifo(path, 0600) == 0, "mkfifo: %s\n", strerror(errno));
    fd = open(path, O_PATH);
    SETUP_OR_DIE(fd >= 0, "open fifo O_PATH: %s\n", strerror(errno));
  } else if (strcmp(kind, "cpu_timer") == 0) {
    struct sigevent event = {.sigev_notify = SIGEV_NONE};
    SETUP_OR_DIE(timer_create(CLOCK_PROCESS_CPUTIME_ID, &event, &timer) == 0, "timer_create: %s\n", strerror(errno));
  } else if (strcmp(kind, "seccomp_notify") == 0) {
    // sysinfo goes to a supervisor (none here: it fails with ENOSYS), every other call is allowed.
    struct sock_filter notify[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_sysinfo, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog program = {4, notify};
    SETUP_OR_DIE(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0,
                 "seccomp: %s\n", strerror(errno));
  } else if (strcmp(kind, "nested_pidns") == 0) {
    SETUP_OR_DIE(unshare(CLONE_NEWPID) == 0, "unshare(CLONE_NEWPID): %s\n", strerror(errno));
    child = fork();
    SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
    if (child == 0) {
      for (;;) pause();
    }
  } else if (strcmp(kind, "tcp_connected") == 0) {
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof address;
    SETUP_OR_DIE(bind(listener, (struct sockaddr*)&address, sizeof address) == 0 && listen(listener, 1) == 0 &&
                     getsockname(listener, (struct sockaddr*)&address, &length) == 0,
                 "listen: %s\n", strerror(errno));
    fd = socket(AF_INET, SOCK_STREAM, 0);
    SETUP_OR_DIE(connect(fd, (struct sockaddr*)&address, sizeof address) == 0, "connect: %s\n", strerror(errno));
    // Accepted and the listener kept: closing it with the connection still queued would reset the
    // connection (TCP state CLOSE), and the dump would see no established one.
    SETUP_OR_DIE(accept(listener, NULL, NULL) >= 0, "accept: %s\n", strerror(errno));
  } else if (strcmp(kind, "epoll_shared") == 0) {
    // One set inherited by fork, watching an eventfd only the init holds and one only the child
    // holds: neither process can add every watch again (a set shared by fork is restored when one
    // holder names all its files: cr_epoll_shared).
    fd = epoll_create1(0);
    int theirs = eventfd(0, 0);
    struct epoll_event event = {.events = EPOLLIN};
    SETUP_OR_DIE(fd >= 0 && theirs >= 0 && epoll_ctl(fd, EPOLL_CTL_ADD, theirs, &event) == 0, "epoll: %s\n", strerror(errno));
    int ready[2];
    SETUP_OR_DIE(pipe(ready) == 0, "pipe: %s\n", strerror(errno));
    child = fork();
    SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
    if (child == 0) {
      int own = eventfd(0, 0);
      SETUP_OR_DIE(own >= 0 && epoll_ctl(fd, EPOLL_CTL_ADD, own, &event) == 0, "child epoll: %s\n", strerror(errno));
      close(theirs);
      SETUP_OR_DIE(write(ready[1], "", 1) == 1, "child ready: %s\n", strerror(errno));
      for (;;) pause();
    }
    char byte;
    SETUP_OR_DIE(read(ready[0], &byte, 1) == 1, "wait for the child: %s\n", strerror(errno));
    close(ready[0]);
    close(ready[1]);
  } else if (strcmp(kind, "pidfd_reaped") == 0) {
    // A pidfd of a child that exited and was waited for: it names no process any more.
    pid_t gone = fork();
    SETUP_OR_DIE(gone >= 0, "fork: %s\n", strerror(errno));
    if (gone == 0) _exit(0);
    fd = (int)syscall(SYS_pidfd_open, gone, 0);
    SETUP_OR_DIE(fd >= 0 && waitpid(gone, NULL, 0) == gone, "pidfd_open: %s\n", strerror(errno));
  } else if (strcmp(kind, "pidfd_shared") == 0) {
    // The init's pidfd of itself, inherited by its child: one open file in two processes.
    fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    SETUP_OR_DIE(fd >= 0, "pidfd_open: %s\n", strerror(errno));
    child = fork();
    SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
    if (child == 0) {
      for (;;) pause();
    }
  } else if (strcmp(kind, "pidfd_sibling") == 0) {
    // The second child holds a pidfd of the first: restore opens pidfds while the holder is made,
    // when its siblings may not exist yet.
    child = fork();
    SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
    if (child == 0) {
      for (;;) pause();
    }
    pid_t first = child;
    int ready[2];
    SETUP_OR_DIE(pipe(ready) == 0, "pipe: %s\n", strerror(errno));
    pid_t second = fork();
    SETUP_OR_DIE(second >= 0, "fork: %s\n", strerror(errno));
    if (second == 0) {
      SETUP_OR_DIE(syscall(SYS_pidfd_open, first, 0) >= 0, "pidfd_open: %s\n", strerror(errno));
      SETUP_OR_DIE(write(ready[1], "", 1) == 1, "child ready: %s\n", strerror(errno));
      for (;;) pause();
    }
    char byte;
    SETUP_OR_DIE(read(ready[0], &byte, 1) == 1, "wait for the child: %s\n", strerror(errno));
    fd = -1;
  } else if (strcmp(kind, "fanotify_mount") == 0 || strcmp(kind, "fanotify_queued") == 0 ||
             strcmp(kind, "fanotify_content") == 0) {
    // Inode marks of the notification class come back (cr_fanotify); a mount mark, an event not
    // read yet and a permission class do not.
    fd = fanotify_init((strcmp(kind, "fanotify_content") == 0 ? FAN_CLASS_CONTENT : FAN_CLASS_NOTIF) | FAN_CLOEXEC, O_RDONLY);
    SETUP_OR_DIE(fd >= 0, "fanotify_init: %s\n", strerror(errno));
    unsigned how = FAN_MARK_ADD | (strcmp(kind, "fanotify_mount") == 0 ? FAN_MARK_MOUNT : 0);
    SETUP_OR_DIE(fanotify_mark(fd, how, FAN_MODIFY, AT_FDCWD, dir) == 0, "fanotify_mark: %s\n", strerror(errno));
    if (strcmp(kind, "fanotify_queued") == 0) {
      snprintf(path, sizeof path, "%s/touched", dir);
      int made = open(path, O_WRONLY | O_CREAT, 0600);
      SETUP_OR_DIE(made >= 0, "create: %s\n", strerror(errno));
      close(made);
      SETUP_OR_DIE(fanotify_mark(fd, FAN_MARK_ADD, FAN_MODIFY, AT_FDCWD, path) == 0, "fanotify_mark: %s\n", strerror(errno));
      made = open(path, O_WRONLY);
      SETUP_OR_DIE(made >= 0 && write(made, "x", 1) == 1, "write: %s\n", strerror(errno));  // Queues one FAN_MODIFY.
      close(made);
    }
  } else if (strcmp(kind, "shared_files") == 0) {
    clone_sharing(CLONE_FILES);
  } else if (strcmp(kind, "shared_fs") == 0) {
    clone_sharing(CLONE_FS);
  } else if (strcmp(kind, "uffd_missing") == 0 || strcmp(kind, "uffd_wp") == 0) {
    // A mapping registered with userfaultfd: VmFlags um or uw.
    fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    SETUP_OR_DIE(fd >= 0, "userfaultfd: %s\n", strerror(errno));
    struct uffdio_api api = {.api = UFFD_API};
    SETUP_OR_DIE(ioctl(fd, UFFDIO_API, &api) == 0, "UFFDIO_API: %s\n", strerror(errno));
    char* area = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    SETUP_OR_DIE(area != MAP_FAILED, "mmap: %s\n", strerror(errno));
    struct uffdio_register reg = {.range = {.start = (uintptr_t)area, .len = 4096},
                                  .mode = strcmp(kind, "uffd_wp") == 0 ? UFFDIO_REGISTER_MODE_WP : UFFDIO_REGISTER_MODE_MISSING};
    SETUP_OR_DIE(ioctl(fd, UFFDIO_REGISTER, &reg) == 0, "UFFDIO_REGISTER: %s\n", strerror(errno));
  } else if (strcmp(kind, "shared_vm") == 0) {
    clone_sharing(CLONE_VM | CLONE_SIGHAND);
  } else if (strcmp(kind, "own_mount") == 0) {
    char path[4096];
    snprintf(path, sizeof path, "%s/mnt", dir);
    SETUP_OR_DIE(mkdir(path, 0700) == 0 && mount("cr_unsupported", path, "tmpfs", 0, "size=64k") == 0, "mount tmpfs on %s: %s\n",
                 path, strerror(errno));
  } else if (strcmp(kind, "ptmx") == 0) {
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    SETUP_OR_DIE(master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0, "posix_openpt: %s\n", strerror(errno));
    SETUP_OR_DIE(open(ptsname(master), O_RDWR | O_NOCTTY) >= 0, "open(%s): %s\n", ptsname(master), strerror(errno));
  } else if (strcmp(kind, "own_netns") == 0) {
    SETUP_OR_DIE(unshare(CLONE_NEWNET) == 0, "unshare(CLONE_NEWNET): %s\n", strerror(errno));
  } else if (strcmp(kind, "secretmem_fd") == 0 || strcmp(kind, "secretmem_map") == 0) {
    int secret = (int)syscall(447 /* SYS_memfd_secret */, 0);
    SETUP_OR_DIE(secret >= 0 && ftruncate(secret, 4096) == 0, "memfd_secret: %s\n", strerror(errno));
    if (strcmp(kind, "secretmem_fd") == 0) {
      fd = secret;
    } else {
      shm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, secret, 0);
      SETUP_OR_DIE(shm != MAP_FAILED, "mmap(memfd_secret): %s\n", strerror(errno));
      strcpy(shm, "sysv");  // The same check as sysv_shm's: the contents are still there.
      close(secret);
    }
  } else if (strcmp(kind, "sud") == 0) {
    SETUP_OR_DIE(prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, 0, 0, &dispatch_selector) == 0,
                 "prctl(PR_SET_SYSCALL_USER_DISPATCH): %s\n", strerror(errno));
  } else if (strcmp(kind, "ldt") == 0) {
    struct user_desc entry = {.entry_number = 3, .base_addr = 0x1000, .limit = 0xfff, .seg_32bit = 1, .useable = 1};
    SETUP_OR_DIE(syscall(SYS_modify_ldt, 1, &entry, sizeof entry) == 0, "modify_ldt: %s\n", strerror(errno));
  } else if (strcmp(kind, "mixed_randomization") == 0) {
    child = fork();
    SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
    if (child == 0) {
      personality(PER_LINUX | ADDR_NO_RANDOMIZE);
      execl("/bin/sleep", "sleep", "1000", (char*)NULL);
      _exit(127);
    }
    sleep_ms(100);  // Until its exec is done.
  } else if (strcmp(kind, "mbind") == 0) {
    // MPOL_BIND on node 0 for two pages of their own (set_mempolicy reads one bit fewer than maxnode).
    unsigned long node0 = 1;
    bound = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    SETUP_OR_DIE(bound != MAP_FAILED, "mmap: %s\n", strerror(errno));
    SETUP_OR_DIE(syscall(SYS_mbind, bound, 8192, MPOL_BIND, &node0, 65, 0) == 0, "mbind: %s\n", strerror(errno));
    bound[0] = 1;
  } else if (strcmp(kind, "dead_leader") == 0) {
    child = fork();
    SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
    if (child == 0) {
      pthread_t thread;
      if (pthread_create(&thread, NULL, waiting_thread, NULL) != 0) _exit(1);
      pthread_exit(NULL);  // The process lives on in `thread`; /proc shows its leader as a zombie.
    }
    sleep_ms(100);  // Until its main thread has ended.
  } else if (strcmp(kind, "thread_files") == 0 || strcmp(kind, "thread_fs") == 0 || strcmp(kind, "thread_nnp") == 0 || strcmp(kind, "thread_seccomp") == 0 ||
             strcmp(kind, "thread_seccomp_more") == 0 || strcmp(kind, "thread_personality") == 0 || strcmp(kind, "thread_uts") == 0 ||
             strcmp(kind, "thread_keepcaps") == 0) {
    unshare_kind = kind;
    if (strcmp(kind, "thread_seccomp_more") == 0) {
      // Both threads under this one; the thread adds one more for itself (thread_seccomp below).
      struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
      struct sock_fprog program = {1, &allow};
      SETUP_OR_DIE(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0, "seccomp: %s\n", strerror(errno));
      unshare_kind = "thread_seccomp";
    }
    pthread_t thread;
    SETUP_OR_DIE(pthread_create(&thread, NULL, unsharing_thread, NULL) == 0, "pthread_create\n");
    while (!__atomic_load_n(&unshared_tid, __ATOMIC_SEQ_CST)) sleep_ms(1);
  } else if (strcmp(kind, "deleted_exe") == 0) {
    char copy[4096], command[8300];
    snprintf(copy, sizeof copy, "%s/sleep-copy", dir);
    snprintf(command, sizeof command, "cp /bin/sleep '%s'", copy);
    SETUP_OR_DIE(system(command) == 0, "%s failed\n", command);
    child = fork();
    SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
    if (child == 0) {
      execl(copy, "sleep-copy", "1000", (char*)NULL);
      _exit(127);
    }
    sleep_ms(100);  // Until its exec is done.
    SETUP_OR_DIE(unlink(copy) == 0, "unlink(%s): %s\n", copy, strerror(errno));
  } else if (strcmp(kind, "process_keyring") == 0) {
    // A key in the process keyring, which keyctl creates on first use (stress-ng --key does this).
    long key = syscall(SYS_add_key, "user", "cr_unsupported", "secret", 6, KEY_SPEC_PROCESS_KEYRING);
    SETUP_OR_DIE(key > 0, "add_key: %s\n", strerror(errno));
  } else if (strcmp(kind, "orphan_in_live_session") == 0) {
    // A session leader whose grandchild outlives its own child: the init adopts the grandchild,
    // which stays in the leader's session and group (stress-ng --daemon's shape).
    child = fork();
    SETUP_OR_DIE(child >= 0, "fork: %s\n", strerror(errno));
    if (child == 0) {
      setsid();
      pid_t middle = fork();
      if (middle == 0) {
        if (fork() == 0)
          for (;;) pause();
        _exit(0);
      }
      waitpid(middle, NULL, 0);
      for (;;) pause();
    }
    sleep_ms(100);  // Until the middle process has exited.
  } else if (strcmp(kind, "aio") == 0) {
    aio_context_t context = 0;
    SETUP_OR_DIE(syscall(SYS_io_setup, 8, &context) == 0, "io_setup: %s\n", strerror(errno));
  } else {
    SETUP_OR_DIE(0, "unknown kind %s\n", kind);
  }
}

int main(int argc, char** argv) {
  install_check_handler();
  const char* kind = arg_string(argc, argv, "kind", "");
  setup(kind, arg_string(argc, argv, "dir", "/tmp"), arg_string(argc, argv, "queue", "/cr_unsupported"));
  say("READY pid=%d kind=%s\n", (int)getpid(), kind);
  wait_for_check();
  if (shm) EXPECT_OR_FAIL(strcmp(shm, "sysv") == 0, "the SysV segment changed\n");
  if (fd >= 0) EXPECT_OR_FAIL(fcntl(fd, F_GETFD) >= 0, "fd %d is gone\n", fd);
  if (child > 0) EXPECT_OR_FAIL(kill(child, 0) == 0, "the child is gone\n");
  if (strcmp(kind, "mbind") == 0) {
    int mode = -1;
    EXPECT_OR_FAIL(syscall(SYS_get_mempolicy, &mode, NULL, 0, bound, MPOL_F_ADDR) == 0 && mode == MPOL_BIND,
                   "the mapping's memory policy is %d, was MPOL_BIND\n", mode);
  }
  if (strcmp(kind, "dead_leader") == 0) {
    // Still a live process of two tasks: its ended main thread and the one running on.
    char path[64], text[4096] = "";
    snprintf(path, sizeof path, "/proc/%d/status", (int)child);
    int status = open(path, O_RDONLY);
    ssize_t n = status >= 0 ? read(status, text, sizeof text - 1) : -1;
    if (status >= 0) close(status);
    EXPECT_OR_FAIL(n > 0 && strstr(text, "Threads:\t2\n") != NULL, "the child's second thread is gone:\n%s\n", text);
  }
  if (unshared_tid) {
    // The thread's table is still its own: fd 50 only there, or a cwd of / while ours is not.
    char path[64], cwd[4096] = "", mine[4096] = "";
    if (strcmp(kind, "thread_files") == 0) {
      snprintf(path, sizeof path, "/proc/self/task/%d/fd/50", (int)unshared_tid);
      EXPECT_OR_FAIL(access(path, F_OK) == 0 && fcntl(50, F_GETFD) < 0, "the thread no longer has an fd table of its own\n");
    } else if (strcmp(kind, "thread_keepcaps") == 0) {
      sleep_ms(50);  // A fresh reading of the thread's own.
      EXPECT_OR_FAIL(thread_keepcaps == 1 && prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) == 0, "the thread's keepcaps is %d, ours %d\n",
                     thread_keepcaps, prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0));
    } else if (strcmp(kind, "thread_uts") == 0) {
      char its[64] = "", mine_ns[64] = "";
      snprintf(path, sizeof path, "/proc/self/task/%d/ns/uts", (int)unshared_tid);
      EXPECT_OR_FAIL(readlink(path, its, sizeof its - 1) > 0 && readlink("/proc/thread-self/ns/uts", mine_ns, sizeof mine_ns - 1) > 0 &&
                         strcmp(its, mine_ns) != 0,
                     "the thread is no longer in a UTS namespace of its own (%s, ours %s)\n", its, mine_ns);
    } else if (strcmp(kind, "thread_nnp") == 0 || strcmp(kind, "thread_seccomp") == 0 || strcmp(kind, "thread_seccomp_more") == 0 ||
               strcmp(kind, "thread_personality") == 0) {
      // The thread's own setting is still its own: its /proc status or personality differs from ours.
      char mine_text[4096] = "", its_text[4096] = "";
      const char* file = strcmp(kind, "thread_personality") == 0 ? "personality" : "status";
      snprintf(path, sizeof path, "/proc/self/task/%d/%s", (int)unshared_tid, file);
      char own[64];
      snprintf(own, sizeof own, "/proc/self/task/%d/%s", (int)syscall(SYS_gettid), file);
      int a = open(path, O_RDONLY), b = open(own, O_RDONLY);
      ssize_t na = a >= 0 ? read(a, its_text, sizeof its_text - 1) : -1, nb = b >= 0 ? read(b, mine_text, sizeof mine_text - 1) : -1;
      if (a >= 0) close(a);
      if (b >= 0) close(b);
      const char* key = strcmp(kind, "thread_nnp") == 0         ? "NoNewPrivs:\t1"
                        : strcmp(kind, "thread_seccomp") == 0      ? "Seccomp:\t2"
                        : strcmp(kind, "thread_seccomp_more") == 0 ? "Seccomp_filters:\t2"
                                                                   : "00020000";
      EXPECT_OR_FAIL(na > 0 && nb > 0 && strstr(its_text, key) && !strstr(mine_text, key), "the thread's own %s setting is gone\n", file);
    } else {
      snprintf(path, sizeof path, "/proc/self/task/%d/cwd", (int)unshared_tid);
      EXPECT_OR_FAIL(readlink(path, cwd, sizeof cwd - 1) > 0 && getcwd(mine, sizeof mine) && strcmp(cwd, "/") == 0 && strcmp(mine, "/") != 0,
                     "the thread no longer has a cwd of its own (%s, ours %s)\n", cwd, mine);
    }
  }
  if (strcmp(kind, "inotify_queued") == 0) {
    // The refused dump looked at the queue without taking the event.
    int bytes = -1;
    EXPECT_OR_FAIL(ioctl(fd, FIONREAD, &bytes) == 0 && bytes == 32, "the queued inotify event is gone (%d bytes left)\n", bytes);
  }
  if (strcmp(kind, "posix_mq_notify") == 0) {
    // Still registered (a second registration is EBUSY) and still holding its message.
    struct sigevent event = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2};
    EXPECT_OR_FAIL(mq_notify(fd, &event) < 0 && errno == EBUSY, "the mq_notify registration is gone\n");
    char text[8192];
    unsigned priority = 0;
    ssize_t n = mq_receive(fd, text, sizeof text, &priority);
    EXPECT_OR_FAIL(n == 4 && memcmp(text, "kept", 4) == 0 && priority == 3, "the queued message is gone or changed\n");
  }
  if (strcmp(kind, "shared_files") == 0) {
    // Still one table: an fd opened here is there in the child.
    int probe = open("/dev/null", O_RDONLY);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)child, probe);
    EXPECT_OR_FAIL(probe >= 0 && access(path, F_OK) == 0, "the child no longer shares the fd table\n");
  }
  finish();
}
