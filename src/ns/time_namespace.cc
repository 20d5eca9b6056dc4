#include "ns/time_namespace.h"

#include <sched.h>
#include <time.h>

#include <cerrno>
#include <charconv>
#include <vector>

#include "base/file_util.h"

namespace cryo {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool parse_int(std::string_view s, int64_t* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  while (true) {
    line = trim(line);
    if (line.empty()) break;
    auto space = line.find_first_of(" \t");
    out.push_back(line.substr(0, space));
    if (space == std::string_view::npos) break;
    line.remove_prefix(space);
  }
  return out;
}

void append_offset(std::string& out, const char* name, int64_t ns) {
  // The kernel wants seconds and a non-negative nanosecond part below 10^9.
  int64_t sec = ns / 1'000'000'000;
  int64_t nsec = ns % 1'000'000'000;
  if (nsec < 0) {
    nsec += 1'000'000'000;
    sec -= 1;
  }
  out += std::string(name) + " " + std::to_string(sec) + " " + std::to_string(nsec) + "\n";
}

}  // namespace

Result<ClockOffsets> parse_timens_offsets(std::string_view text) {
  ClockOffsets offsets;
  while (!text.empty()) {
    auto newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    auto f = fields(line);
    if (f.empty()) continue;
    int64_t sec = 0, nsec = 0;
    if (f.size() != 3 || !parse_int(f[1], &sec) || !parse_int(f[2], &nsec) || nsec < 0 || nsec >= 1'000'000'000)
      return fail("timens_offsets: malformed line '" + std::string(line) + "'");
    int64_t total = sec * 1'000'000'000 + nsec;
    if (f[0] == "monotonic" || f[0] == "1") {
      offsets.monotonic_ns = total;
    } else if (f[0] == "boottime" || f[0] == "7") {
      offsets.boottime_ns = total;
    } else {
      return fail("timens_offsets: unknown clock '" + std::string(f[0]) + "'");
    }
  }
  return offsets;
}

std::string format_timens_offsets(const ClockOffsets& offsets) {
  std::string out;
  append_offset(out, "monotonic", offsets.monotonic_ns);
  append_offset(out, "boottime", offsets.boottime_ns);
  return out;
}

Result<ClockOffsets> read_timens_offsets(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/timens_offsets";
  ASSIGN_OR_RETURN(std::string text, read_file(path));
  ASSIGN_OR_RETURN_CTX(ClockOffsets offsets, parse_timens_offsets(text), path);
  return offsets;
}

Result<> unshare_time_namespace(const ClockOffsets& offsets) {
  if (::unshare(CLONE_NEWTIME) != 0) {
    Error e = errno_error("unshare(CLONE_NEWTIME)");
    if (e.err == EINVAL) e = e.with_hint("this kernel has no time namespaces (Linux 5.6+ with CONFIG_TIME_NS)");
    if (e.err == EPERM) e = e.with_hint("run cryo as root (it needs CAP_SYS_ADMIN)");
    return fail(e);
  }
  // Write each clock separately so a refusal names the clock and value that the kernel rejected.
  const struct {
    const char* name;
    int64_t ns;
  } clocks[] = {{"monotonic", offsets.monotonic_ns}, {"boottime", offsets.boottime_ns}};
  for (const auto& clock : clocks) {
    // A new time namespace starts with zero offsets: writing one costs an open, a write and a close.
    if (clock.ns == 0) continue;
    std::string line;
    append_offset(line, clock.name, clock.ns);
    auto written = write_existing_file("/proc/self/timens_offsets", line);
    if (!written) {
      Error e = written.error();
      std::string what = std::string("the kernel refused a ") + clock.name + " offset of " + std::to_string(clock.ns / 1'000'000'000) + "s";
      if (e.err == ERANGE)
        return fail(make_error(what + ": it would make CLOCK_" + (clock.name[0] == 'm' ? "MONOTONIC" : "BOOTTIME") +
                               " negative inside the namespace")
                        .with_hint("choose an offset no more negative than the host's current uptime"));
      return fail(e.context(what));
    }
  }
  return {};
}

ClockOffsets restore_offsets(const RestoreClockInputs& in) {
  ClockOffsets out;
  out.monotonic_ns = in.inside_monotonic_at_dump_ns - in.host_monotonic_now_ns + in.elapsed_ns + in.shift_ns;
  out.boottime_ns = in.inside_boottime_at_dump_ns - in.host_boottime_now_ns + in.elapsed_ns + in.shift_ns;
  return out;
}

int64_t clock_now_ns(int clock_id) {
  timespec ts{};
  ::clock_gettime(clock_id, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

Result<ClockOffsets> own_timens_offsets() {
  auto text = read_file("/proc/self/timens_offsets");
  // Without CONFIG_TIME_NS the file does not exist, and every clock is the kernel's.
  if (!text) return text.error().err == ENOENT ? Result<ClockOffsets>(ClockOffsets{}) : fail(text.error());
  ASSIGN_OR_RETURN_CTX(ClockOffsets offsets, parse_timens_offsets(*text), "/proc/self/timens_offsets");
  return offsets;
}

int64_t kernel_clock_ns(int clock_id, const ClockOffsets& own) {
  int64_t now = clock_now_ns(clock_id);
  if (clock_id == CLOCK_MONOTONIC) return now - own.monotonic_ns;
  if (clock_id == CLOCK_BOOTTIME) return now - own.boottime_ns;
  return now;
}

ClockOffsets offsets_minus(const ClockOffsets& a, const ClockOffsets& b) {
  return {a.monotonic_ns - b.monotonic_ns, a.boottime_ns - b.boottime_ns};
}

}  // namespace cryo
