// Restore's file check on another host: files recognised by content (contents.img), whatever their
// device and inode; the same inode on the same boot is taken without reading anything.
#include "restore/host_files.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>

namespace cryo::restore {
namespace {

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "\n";
  return out;
}

image::FileIdentity identity(uint64_t ino, uint64_t size, int64_t mtime) {
  image::FileIdentity id;
  id.set_dev(8);
  id.set_ino(ino);
  id.set_size(size);
  id.set_mtime_ns(mtime);
  id.set_mode(S_IFREG | 0755);
  return id;
}

struct Fixture {
  image::FileContents contents;
  std::map<std::string, PathStat> stats;
  std::map<std::string, PathContent> bytes;
  int reads = 0;

  Fixture() {
    add_record("/usr/lib/libc.so.6", 100, 2000, 7, true, 0xabc, "\x12\x34");
    add_record("/big/model", 200, 1 << 30, 9, false, 0, "");
    // The same files, on another filesystem (another host): other device and inodes.
    stats["/usr/lib/libc.so.6"] = {0, 30, 5000, 2000, 7, S_IFREG | 0755, 0};
    stats["/big/model"] = {0, 30, 5001, 1 << 30, 9, S_IFREG | 0644, 0};
    bytes["/usr/lib/libc.so.6"] = {0, "\x12\x34", true, 0xabc};
    bytes["/big/model"] = {0, "", false, 0};
  }
  void add_record(const std::string& path, uint64_t ino, uint64_t size, int64_t mtime, bool hashed, uint64_t xxh3, std::string build_id) {
    auto* f = contents.add_files();
    f->set_dev(8);
    f->set_ino(ino);
    f->set_path(path);
    f->set_size(size);
    f->set_mtime_ns(mtime);
    f->set_mode(S_IFREG | 0755);
    f->set_hashed(hashed);
    f->set_xxh3(xxh3);
    f->set_build_id(build_id);
  }
  HostCheck run(bool same_boot, const std::function<void(HostFiles&)>& uses) {
    StatFunction stat = [this](const std::string& p) {
      auto it = stats.find(p);
      return it == stats.end() ? PathStat{ENOENT} : it->second;
    };
    ContentFunction content = [this](const std::string& p, bool hash) {
      ++reads;
      PathContent c = bytes.at(p);
      if (!hash) c.hashed = false;
      return c;
    };
    HostFiles files(contents, same_boot, stat, content);
    uses(files);
    HostCheck out;
    files.check(&out);
    return out;
  }
};

void libc_users(HostFiles& files, int processes) {
  for (int pid = 1; pid <= processes; ++pid) files.same_file("/usr/lib/libc.so.6", identity(100, 2000, 7), "mapped by pid " + std::to_string(pid));
}

TEST(HostFiles, TheSameInodeOnTheSameBootIsTakenWithoutReadingIt) {
  Fixture f;
  f.stats["/usr/lib/libc.so.6"] = {0, 8, 100, 2000, 7, S_IFREG | 0755, 0};
  auto out = f.run(true, [](HostFiles& files) { libc_users(files, 1); });
  EXPECT_TRUE(out.problems.empty()) << joined(out.problems);
  EXPECT_TRUE(out.notes.empty()) << joined(out.notes);
  EXPECT_EQ(f.reads, 0);
  // On another boot the same numbers prove nothing: the content is read.
  out = f.run(false, [](HostFiles& files) { libc_users(files, 1); });
  EXPECT_TRUE(out.problems.empty()) << joined(out.problems);
  EXPECT_EQ(f.reads, 1);
}

TEST(HostFiles, AnotherInodeWithTheSameContentIsAccepted) {
  Fixture f;
  auto out = f.run(true, [](HostFiles& files) { libc_users(files, 3); });
  EXPECT_TRUE(out.problems.empty()) << joined(out.problems);
  EXPECT_NE(joined(out.notes).find("/usr/lib/libc.so.6 (mapped by pid 1, mapped by pid 2, mapped by pid 3): same content"), std::string::npos)
      << joined(out.notes);
  EXPECT_EQ(f.reads, 1) << "a file many processes map is read once";
}

TEST(HostFiles, EveryDifferenceOfEveryFileIsListedAtOnce) {
  Fixture f;
  f.bytes["/usr/lib/libc.so.6"] = {0, "\x99", true, 0xdef};  // Same size and mtime, other bytes.
  f.stats["/big/model"].size += 1;
  auto out = f.run(true, [](HostFiles& files) {
    libc_users(files, 5);
    files.same_file("/big/model", identity(200, 1 << 30, 9), "fd 4 of pid 2");
    files.same_file("/gone", identity(300, 1, 1), "fd 5 of pid 2");
  });
  ASSERT_EQ(out.problems.size(), 3u) << joined(out.problems);
  std::string all = joined(out.problems);
  EXPECT_NE(all.find("/usr/lib/libc.so.6 (mapped by pid 1, mapped by pid 2, mapped by pid 3, and 2 more) is not the dump's file: "
                     "build-id 1234, now 99, content (xxh3 0xabc, now 0xdef)"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("/big/model (fd 4 of pid 2) is not the dump's file: size 1073741824, now 1073741825"), std::string::npos) << all;
  EXPECT_NE(all.find("/gone (fd 5 of pid 2) is missing on this host"), std::string::npos) << all;
}

TEST(HostFiles, AFileAboveTheHashBoundNeedsTheSameSizeMtimeAndBuildId) {
  Fixture f;
  auto use = [](HostFiles& files) { files.same_file("/big/model", identity(200, 1 << 30, 9), "mapped by pid 1"); };
  auto out = f.run(true, use);
  EXPECT_TRUE(out.problems.empty()) << joined(out.problems);
  EXPECT_NE(joined(out.notes).find("not hashed, same size, mtime and build-id"), std::string::npos) << joined(out.notes);
  f.stats["/big/model"].mtime_ns = 10;
  EXPECT_NE(joined(f.run(true, use).problems).find("mtime, and it was not hashed"), std::string::npos);
}

TEST(HostFiles, AFileOpenForWritingIsTakenByPathWhenLongEnough) {
  Fixture f;
  f.stats["/var/log/app.log"] = {0, 30, 6000, 100, 1, S_IFREG | 0644, 0};
  auto out = f.run(true, [](HostFiles& files) { files.writable_file("/var/log/app.log", identity(400, 80, 1), 100, "fd 1 of pid 1"); });
  EXPECT_TRUE(out.problems.empty()) << joined(out.problems);
  EXPECT_NE(joined(out.notes).find("open for writing): accepted by path, 100 bytes, at least its position 100"), std::string::npos);
  out = f.run(true, [](HostFiles& files) { files.writable_file("/var/log/app.log", identity(400, 80, 1), 101, "fd 1 of pid 1"); });
  EXPECT_NE(joined(out.problems).find("is 100 bytes, shorter than the position 101"), std::string::npos) << joined(out.problems);
  EXPECT_EQ(f.reads, 0);
}

TEST(HostFiles, AnImageWithoutContentRecordsComparesInodes) {
  Fixture f;
  f.contents.Clear();
  auto out = f.run(false, [](HostFiles& files) { libc_users(files, 1); });
  EXPECT_NE(joined(out.problems).find("is another file than at the dump (device:inode 8:100, now 30:5000)"), std::string::npos)
      << joined(out.problems);
}

}  // namespace
}  // namespace cryo::restore
