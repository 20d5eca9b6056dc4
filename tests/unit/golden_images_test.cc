// Format compatibility: the golden images under images/golden/ were written by an earlier cryo and
// are committed as they were. Today's reader must still verify, decode and validate them, and read
// the same facts out of them. A change to proto/ or the framing that breaks old images fails here.
#include <gtest/gtest.h>

#include <filesystem>

#include "image/framed_file.h"
#include "image/image_dir.h"
#include "image/image_kinds.h"
#include "image/image_set.h"
#include "restore/image_validation.h"

namespace cryo {
namespace {

const std::string kCounter = std::string(CRYO_GOLDEN_IMAGES) + "/v1-counter";

TEST(GoldenImages, EveryFileOfEveryGoldenImageMatchesItsInventoryAndDecodes) {
  int images = 0;
  for (const auto& entry : std::filesystem::directory_iterator(CRYO_GOLDEN_IMAGES)) {
    if (!entry.is_directory()) continue;
    ++images;
    SCOPED_TRACE(entry.path().string());
    auto inventory = image::open_image_dir(entry.path());
    ASSERT_TRUE(inventory) << inventory.error().message;
    EXPECT_EQ(inventory->format_version(), 1u);
    for (const auto& file : inventory->files()) {
      auto id = image::identify(file.name());
      ASSERT_TRUE(id) << file.name() << " is no known image kind";
      if (id->kind == image::Kind::Pages) continue;  // Raw pages: no framing to decode.
      auto message = image::new_message(id->kind);
      auto read = image::read_image(entry.path(), id->kind, id->pid, message.get());
      EXPECT_TRUE(read) << file.name() << ": " << read.error().message;
    }
  }
  EXPECT_GE(images, 1) << "no golden image under " << CRYO_GOLDEN_IMAGES;
}

TEST(GoldenImages, CounterImageStillSaysWhatItSaidWhenItWasWritten) {
  auto set = load_image_set(kCounter);
  ASSERT_TRUE(set) << set.error().message;
  // Written by `cryo run --uptime 49d --hostname golden -- demo_counter`, dumped about 1 s later.
  ASSERT_EQ(set->processes.size(), 1u);
  const auto& init = set->processes[0];
  EXPECT_EQ(init.pid(), 1u);
  EXPECT_EQ(init.core.comm(), "demo_counter");
  EXPECT_TRUE(set->namespaces.own_pid());
  EXPECT_TRUE(set->namespaces.own_time());
  EXPECT_TRUE(set->namespaces.own_uts());
  EXPECT_EQ(set->namespaces.hostname(), "golden");
  constexpr int64_t k49Days = 49LL * 86400 * 1000000000;
  EXPECT_GE(set->namespaces.clocks_inside().boottime_ns(), k49Days);
  EXPECT_LT(set->namespaces.clocks_inside().boottime_ns(), k49Days + 10LL * 1000000000);
  EXPECT_EQ(init.pagemap.pages_file_size(), init.pages_file_size);
  EXPECT_GT(init.mm.vmas_size(), 0);
  EXPECT_EQ(init.files.fds_size(), 3);
}

TEST(GoldenImages, CounterImagePassesTodaysValidation) {
  auto set = load_image_set(kCounter);
  ASSERT_TRUE(set) << set.error().message;
  std::vector<std::string> problems;
  restore::validate_image(*set, &problems);
  std::string all;
  for (const auto& p : problems) all += p + "\n";
  EXPECT_TRUE(problems.empty()) << all;
}

}  // namespace
}  // namespace cryo
