// Whether the files an image maps and holds open are here, and the same files: by device and inode
// on the boot that dumped it (the fast path: nothing is read), otherwise by what they are made of
// (contents.img: size, ELF build-id, XXH3 of the content), since another host, or a copy of the
// file, never has the same device and inode numbers. Files the tree writes to are taken by path
// if they are at least as long as the position the tree was at.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common.pb.h"
#include "file_contents.pb.h"
#include "restore/vdso_proxy.h"

namespace cryo::restore {

struct HostCheck {
  std::vector<std::string> problems;  // Each one stops the restore.
  std::vector<std::string> notes;     // Differences that do not (logged, and printed by --check).
  VdsoRedirect vdso_redirect;         // What restore does about a vdso that differs (host_vdso_check.h).
};

// What stat() says about a path, as far as identity checks care.
struct PathStat {
  int err = 0;  // errno of stat, 0 when it succeeded.
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint32_t mode = 0;
  uint64_t rdev = 0;
};
using StatFunction = std::function<PathStat(const std::string& path)>;
PathStat stat_path(const std::string& path);

// What the file at a path is made of; read only when the fast path does not apply.
struct PathContent {
  int err = 0;           // errno of open or read.
  std::string build_id;  // "" for none.
  bool hashed = false;
  uint64_t xxh3 = 0;
};
using ContentFunction = std::function<PathContent(const std::string& path, bool hash)>;
PathContent read_path_content(const std::string& path, bool hash);

// Collects every use of every file first, then checks each path once and lists all its users, so a
// changed library that twenty processes map is one line.
class HostFiles {
 public:
  HostFiles(const image::FileContents& contents, bool same_boot, const StatFunction& stat, const ContentFunction& content);

  // A file that must be the one of the dump (mapped, executed, or open read-only).
  void same_file(const std::string& path, const image::FileIdentity& id, const std::string& user);
  // A file open for writing at `pos`: taken by path when it is at least that long.
  void writable_file(const std::string& path, const image::FileIdentity& id, uint64_t pos, const std::string& user);
  // A directory, or the character device `rdev`.
  void kind(const std::string& path, const std::string& user, bool want_dir, uint64_t rdev);

  // Paths the image carries (`cryo dump --include`): missing here, they are put back, not a problem.
  void carried(std::set<std::string> paths) { carried_ = std::move(paths); }

  void check(HostCheck* out);

 private:
  struct Use {
    image::FileIdentity id;
    bool writable = false;
    uint64_t pos = 0;  // The largest position of a writable use.
    std::vector<std::string> users;
  };
  void check_same(const std::string& path, const Use& use, HostCheck* out);
  void check_writable(const std::string& path, const Use& use, HostCheck* out);

  std::map<std::pair<uint64_t, uint64_t>, const image::FileContent*> contents_;
  bool same_boot_;
  const StatFunction& stat_;
  const ContentFunction& content_;
  std::map<std::string, Use> same_, writable_;
  std::vector<std::string> kind_problems_;
  std::set<std::string> kinds_seen_;
  std::set<std::string> carried_;
};

}  // namespace cryo::restore
