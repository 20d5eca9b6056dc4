#include "image/run_stats.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/file_util.h"
#include "base/progress_line.h"
#include "image/image_kinds.h"

namespace cryo::image {
namespace {

using Json = nlohmann::ordered_json;

// A stats file is a few hundred bytes; anything much larger is not one.
constexpr uint64_t kMaxStatsFileSize = 64 << 10;
constexpr size_t kMaxStages = 32;
constexpr size_t kMaxStageName = 32;
// Larger than any real dump (about 30 years), small enough that sums of them stay finite.
constexpr double kMaxMs = 1e12;
// Integers a JSON reader holds exactly as a double.
constexpr uint64_t kMaxCount = 1ull << 53;

// Three decimals: microseconds, which is what CLOCK_MONOTONIC around a stage can honestly tell.
double rounded(double ms) { return std::round(ms * 1000) / 1000; }

bool valid_stage_name(const std::string& name) {
  if (name.empty() || name.size() > kMaxStageName) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || c == '_')) return false;
  return true;
}

Result<double> ms_value(const Json& value, const std::string& key, const std::string& what) {
  if (!value.is_number()) return fail(what + ": \"" + key + "\" is not a number");
  double ms = value.get<double>();
  if (!std::isfinite(ms) || ms < 0 || ms > kMaxMs) return fail(what + ": \"" + key + "\" is out of range");
  return ms;
}

Result<double> read_ms(const Json& object, const char* key, const std::string& what) {
  auto it = object.find(key);
  if (it == object.end()) return fail(what + ": no \"" + key + "\"");
  return ms_value(*it, key, what);
}

Result<uint64_t> read_count(const Json& object, const char* key, const std::string& what) {
  auto it = object.find(key);
  if (it == object.end()) return fail(what + ": no \"" + key + "\"");
  if (!it->is_number_unsigned()) return fail(what + ": \"" + key + "\" is not a non-negative integer");
  uint64_t value = it->get<uint64_t>();
  if (value > kMaxCount) return fail(what + ": \"" + key + "\" is out of range");
  return value;
}

std::string ms_text(double ms) {
  char out[32];
  if (ms < 10)
    std::snprintf(out, sizeof out, "%.2f ms", ms);
  else if (ms < 10000)
    std::snprintf(out, sizeof out, "%.1f ms", ms);
  else
    std::snprintf(out, sizeof out, "%.2f s", ms / 1000);
  return out;
}

// Writes `text` to a new file `temp_name` in the directory `dir_fd` and renames it to `name`.
Result<> replace_atomically(int dir_fd, const std::string& temp_name, const std::string& name, const std::string& text,
                            const std::string& describe_temp, const std::string& describe) {
  // A leftover of a killed cryo is removed first; a non-regular entry is left for the open to refuse.
  struct stat st;
  if (::fstatat(dir_fd, temp_name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
    ::unlinkat(dir_fd, temp_name.c_str(), 0);
  UniqueFd out(::openat(dir_fd, temp_name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out.valid()) return fail_errno("open(" + describe_temp + ")");
  auto written = write_all(out.get(), text.data(), text.size(), describe_temp);
  if (written && ::fchmod(out.get(), 0600) != 0) written = fail_errno("fchmod(" + describe_temp + ")");
  if (written && ::renameat(dir_fd, temp_name.c_str(), dir_fd, name.c_str()) != 0)
    written = fail_errno("rename(" + describe_temp + ", " + describe + ")");
  if (!written) ::unlinkat(dir_fd, temp_name.c_str(), 0);
  return written;
}

}  // namespace

double RunStats::throughput_bytes_per_s() const {
  return total_ms > 0 ? static_cast<double>(bytes) / (total_ms / 1000) : 0;
}

const char* stats_command_name(StatsCommand command) { return command == StatsCommand::Dump ? "dump" : "restore"; }

std::string_view stats_file_name(StatsCommand command) {
  return command == StatsCommand::Dump ? dump_stats_file_name() : restore_stats_file_name();
}

std::string run_stats_to_json(const RunStats& stats) {
  const bool dump = stats.command == StatsCommand::Dump;
  Json out;
  out["command"] = stats_command_name(stats.command);
  out["complete"] = stats.complete;
  Json stages = Json::object();
  for (const auto& [name, ms] : stats.stages_ms) stages[name] = rounded(ms);
  out["stages_ms"] = std::move(stages);
  out["total_ms"] = rounded(stats.total_ms);
  if (dump) out["frozen_ms"] = rounded(stats.frozen_ms);
  out["processes"] = stats.processes;
  out["threads"] = stats.threads;
  out["fds"] = stats.fds;
  out["mappings"] = stats.mappings;
  out["pages"] = stats.pages;
  out["pages_bytes"] = stats.pages_bytes;
  out[dump ? "bytes_written" : "bytes_read"] = stats.bytes;
  if (dump && stats.pre_copy_rounds) {
    out["pre_copy_rounds"] = stats.pre_copy_rounds;
    out["pre_copy_bytes"] = stats.pre_copy_bytes;
  }
  // From the total as written, so that a reader that computes it again gets the same.
  RunStats as_written = stats;
  as_written.total_ms = rounded(stats.total_ms);
  out["throughput_bytes_per_s"] = static_cast<uint64_t>(std::llround(as_written.throughput_bytes_per_s()));
  // Strings here are ours (stage names), but dump() escapes whatever it is given anyway.
  return out.dump(2) + "\n";
}

Result<RunStats> parse_run_stats(std::string_view text, const std::string& what) {
  // nlohmann reports bad input with exceptions; none leaves this function.
  Json in = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (in.is_discarded()) return fail(what + ": not valid JSON");
  if (!in.is_object()) return fail(what + ": not a JSON object");
  RunStats stats;
  auto command = in.find("command");
  if (command == in.end() || !command->is_string()) return fail(what + ": no \"command\"");
  if (*command == "dump")
    stats.command = StatsCommand::Dump;
  else if (*command == "restore")
    stats.command = StatsCommand::Restore;
  else
    return fail(what + ": \"command\" is neither \"dump\" nor \"restore\"");
  const bool dump = stats.command == StatsCommand::Dump;
  auto complete = in.find("complete");
  if (complete == in.end() || !complete->is_boolean()) return fail(what + ": no \"complete\"");
  stats.complete = complete->get<bool>();
  auto stages = in.find("stages_ms");
  if (stages == in.end() || !stages->is_object()) return fail(what + ": no \"stages_ms\" object");
  if (stages->size() > kMaxStages) return fail(what + ": more than " + std::to_string(kMaxStages) + " stages");
  double stage_sum = 0;
  for (const auto& [name, value] : stages->items()) {
    if (!valid_stage_name(name)) return fail(what + ": a stage name is not a short lowercase word");
    ASSIGN_OR_RETURN(double ms, ms_value(value, name, what + ": stage"));
    stats.stages_ms.emplace_back(name, ms);
    stage_sum += rounded(ms);
  }
  ASSIGN_OR_RETURN(stats.total_ms, read_ms(in, "total_ms", what));
  if (dump) {
    ASSIGN_OR_RETURN(stats.frozen_ms, read_ms(in, "frozen_ms", what));
  }
  ASSIGN_OR_RETURN(stats.processes, read_count(in, "processes", what));
  ASSIGN_OR_RETURN(stats.threads, read_count(in, "threads", what));
  ASSIGN_OR_RETURN(stats.fds, read_count(in, "fds", what));
  ASSIGN_OR_RETURN(stats.mappings, read_count(in, "mappings", what));
  ASSIGN_OR_RETURN(stats.pages, read_count(in, "pages", what));
  ASSIGN_OR_RETURN(stats.pages_bytes, read_count(in, "pages_bytes", what));
  ASSIGN_OR_RETURN(stats.bytes, read_count(in, dump ? "bytes_written" : "bytes_read", what));
  if (dump && in.contains("pre_copy_rounds")) {
    ASSIGN_OR_RETURN(stats.pre_copy_rounds, read_count(in, "pre_copy_rounds", what));
    ASSIGN_OR_RETURN(stats.pre_copy_bytes, read_count(in, "pre_copy_bytes", what));
  }
  // What cryo writes always holds these; anything else was not written by cryo. They are checked on
  // the values as cryo writes them (rounded to microseconds, one by one, so their sum may pass the
  // total by a few), so that stats accepted here are accepted again once written.
  if (stage_sum > rounded(stats.total_ms) + 0.001 * static_cast<double>(stats.stages_ms.size() + 1))
    return fail(what + ": the stages take longer than the total");
  if (dump && rounded(stats.frozen_ms) > rounded(stats.total_ms) + 0.001) return fail(what + ": frozen longer than the total");
  if (stats.pages_bytes != stats.pages * 4096) return fail(what + ": pages_bytes is not pages times 4096");
  return stats;
}

std::string format_run_stats(const RunStats& stats) {
  const bool dump = stats.command == StatsCommand::Dump;
  std::string out = std::string(stats_command_name(stats.command)) + (stats.complete ? "" : " (written at the commit, before the sync and the kill)") + ":\n";
  out += "  " + std::to_string(stats.processes) + (stats.processes == 1 ? " process, " : " processes, ") +
         std::to_string(stats.threads) + (stats.threads == 1 ? " thread, " : " threads, ") + std::to_string(stats.fds) +
         " fds, " + std::to_string(stats.mappings) + " mappings, " + std::to_string(stats.pages) + " pages (" +
         format_byte_size(stats.pages_bytes) + ")\n";
  out += "  " + format_byte_size(stats.bytes) + (dump ? " written in " : " read in ") + ms_text(stats.total_ms) + ", " +
         format_byte_size(static_cast<uint64_t>(stats.throughput_bytes_per_s())) + "/s";
  if (dump) out += "; frozen " + ms_text(stats.frozen_ms);
  out += "\n";
  if (stats.pre_copy_rounds)
    out += "  pre-copy: " + std::to_string(stats.pre_copy_rounds) + " rounds, " + format_byte_size(stats.pre_copy_bytes) +
           " read while the tree ran\n";
  for (const auto& [name, ms] : stats.stages_ms) {
    char line[96];
    std::snprintf(line, sizeof line, "  %-12s %10s\n", name.c_str(), ms_text(ms).c_str());
    out += line;
  }
  return out;
}

Result<> write_stats_file(const DirFd& dir, const RunStats& stats) {
  std::string name(stats_file_name(stats.command));
  std::string temp = "." + name + ".new";
  return replace_atomically(dir.get(), temp, name, run_stats_to_json(stats), dir.describe(temp), dir.describe(name));
}

Result<std::optional<RunStats>> read_stats_file(const DirFd& dir, StatsCommand command) {
  std::string name(stats_file_name(command));
  auto st = dir.stat_entry(name);
  if (!st) {
    if (st.error().err == ENOENT) return std::optional<RunStats>();
    return fail(st.error());
  }
  ASSIGN_OR_RETURN(std::string text, dir.read_regular(name, kMaxStatsFileSize));
  ASSIGN_OR_RETURN(RunStats stats, parse_run_stats(text, dir.describe(name)));
  if (stats.command != command)
    return fail(dir.describe(name) + ": holds the stats of a " + stats_command_name(stats.command));
  return std::optional<RunStats>(std::move(stats));
}

Result<std::string> render_stats_files(const DirFd& dir, bool json) {
  Json all = Json::object();
  std::string text;
  bool any = false;
  for (StatsCommand command : {StatsCommand::Dump, StatsCommand::Restore}) {
    ASSIGN_OR_RETURN(std::optional<RunStats> stats, read_stats_file(dir, command));
    const char* key = stats_command_name(command);
    if (!stats) {
      all[key] = nullptr;
      continue;
    }
    any = true;
    // Printed from the checked values, never from the file's own text.
    all[key] = Json::parse(run_stats_to_json(*stats));
    text += "== " + std::string(stats_file_name(command)) + " ==\n" + format_run_stats(*stats);
  }
  if (!any)
    return fail(make_error(dir.path() + " holds no stats (" + std::string(dump_stats_file_name()) + ", " +
                           std::string(restore_stats_file_name()) + ")")
                    .with_hint("images written before cryo kept stats have none; dump again to get them"));
  return json ? all.dump(2) + "\n" : text;
}

Result<> write_stats_json(const std::string& target, const RunStats& stats) {
  std::string text = run_stats_to_json(stats);
  if (target == "-") {
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0)
      return fail_errno("write(stdout)");
    return {};
  }
  if (target.empty() || target.back() == '/') return fail("--stats-json '" + target + "' does not name a file");
  auto slash = target.find_last_of('/');
  std::string parent = slash == std::string::npos ? "." : slash == 0 ? "/" : target.substr(0, slash);
  std::string name = slash == std::string::npos ? target : target.substr(slash + 1);
  UniqueFd dir(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return fail_errno("open(" + parent + ", O_DIRECTORY)");
  std::string temp = "." + name + ".cryo-new";
  return replace_atomically(dir.get(), temp, name, text, parent + "/" + temp, target);
}

Result<> check_stats_target(const std::string& target, const std::string& image_dir) {
  if (target.empty() || target == "-") return {};
  std::error_code ec;
  auto file = std::filesystem::weakly_canonical(std::filesystem::absolute(target, ec), ec);
  auto dir = std::filesystem::weakly_canonical(std::filesystem::absolute(image_dir, ec), ec);
  if (ec) return {};  // A path that cannot be resolved is the write's (or -D's) error to report.
  auto rel = file.lexically_relative(dir);
  if (!rel.empty() && *rel.begin() != "..")
    return fail(make_error("--stats-json " + target + " is inside the image directory " + image_dir)
                    .with_hint("write it elsewhere, or to -; the image keeps its stats as stats-*.json")
                    .with_exit_status(2));
  return {};
}

}  // namespace cryo::image
