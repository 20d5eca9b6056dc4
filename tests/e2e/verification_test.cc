// Restore's verification (src/verify/, src/restore/tree_verification.cc): a tree whose fingerprint
// differs from the dump's is never released; --no-verify and images without fingerprints restore
// unverified, and the log says so. Every other round trip of the suite verifies too (the default).
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>

#include "e2e/checkpoint_harness.h"
#include "image/framed_file.h"
#include "image/image_dir.h"
#include "image/image_kinds.h"
#include "fingerprint.pb.h"
#include "inventory.pb.h"

namespace cryo::e2e {
namespace {

// Rewrites the inventory after the test changed or removed image files, as a dump would have
// written it: the image is then whole again, and only its fingerprints say something else.
void reseal(const std::string& dir) {
  image::Inventory inventory;
  ASSERT_TRUE(image::read_image(dir, image::Kind::Inventory, 0, &inventory).has_value());
  image::Inventory resealed = inventory;
  resealed.clear_files();
  for (const auto& file : inventory.files()) {
    std::string path = dir + "/" + file.name();
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) continue;  // removed by the test
    auto sum = image::checksum_file(path);
    ASSERT_TRUE(sum.has_value());
    auto* entry = resealed.add_files();
    entry->set_name(file.name());
    entry->set_size(static_cast<uint64_t>(st.st_size));
    entry->set_xxh3(*sum);
  }
  resealed.clear_self_xxh3();
  image::seal_inventory(resealed);
  ::unlink((dir + "/" + image::file_name(image::Kind::Inventory)).c_str());
  auto written = image::write_image(dir, image::Kind::Inventory, 0, resealed);
  ASSERT_TRUE(written.has_value()) << written.error().message;
}

// Dumps cr_attributes (umask 0027) and returns the image path.
std::string dumped_attributes(CheckpointSession& session) {
  pid_t init = session.start("cr_attributes", {"--dir=" + session.dir().path()});
  EXPECT_GT(init, 0);
  EXPECT_TRUE(session.dump_ok(init, session.image_path()));
  return session.image_path();
}

// Makes the dump's fingerprint say umask 0000 where the process has 0027.
void tamper_umask(const std::string& image) {
  image::ProcessFingerprint print;
  ASSERT_TRUE(image::read_image(image, image::Kind::Fingerprint, 1, &print).has_value());
  int changed = 0;
  for (auto& field : *print.mutable_fields())
    if (field.file() == "status" && field.name() == "Umask") {
      EXPECT_EQ(field.value(), "0027");
      field.set_value("0000");
      ++changed;
    }
  ASSERT_EQ(changed, 1);
  ::unlink((image + "/" + image::file_name(image::Kind::Fingerprint, 1)).c_str());
  auto written = image::write_image(image, image::Kind::Fingerprint, 1, print);
  ASSERT_TRUE(written.has_value()) << written.error().message;
  reseal(image);
}

TEST(Verification, ADifferenceKillsTheTreeAndNamesProcessFieldAndValues) {
  CheckpointSession session;
  std::string image = dumped_attributes(session);
  tamper_umask(image);
  if (::testing::Test::HasFatalFailure()) return;
  auto result = session.restore(image);
  expect_one_clear_error(result, "restored tree differs from the dump: pid 1 tid 1: status Umask was '0000', now '0027'");
  session.expect_nothing_left_running();
  EXPECT_NE(slurp(image + "/restore.log").find("verification: pid 1 tid 1: status Umask"), std::string::npos);
}

TEST(Verification, NoVerifyReleasesWithoutComparingAndSaysSo) {
  CheckpointSession session;
  std::string image = dumped_attributes(session);
  tamper_umask(image);
  pid_t restored = session.restore_ok(image, {"--no-verify"});
  ASSERT_GT(restored, 0);
  EXPECT_NE(slurp(image + "/restore.log").find("not verified: --no-verify"), std::string::npos);
  session.expect_pass_after_check(restored);
}

TEST(Verification, AnImageWithoutFingerprintsRestoresUnverifiedAndSaysSo) {
  CheckpointSession session;
  std::string image = dumped_attributes(session);
  for (const auto& entry : std::filesystem::directory_iterator(image))
    if (entry.path().filename().string().starts_with("fingerprint-")) std::filesystem::remove(entry.path());
  reseal(image);
  pid_t restored = session.restore_ok(image);
  ASSERT_GT(restored, 0);
  EXPECT_NE(slurp(image + "/restore.log").find("not verified: the image has no fingerprints"), std::string::npos);
  session.expect_pass_after_check(restored);
}

}  // namespace
}  // namespace cryo::e2e
