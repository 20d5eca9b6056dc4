// The image fuzzer's one entry point, shared by the libFuzzer target (clang) and the regression test
// that replays the corpus and every crash ever found (g++), so both run exactly the same code.
//
// Input layout. Byte 0 selects the mode (bits 7..6) and the image kind (bits 5..0, taken modulo the
// number of kinds in all_kinds(), so every kind, raw pages included, is reachable):
//   mode 0, decode:   the rest is one image file of that kind; it is decoded with decode_records, and
//                     every record is printed as text and JSON the way `cryo show` does.
//   mode 1, name:     the rest is a file name; identify() must agree with file_name(). The same bytes
//                     are parsed as a stats file (image/run_stats.h): what is accepted must print
//                     and survive being written and read again.
//   mode 2, dir:      the rest is an image directory (layout below), written to a temporary directory
//                     as is and opened with open_image_dir; when it opens, it is printed like show,
//                     loaded like restore loads it and validated with validate_image; an image
//                     validation accepts must keep the promises of restore_oracle.h.
//   mode 3, dir+sums: as mode 2, but the inventory is the bare Inventory message and the entry fills
//                     in the true size and checksum of every file before framing it, so the fuzzer
//                     gets past the checksums into the decoders and the printer.
// Directory layout: u16 little-endian inventory length, the inventory bytes, then files until the
// input ends, each [kind byte][pid byte (pid = byte + 1)][u16 LE length][bytes]; the selector's kind
// is unused. A length past the end takes what is left.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace cryo::fuzz {

enum class Mode : uint8_t { Decode = 0, Name = 1, Dir = 2, DirWithSums = 3 };

// The selector byte for a mode and the index of a kind in all_kinds().
uint8_t selector(Mode mode, size_t kind_index);

// How far an input got, for tests that check the corpus reaches the deep end.
struct Outcome {
  bool decoded = false;         // decode_records accepted it (decode mode).
  bool dir_opened = false;      // open_image_dir accepted it (directory modes).
  bool restore_accepted = false;  // load_image_set and validate_image accepted it.
};

// Runs one input. Returns a description of a broken invariant (a round trip that disagrees, an
// accepted image that breaks a promise), nullopt when the input was handled, whether accepted or
// refused. Crashes, hangs and leaks are the sanitizers' to report.
std::optional<std::string> run_image_input(std::span<const uint8_t> input, Outcome* outcome = nullptr);

}  // namespace cryo::fuzz
