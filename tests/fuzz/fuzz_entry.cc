#include "fuzz/fuzz_entry.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string_view>
#include <vector>

#include "base/file_util.h"
#include "base/unique_fd.h"
#include "fuzz/restore_oracle.h"
#include "image/framed_file.h"
#include "image/image_dir.h"
#include "image/image_kinds.h"
#include "image/image_printer.h"
#include "image/image_summaries.h"
#include "image/run_stats.h"
#include "image/image_set.h"
#include "restore/image_validation.h"

namespace cryo::fuzz {
namespace {

using Records = std::vector<std::unique_ptr<google::protobuf::Message>>;

const image::KindInfo& kind_at(uint8_t byte) {
  auto kinds = image::all_kinds();
  return kinds[byte % kinds.size()];
}

std::string_view as_chars(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// Reads a u16 LE length and that many bytes (or what is left) off the front of `in`.
std::span<const uint8_t> take_chunk(std::span<const uint8_t>& in) {
  if (in.size() < 2) {
    in = {};
    return {};
  }
  size_t size = size_t(in[0]) | size_t(in[1]) << 8;
  in = in.subspan(2);
  size = std::min(size, in.size());
  auto chunk = in.first(size);
  in = in.subspan(size);
  return chunk;
}

// Prints records the way show does; the output itself is not checked, only that printing survives.
void print_records(const Records& records) {
  for (const auto& record : records) {
    std::string text = image::record_to_text(*record);
    auto json = image::record_to_json(*record);
    (void)text;
    (void)json;
  }
}

std::optional<std::string> run_decode(const image::KindInfo& info, std::string_view bytes, Outcome& outcome) {
  auto records = image::decode_records(info.kind, bytes, "fuzz.img");
  if (!info.prototype) {
    if (records) return "decode_records accepted raw " + std::string(info.name) + " data";
    return std::nullopt;
  }
  if (!records) return std::nullopt;
  outcome.decoded = true;
  print_records(*records);
  // Whatever decodes must encode again and decode to the same records.
  std::vector<const google::protobuf::Message*> pointers;
  for (const auto& record : *records) pointers.push_back(record.get());
  auto encoded = image::encode_records(info.kind, pointers);
  if (!encoded) return "re-encoding decoded " + std::string(info.name) + " records failed: " + encoded.error().message;
  auto again = image::decode_records(info.kind, *encoded, "fuzz.img");
  if (!again) return "re-encoded " + std::string(info.name) + " records do not decode: " + again.error().message;
  if (again->size() != records->size()) return "round trip changed the record count of " + std::string(info.name);
  for (size_t i = 0; i < records->size(); ++i)
    if ((*again)[i]->SerializeAsString() != (*records)[i]->SerializeAsString())
      return "round trip changed record " + std::to_string(i) + " of " + std::string(info.name);
  return std::nullopt;
}

// The same bytes as a stats file read back (image/run_stats.h): what the parser accepts must print,
// and must come back the same from what cryo writes of it.
std::optional<std::string> run_stats(std::string_view text) {
  auto stats = image::parse_run_stats(text, "fuzz");
  if (!stats) return std::nullopt;
  (void)image::format_run_stats(*stats);
  auto again = image::parse_run_stats(image::run_stats_to_json(*stats), "fuzz");
  if (!again) return "stats the parser accepted are refused once written: " + again.error().message;
  if (again->command != stats->command || again->stages_ms.size() != stats->stages_ms.size() ||
      again->processes != stats->processes || again->threads != stats->threads || again->fds != stats->fds ||
      again->mappings != stats->mappings || again->pages != stats->pages || again->bytes != stats->bytes)
    return std::string("stats changed once written and read again");
  return std::nullopt;
}

std::optional<std::string> run_name(std::string_view name) {
  if (auto stats = run_stats(name)) return stats;
  if (image::is_stats_file(name) && image::identify(name)) return "a stats file name is also an image file name";
  auto id = image::identify(name);
  if (!id) return std::nullopt;
  bool per_process = image::kind_info(id->kind).per_process;
  if (per_process != (id->pid != 0)) return "identify(" + std::string(name) + ") gave a pid that does not fit its kind";
  if (std::string back = image::file_name(id->kind, id->pid); back != name)
    return "identify(" + std::string(name) + ") does not round trip: file_name gives " + back;
  return std::nullopt;
}

// A private scratch directory for the whole process, under $TMPDIR (else /tmp), removed at exit.
class ScratchDir {
 public:
  ScratchDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/cryo-fuzz-XXXXXX";
    if (!::mkdtemp(templ.data())) std::abort();  // No scratch space: nothing can be fuzzed.
    path_ = templ;
  }
  ~ScratchDir() { ::rmdir(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Result<> write_whole_file(const std::string& path, std::span<const uint8_t> bytes) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) return fail_errno("open(" + path + ")");
  return write_all(fd.get(), bytes.data(), bytes.size(), path);
}

// Loads and validates an opened image the way restore does, and holds what validation accepts to the
// promises restore relies on.
std::optional<std::string> run_restore_checks(const std::string& dir, Outcome& outcome) {
  // CRYO_FUZZ_VERBOSE=1 says why an input was refused, for shaping seeds that get further.
  static const bool verbose = std::getenv("CRYO_FUZZ_VERBOSE") != nullptr;
  auto set = load_image_set(dir);
  if (!set) {
    if (verbose) std::fprintf(stderr, "load_image_set: %s\n", set.error().message.c_str());
    return std::nullopt;
  }
  std::vector<std::string> problems;
  restore::validate_image(*set, &problems);
  if (!problems.empty()) {
    if (verbose)
      for (const auto& problem : problems) std::fprintf(stderr, "validate_image: %s\n", problem.c_str());
    return std::nullopt;
  }
  outcome.restore_accepted = true;
  if (auto broken = check_accepted_image(*set)) return "validate_image accepted an image where " + *broken;
  return std::nullopt;
}

std::optional<std::string> run_dir(std::span<const uint8_t> in, bool fill_in_sums, Outcome& outcome) {
  static ScratchDir scratch;
  const std::string dir = scratch.path() + "/image";
  if (::mkdir(dir.c_str(), 0700) != 0) std::abort();
  auto inventory_bytes = take_chunk(in);
  std::map<std::string, std::span<const uint8_t>> files;  // A later file of the same name replaces it.
  while (in.size() >= 2) {
    const auto& info = kind_at(in[0]);
    uint32_t pid = info.per_process ? uint32_t(in[1]) + 1 : 0;
    in = in.subspan(2);
    files[image::file_name(info.kind, pid)] = take_chunk(in);
  }
  files.erase(image::file_name(image::Kind::Inventory));
  bool written = true;
  for (const auto& [name, bytes] : files) written = written && write_whole_file(dir + "/" + name, bytes).has_value();

  std::string inventory_file(as_chars(inventory_bytes));
  if (fill_in_sums && written) {
    image::Inventory inventory;
    if (!inventory.ParseFromArray(inventory_bytes.data(), static_cast<int>(inventory_bytes.size()))) inventory.Clear();
    for (const auto& [name, bytes] : files) {
      image::ImageFile* entry = nullptr;
      for (auto& listed : *inventory.mutable_files())
        if (listed.name() == name) entry = &listed;
      if (!entry) entry = inventory.add_files();
      entry->set_name(name);
      entry->set_size(bytes.size());
      auto sum = image::checksum_file(dir + "/" + name);
      entry->set_xxh3(sum ? *sum : 0);
    }
    image::seal_inventory(inventory);
    const google::protobuf::Message* one[] = {&inventory};
    auto framed = image::encode_records(image::Kind::Inventory, one);
    if (framed) inventory_file = *framed;
  }
  auto inventory_span = std::span(reinterpret_cast<const uint8_t*>(inventory_file.data()), inventory_file.size());
  std::optional<std::string> broken;
  if (written && write_whole_file(dir + "/" + image::file_name(image::Kind::Inventory), inventory_span)) {
    if (auto inventory = image::open_image_dir(dir)) {
      outcome.dir_opened = true;
      auto text = image::render_image(dir, *inventory, image::PrintFormat::Text);
      auto json = image::render_image(dir, *inventory, image::PrintFormat::Json);
      (void)text;
      (void)json;
      // The summaries of cryo show --ps/--fds/--mems read the same untrusted image.
      if (auto opened = DirFd::open(dir)) {
        for (auto summary : {image::Summary::Tree, image::Summary::Fds, image::Summary::Memory})
          for (auto format : {image::PrintFormat::Text, image::PrintFormat::Json})
            (void)image::render_summary(*opened, *inventory, summary, format);
      }
      broken = run_restore_checks(dir, outcome);
    }
  }
  image::remove_dir(dir);
  return broken;
}

}  // namespace

uint8_t selector(Mode mode, size_t kind_index) {
  return static_cast<uint8_t>(uint8_t(mode) << 6 | (kind_index & 0x3f));
}

std::optional<std::string> run_image_input(std::span<const uint8_t> input, Outcome* outcome) {
  Outcome ignored;
  Outcome& out = outcome ? *outcome : ignored;
  if (input.empty()) return std::nullopt;
  const uint8_t select = input[0];
  auto rest = input.subspan(1);
  switch (static_cast<Mode>(select >> 6)) {
    case Mode::Decode:
      return run_decode(kind_at(select & 0x3f), as_chars(rest), out);
    case Mode::Name:
      return run_name(as_chars(rest));
    case Mode::Dir:
      return run_dir(rest, false, out);
    case Mode::DirWithSums:
      return run_dir(rest, true, out);
  }
  return std::nullopt;
}

}  // namespace cryo::fuzz
