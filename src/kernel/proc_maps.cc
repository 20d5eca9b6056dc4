#include "kernel/proc_maps.h"

#include <cstdio>

#include "base/file_util.h"
#include "kernel/proc_text.h"

namespace cryo {
namespace {

VmFlags parse_vm_flags(std::string_view value) {
  VmFlags f;
  for (auto m : proc_text::fields(value)) {
    f.all.emplace_back(m);
    if (m == "gd") f.growsdown = true;
    else if (m == "lo") f.locked = true;
    else if (m == "io") f.io = true;
    else if (m == "pf") f.pfnmap = true;
    else if (m == "dc") f.dontcopy = true;
    else if (m == "dd") f.dontdump = true;
    else if (m == "hg") f.hugepage = true;
    else if (m == "nh") f.nohugepage = true;
    else if (m == "nr") f.noreserve = true;
    else if (m == "wf") f.wipeonfork = true;
    else if (m == "mg") f.mergeable = true;
    else if (m == "ht") f.hugetlb = true;
    else if (m == "dp") f.droppable = true;
  }
  return f;
}

// An smaps header line starts with "start-end"; key lines start with "Key:".
bool is_maps_line(std::string_view line) {
  size_t space = line.find(' ');
  std::string_view first = line.substr(0, space);
  return !first.empty() && first.find(':') == std::string_view::npos && first.find('-') != std::string_view::npos;
}

}  // namespace

std::string MapsEntry::map_files_name() const {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%lx-%lx", static_cast<unsigned long>(start), static_cast<unsigned long>(end));
  return buf;
}

Result<MapsEntry> parse_maps_line(std::string_view line) {
  auto bad = [&](const std::string& why) { return fail("maps line '" + std::string(line) + "': " + why); };
  // The path starts after the fifth field and may contain spaces, so the fields are cut by hand.
  MapsEntry e;
  std::string_view rest = line;
  std::string_view f[5];
  for (auto& field : f) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    size_t sp = rest.find(' ');
    field = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp);
    if (field.empty()) return bad("too few fields");
  }
  size_t dash = f[0].find('-');
  if (dash == std::string_view::npos) return bad("no address range");
  ASSIGN_OR_RETURN(e.start, proc_text::parse_u64(f[0].substr(0, dash), 16, "maps start"));
  ASSIGN_OR_RETURN(e.end, proc_text::parse_u64(f[0].substr(dash + 1), 16, "maps end"));
  if (e.end <= e.start) return bad("empty range");
  if (f[1].size() != 4) return bad("bad permissions");
  e.read = f[1][0] == 'r';
  e.write = f[1][1] == 'w';
  e.exec = f[1][2] == 'x';
  if (f[1][3] != 's' && f[1][3] != 'p') return bad("bad sharing flag");
  e.shared = f[1][3] == 's';
  ASSIGN_OR_RETURN(e.pgoff, proc_text::parse_u64(f[2], 16, "maps offset"));
  size_t colon = f[3].find(':');
  if (colon == std::string_view::npos) return bad("bad device");
  ASSIGN_OR_RETURN(uint64_t major, proc_text::parse_u64(f[3].substr(0, colon), 16, "maps device"));
  ASSIGN_OR_RETURN(uint64_t minor, proc_text::parse_u64(f[3].substr(colon + 1), 16, "maps device"));
  e.dev_major = static_cast<uint32_t>(major);
  e.dev_minor = static_cast<uint32_t>(minor);
  ASSIGN_OR_RETURN(e.inode, proc_text::parse_u64(f[4], 10, "maps inode"));
  // The kernel pads with spaces up to a column before the path; a path's own leading spaces are
  // indistinguishable from that padding, as in every other reader of this file.
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  e.path = std::string(rest);
  return e;
}

Result<std::vector<MapsEntry>> parse_proc_maps(std::string_view text) {
  std::vector<MapsEntry> out;
  for (auto line : proc_text::lines(text)) {
    if (line.empty()) continue;
    ASSIGN_OR_RETURN(MapsEntry e, parse_maps_line(line));
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<MapsEntry>> parse_proc_smaps(std::string_view text) {
  std::vector<MapsEntry> out;
  for (auto line : proc_text::lines(text)) {
    if (line.empty()) continue;
    if (is_maps_line(line)) {
      ASSIGN_OR_RETURN(MapsEntry e, parse_maps_line(line));
      out.push_back(std::move(e));
    } else if (line.starts_with("VmFlags:")) {
      if (out.empty()) return fail("smaps: VmFlags before the first mapping");
      out.back().vm_flags = parse_vm_flags(line.substr(8));
    }
  }
  return out;
}

Result<std::vector<MapsEntry>> read_proc_smaps(pid_t pid) {
  ASSIGN_OR_RETURN(std::string text, read_file("/proc/" + std::to_string(pid) + "/smaps"));
  auto maps = parse_proc_smaps(text);
  if (!maps) return fail(maps.error().context("pid " + std::to_string(pid)));
  return maps;
}

Result<std::vector<MapsEntry>> read_proc_smaps_reusing(pid_t pid, std::string_view earlier) {
  if (earlier.empty()) return read_proc_smaps(pid);
  ASSIGN_OR_RETURN(std::string now, read_file("/proc/" + std::to_string(pid) + "/maps"));
  std::string earlier_maps;
  for (auto line : proc_text::lines(earlier))
    if (!line.empty() && is_maps_line(line)) earlier_maps.append(line).push_back('\n');
  if (earlier_maps != now) return read_proc_smaps(pid);
  auto maps = parse_proc_smaps(earlier);
  if (!maps) return fail(maps.error().context("pid " + std::to_string(pid)));
  return maps;
}

}  // namespace cryo
