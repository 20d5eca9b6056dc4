// Replays the image fuzzer's seed corpus and every input that ever crashed it through the same entry
// function, compiled with g++, so a fixed bug stays fixed in the ordinary test run.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string_view>
#include <vector>

#include "base/file_util.h"
#include "fuzz/fuzz_entry.h"
#include "image/image_kinds.h"

namespace cryo::fuzz {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> inputs_in(const fs::path& dir) {
  std::vector<fs::path> inputs;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().extension() != ".md") inputs.push_back(entry.path());
  std::sort(inputs.begin(), inputs.end());
  return inputs;
}

void replay(const fs::path& dir) {
  auto inputs = inputs_in(dir);
  for (const auto& path : inputs) {
    auto bytes = read_file(path);
    ASSERT_TRUE(bytes) << bytes.error().message;
    auto broken = run_image_input({reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()});
    EXPECT_FALSE(broken) << path.filename() << ": " << *broken;
  }
}

TEST(FuzzRegression, CrashInputsAreHandled) { replay(fs::path(CRYO_FUZZ_DIR) / "regressions"); }

TEST(FuzzRegression, SeedCorpusIsHandled) {
  ASSERT_FALSE(inputs_in(fs::path(CRYO_FUZZ_DIR) / "corpus").empty());
  replay(fs::path(CRYO_FUZZ_DIR) / "corpus");
}

// The corpus must reach the deep end: some image opens, and some is accepted by restore's validation,
// so the oracle that holds accepted images to restore's promises gets to run.
TEST(FuzzRegression, SeedCorpusReachesRestoreValidation) {
  Outcome reached;
  for (const auto& path : inputs_in(fs::path(CRYO_FUZZ_DIR) / "corpus")) {
    auto bytes = read_file(path);
    ASSERT_TRUE(bytes) << bytes.error().message;
    Outcome outcome;
    run_image_input({reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()}, &outcome);
    reached.decoded |= outcome.decoded;
    reached.dir_opened |= outcome.dir_opened;
    reached.restore_accepted |= outcome.restore_accepted;
  }
  EXPECT_TRUE(reached.decoded);
  EXPECT_TRUE(reached.dir_opened);
  EXPECT_TRUE(reached.restore_accepted);
}

// The kind bytes of the files of a directory input (layout in fuzz_entry.h).
std::vector<uint8_t> kinds_in_dir_input(std::string_view in) {
  std::vector<uint8_t> kinds;
  auto take_chunk = [&in] {
    if (in.size() < 2) {
      in = {};
      return;
    }
    size_t size = std::min<size_t>(uint8_t(in[0]) | size_t(uint8_t(in[1])) << 8, in.size() - 2);
    in.remove_prefix(2 + size);
  };
  take_chunk();  // The inventory.
  while (in.size() >= 2) {
    kinds.push_back(static_cast<uint8_t>(in[0]));
    in.remove_prefix(2);
    take_chunk();
  }
  return kinds;
}

// Every kind, raw pages included, has a seed that decodes it alone and one that puts it in a directory
// (the inventory is in every directory input).
TEST(FuzzRegression, SeedCorpusCoversEveryKind) {
  const auto kinds = image::all_kinds();
  std::set<size_t> decoded, in_dirs;
  for (const auto& path : inputs_in(fs::path(CRYO_FUZZ_DIR) / "corpus")) {
    auto bytes = read_file(path);
    ASSERT_TRUE(bytes) << bytes.error().message;
    if (bytes->empty()) continue;
    const uint8_t select = static_cast<uint8_t>((*bytes)[0]);
    const auto mode = static_cast<Mode>(select >> 6);
    if (mode == Mode::Decode) decoded.insert((select & 0x3f) % kinds.size());
    if (mode == Mode::Dir || mode == Mode::DirWithSums) {
      for (size_t i = 0; i < kinds.size(); ++i)
        if (kinds[i].kind == image::Kind::Inventory) in_dirs.insert(i);
      for (uint8_t kind : kinds_in_dir_input(std::string_view(*bytes).substr(1))) in_dirs.insert(kind % kinds.size());
    }
  }
  for (size_t i = 0; i < kinds.size(); ++i) {
    EXPECT_TRUE(decoded.count(i)) << "no decode seed for " << kinds[i].name;
    EXPECT_TRUE(in_dirs.count(i)) << "no directory seed holding " << kinds[i].name;
  }
}

}  // namespace
}  // namespace cryo::fuzz
