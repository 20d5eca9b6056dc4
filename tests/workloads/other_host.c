// Test helper: runs a command as if on another host, where every file is a copy with the same
// content on another filesystem (so another device and inode), or missing.
//
//   other_host --scratch DIR [--copy PATH]... [--change PATH]... [--hide DIR]... -- CMD [ARG...]
//
// In a new mount namespace with private mounts it mounts a tmpfs on DIR and, for each --copy PATH,
// copies PATH there (same bytes, mode, owner and mtime) and bind-mounts the copy over PATH. --change
// does the same but flips one byte of the copy in its middle, keeping its size and mtime (what
// `touch -r` after an edit gives). --hide mounts an empty tmpfs over DIR, so the files in it are
// missing. Then it executes CMD there (cryo restore, say); what CMD creates stays in that namespace.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static void die(const char* what, const char* path) {
  fprintf(stderr, "other_host: %s %s: %s\n", what, path, strerror(errno));
  exit(125);
}

static void copy_over(const char* scratch, const char* path, int index, int change) {
  char copy[4096];
  snprintf(copy, sizeof copy, "%s/%d", scratch, index);
  int in = open(path, O_RDONLY | O_CLOEXEC);
  if (in < 0) die("open", path);
  struct stat st;
  if (fstat(in, &st) != 0) die("fstat", path);
  int out = open(copy, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
  if (out < 0) die("create", copy);
  char buf[1 << 16];
  ssize_t n;
  while ((n = read(in, buf, sizeof buf)) > 0)
    if (write(out, buf, (size_t)n) != n) die("write", copy);
  if (n < 0) die("read", path);
  if (change && st.st_size > 0) {
    unsigned char c;
    off_t middle = st.st_size / 2;
    if (pread(out, &c, 1, middle) != 1) die("pread", copy);
    c ^= 0xff;
    if (pwrite(out, &c, 1, middle) != 1) die("pwrite", copy);
  }
  if (fchown(out, st.st_uid, st.st_gid) != 0) die("fchown", copy);
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (futimens(out, times) != 0) die("futimens", copy);
  close(out);
  close(in);
  if (mount(copy, path, NULL, MS_BIND, NULL) != 0) die("bind-mount over", path);
}

int main(int argc, char** argv) {
  const char* scratch = NULL;
  int i = 1;
  for (; i < argc && strcmp(argv[i], "--") != 0; ++i)
    if (strcmp(argv[i], "--scratch") == 0 && i + 1 < argc) scratch = argv[++i];
  if (!scratch || i + 1 >= argc) {
    fprintf(stderr, "usage: other_host --scratch DIR [--copy PATH]... [--change PATH]... [--hide DIR]... -- CMD [ARG...]\n");
    return 125;
  }
  if (unshare(CLONE_NEWNS) != 0) die("unshare", "CLONE_NEWNS");
  // Private, so that nothing mounted here shows on the real host.
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) die("make private", "/");
  if (mount("tmpfs", scratch, "tmpfs", 0, "size=256m,mode=0700") != 0) die("mount tmpfs on", scratch);
  int copies = 0;
  for (int j = 1; j < i; ++j) {
    if (strcmp(argv[j], "--copy") == 0 && j + 1 < i) copy_over(scratch, argv[++j], copies++, 0);
    else if (strcmp(argv[j], "--change") == 0 && j + 1 < i) copy_over(scratch, argv[++j], copies++, 1);
    else if (strcmp(argv[j], "--hide") == 0 && j + 1 < i) {
      if (mount("tmpfs", argv[++j], "tmpfs", 0, "size=1m") != 0) die("mount tmpfs over", argv[j]);
    } else if (strcmp(argv[j], "--scratch") == 0) ++j;
  }
  execvp(argv[i + 1], argv + i + 1);
  die("exec", argv[i + 1]);
}
