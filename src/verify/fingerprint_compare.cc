#include "verify/fingerprint_compare.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <tuple>
#include <vector>

#include "verify/fingerprint_rules.h"

namespace cryo::verify {
namespace {

using Key = std::tuple<std::string, std::string, std::string>;  // subject, file, name
using Fields = std::map<Key, std::string>;

constexpr const char* kAbsent = "(absent)";

// One mapping's fields but its Size: what must agree for two neighbours to be one mapping.
using MapFields = std::map<std::pair<std::string, std::string>, std::string>;

uint64_t kib(const std::string& size) { return std::strtoull(size.c_str(), nullptr, 10); }

// "08:01 1234 /usr/lib/x.so" -> {"08:01", "1234", "/usr/lib/x.so"}
std::tuple<std::string, std::string, std::string> split_file(const std::string& value) {
  size_t a = value.find(' ');
  size_t b = a == std::string::npos ? a : value.find(' ', a + 1);
  if (b == std::string::npos) return {value, "", ""};
  return {value.substr(0, a), value.substr(a + 1, b - a - 1), value.substr(b + 1)};
}

// Adjacent mappings with the same attributes are one to the process; the kernel keeps them apart
// for reasons of their history (anonymous memory faulted in before and after a fork has different
// anon_vmas) that restore does not replay, and it merges them when restore maps them again. So
// both sides are compared with such neighbours merged (fingerprint_rules.cc, "maps" "range").
void merge_adjacent_mappings(Fields& fields) {
  std::map<uint64_t, std::pair<uint64_t, MapFields>> maps;  // start -> end, fields
  for (auto it = fields.begin(); it != fields.end();) {
    const auto& [subject, file, name] = it->first;
    uint64_t start = 0, end = 0;
    if (!subject.starts_with("map ") || std::sscanf(subject.c_str(), "map %lx-%lx", &start, &end) != 2) {
      ++it;
      continue;
    }
    auto& entry = maps[start];
    entry.first = end;
    entry.second[{file, name}] = it->second;
    it = fields.erase(it);
  }
  // VmFlags gu ("maybe has guard regions") is sticky in the kernel: neighbours that differ only in
  // it merge, and the merged mapping has it. So it does not keep two neighbours apart here either.
  const std::pair<std::string, std::string> vm_flags_key{"smaps", "VmFlags"};
  auto without_gu = [](const std::string& flags) {
    std::string out;
    std::istringstream in(flags);
    for (std::string word; in >> word;)
      if (word != "gu") out += (out.empty() ? "" : " ") + word;
    return out;
  };
  // A file mapping continues its neighbour when its offset in the file goes on where the
  // neighbour's ends (a child forked from a parent that had mlocked part of a text mapping keeps
  // that part apart, unlocked, with the same flags). Anonymous mappings (inode 0) show offset 0.
  const std::pair<std::string, std::string> offset_key{"maps", "offset"}, file_key{"maps", "file"};
  auto continues = [&](const MapFields& a, uint64_t a_length, const std::string& next_offset) {
    uint64_t offset = std::strtoull(a.at(offset_key).c_str(), nullptr, 16), next = std::strtoull(next_offset.c_str(), nullptr, 16);
    auto file = a.find(file_key);
    bool anonymous = file != a.end() && std::get<1>(split_file(file->second)) == "0";
    return anonymous ? offset == next : next == offset + a_length;
  };
  auto same_but_size = [&](const MapFields& a, uint64_t a_length, const MapFields& b) {
    if (a.size() != b.size()) return false;
    for (const auto& [key, value] : a)
      if (!b.count(key)) return false;
      else if (key == vm_flags_key) {
        if (without_gu(value) != without_gu(b.at(key))) return false;
      } else if (key == offset_key) {
        if (!continues(a, a_length, b.at(key))) return false;
      } else if (key.second != "Size" && b.at(key) != value) return false;
    return true;
  };
  std::vector<std::tuple<uint64_t, uint64_t, MapFields>> merged;
  for (auto& [start, entry] : maps) {
    auto& [end, f] = entry;
    if (!merged.empty() && std::get<1>(merged.back()) == start &&
        same_but_size(std::get<2>(merged.back()), start - std::get<0>(merged.back()), f)) {
      auto& last = merged.back();
      std::get<1>(last) = end;
      auto flags = std::get<2>(last).find(vm_flags_key);
      if (flags != std::get<2>(last).end() && flags->second != f[vm_flags_key]) {
        // They differ only in gu (same_but_size): the merged mapping has it, in the kernel's order.
        if (f[vm_flags_key].size() > flags->second.size()) flags->second = f[vm_flags_key];
      }
      auto size = std::get<2>(last).find({"smaps", "Size"});
      if (size != std::get<2>(last).end()) size->second = std::to_string(kib(size->second) + kib(f[{"smaps", "Size"}])) + " kB";
      continue;
    }
    merged.emplace_back(start, end, std::move(f));
  }
  char range[64];
  for (const auto& [start, end, f] : merged) {
    std::snprintf(range, sizeof range, "map %08lx-%08lx", start, end);
    for (const auto& [key, value] : f) fields.emplace(Key{range, key.first, key.second}, value);
  }
}

Fields index(const image::ProcessFingerprint& print) {
  Fields fields;
  for (const auto& f : print.fields()) fields.emplace(Key{f.subject(), f.file(), f.name()}, f.value());
  merge_adjacent_mappings(fields);
  return fields;
}

std::string last_word(const std::string& value) {
  size_t space = value.find_last_of(' ');
  return space == std::string::npos ? value : value.substr(space + 1);
}

// Whether a path or an fd's link names an object that restore creates anew (with a new inode).
bool names_recreated_object(const std::string& what) {
  return what.starts_with("pipe:") || what.starts_with("socket:") || what.starts_with("anon_inode:") ||
         what.starts_with("/memfd:") || what.starts_with("/dev/zero") || what.starts_with("/SYSV") ||
         what.ends_with(" (deleted)");
}

// Whether an fd's link names a namespace ("net:[4026531840]"): restore opens the restored tree's one
// of that type, a new one or, for those the tree shares, the host's, which another host numbers
// otherwise (state/files/namespace_file.h checked its type).
bool names_namespace(const std::string& link) {
  static const std::regex ns(R"((cgroup|ipc|mnt|net|pid|time|user|uts):\[[0-9]+\])");
  return std::regex_match(link, ns);
}

std::string mask_inodes(const std::string& value) {
  static const std::regex ino(R"((ino:)[0-9a-f]+|\[[0-9]+\])");
  return std::regex_replace(value, ino, "$1*");
}

// "1: POSIX ADVISORY WRITE 9583 fe:00:10952731 5 14" -> "1: POSIX ADVISORY WRITE 5 14".
std::string lock_without_holder(const std::string& value) {
  std::istringstream in(value);
  std::string word, out;
  for (int i = 0; in >> word; ++i)
    if (i != 4 && i != 5) out += word + " ";
  return out;
}

std::vector<std::string> sorted_words(const std::string& value) {
  std::istringstream in(value);
  std::vector<std::string> words;
  for (std::string word; in >> word;) words.push_back(word);
  std::sort(words.begin(), words.end());
  return words;
}

// The signals the process's timers send: each POSIX timer's "signal: N/..." and the itimers' (whose
// state /proc does not show).
// The signals the process's POSIX timers send (their lines in /proc/PID/timers).
uint64_t posix_timer_signals(const Fields& fields) {
  auto bit = [](int signo) { return uint64_t{1} << (signo - 1); };
  uint64_t signals = 0;
  for (const auto& [key, value] : fields) {
    if (std::get<1>(key) != "timers") continue;
    size_t at = value.find("signal: ");
    if (at == std::string::npos) continue;
    int signo = std::atoi(value.c_str() + at + 8);
    if (signo >= 1 && signo <= 64) signals |= bit(signo);
  }
  return signals;
}

// Those and the interval timers' signals.
uint64_t timer_signals(const Fields& fields) {
  auto bit = [](int signo) { return uint64_t{1} << (signo - 1); };
  return posix_timer_signals(fields) | bit(SIGALRM) | bit(SIGVTALRM) | bit(SIGPROF);
}

bool equal_under(const Normalisation& rule, const Key& key, const std::string& dumped, const std::string& restored,
                 const Fields& dumped_fields) {
  switch (rule.rule) {
    case Rule::NotRecorded:
    case Rule::Ignore:
      return true;
    case Rule::InnermostPid:
      return last_word(dumped) == last_word(restored);
    case Rule::AccountingFlags: {
      constexpr uint64_t kForkNoExec = 0x40, kSuperPriv = 0x100;  // include/linux/sched.h
      uint64_t a = std::strtoull(dumped.c_str(), nullptr, 10), b = std::strtoull(restored.c_str(), nullptr, 10);
      return (a & ~(kForkNoExec | kSuperPriv)) == (b & ~(kForkNoExec | kSuperPriv));
    }
    case Rule::IdlePriority: {
      constexpr const char* kSchedIdle = "5";
      auto policy = dumped_fields.find(Key{std::get<0>(key), "stat", "policy"});
      return policy != dumped_fields.end() && policy->second == kSchedIdle;
    }
    case Rule::TemporaryMask: {
      // x86_64 numbers: rt_sigtimedwait, rt_sigsuspend, pselect6, ppoll, epoll_pwait, io_pgetevents, epoll_pwait2.
      static const std::set<std::string> kTemporaryMaskCalls = {"128", "130", "270", "271", "281", "333", "441"};
      auto nr = dumped_fields.find(Key{std::get<0>(key), "syscall", "nr"});
      return nr != dumped_fields.end() && kTemporaryMaskCalls.count(nr->second) != 0;
    }
    case Rule::MaskInodes:
      return mask_inodes(dumped) == mask_inodes(restored);
    case Rule::RecreatedInode: {
      const auto& [subject, file, name] = key;
      if (file == "maps") {
        auto [dev_a, ino_a, path_a] = split_file(dumped);
        auto [dev_b, ino_b, path_b] = split_file(restored);
        if (path_a != path_b) return false;
        // Anonymous memory shows device 00:00 and inode 0 on both sides.
        return (dev_a == dev_b && ino_a == ino_b) || names_recreated_object(path_a) || path_a.starts_with("/");
      }
      if (file == "fd")
        return (names_recreated_object(dumped) || names_namespace(dumped)) && mask_inodes(dumped) == mask_inodes(restored);
      // fdinfo ino: judged by what the fd was at the dump.
      auto link = dumped_fields.find(Key{subject, "fd", "link"});
      return link != dumped_fields.end() &&
             (names_recreated_object(link->second) || names_namespace(link->second) || link->second.starts_with("/"));
    }
    case Rule::TimerSignals: {
      uint64_t before = std::strtoull(dumped.c_str(), nullptr, 16), after = std::strtoull(restored.c_str(), nullptr, 16);
      // Only a POSIX timer's signal may be gone: the stale one of a one-shot timer armed again
      // since it fired, which the kernel drops at delivery and restore does not queue.
      return (before & ~after & ~posix_timer_signals(dumped_fields)) == 0 && (after & ~before & ~timer_signals(dumped_fields)) == 0;
    }
    case Rule::TimerTicks: {
      uint64_t before = std::strtoull(dumped.c_str(), nullptr, 10), after = std::strtoull(restored.c_str(), nullptr, 10);
      if (after == before) return true;
      // "it_value: (0, 0)" is a disarmed timer, which cannot expire.
      auto left = dumped_fields.find(Key{std::get<0>(key), "fdinfo", "it_value"});
      bool armed = left != dumped_fields.end() && left->second.find_first_of("123456789") != std::string::npos;
      return armed && after > before;
    }
    case Rule::LockHolder:
      return lock_without_holder(dumped) == lock_without_holder(restored);
    case Rule::Unordered:
      return sorted_words(dumped) == sorted_words(restored);
    case Rule::AdjacentMerged:
    case Rule::AwaitingFix:
      return false;
  }
  return false;
}

}  // namespace

image::ProcessFingerprint past_vdso_redirect(const image::ProcessFingerprint& print, uint64_t proxy_start, uint64_t proxy_end,
                                             bool restored) {
  std::set<std::string> dropped;
  for (const auto& f : print.fields()) {
    if (!f.subject().starts_with("map ")) continue;
    uint64_t start = 0, end = 0;
    bool proxy = std::sscanf(f.subject().c_str(), "map %lx-%lx", &start, &end) == 2 && start == proxy_start && end == proxy_end;
    auto [dev, ino, path] = split_file(f.value());
    bool special = f.file() == "maps" && f.name() == "file" && (path == "[vdso]" || path == "[vvar]" || path == "[vvar_vclock]");
    if (proxy || special) dropped.insert(f.subject());
  }
  image::ProcessFingerprint out = print;
  out.clear_fields();
  uint64_t proxy = restored ? proxy_end - proxy_start : 0;
  for (const auto& f : print.fields()) {
    if (dropped.count(f.subject())) continue;
    auto* field = out.add_fields();
    *field = f;
    if (proxy == 0) continue;
    if (f.file() == "status" && (f.name() == "VmSize" || f.name() == "VmLib"))
      field->set_value(std::to_string(kib(f.value()) - proxy / 1024) + " kB");
    else if (f.file() == "stat" && f.name() == "vsize")
      field->set_value(std::to_string(std::strtoull(f.value().c_str(), nullptr, 10) - proxy));
  }
  return out;
}

Comparison compare_fingerprints(const image::ProcessFingerprint& dumped, const image::ProcessFingerprint& restored) {
  Fields before = index(dumped);
  Fields after = index(restored);
  Comparison out;
  auto judge = [&](const Key& key, const std::string& old_value, const std::string& new_value) {
    if (old_value == new_value) return;
    const auto& [subject, file, name] = key;
    const Normalisation* rule = rule_for(file, name);
    bool both = old_value != kAbsent && new_value != kAbsent;
    if (rule && both && equal_under(*rule, key, old_value, new_value, before)) return;
    if (rule && rule->rule == Rule::Ignore) return;  // Also when the kernel shows it on one side only.
    Difference d{subject, file, name, old_value, new_value};
    if (rule && rule->rule == Rule::AwaitingFix)
      out.awaiting.push_back(std::move(d));
    else
      out.refused.push_back(std::move(d));
  };
  for (const auto& [key, value] : before) {
    auto it = after.find(key);
    judge(key, value, it == after.end() ? kAbsent : it->second);
  }
  for (const auto& [key, value] : after)
    if (!before.count(key)) judge(key, kAbsent, value);
  return out;
}

std::string describe(uint32_t pid, const Difference& d) {
  std::string field = d.file == d.name ? d.file : d.file + " " + d.name;
  return "pid " + std::to_string(pid) + (d.subject == "process" ? "" : " " + d.subject) + ": " + field + " was '" + d.dumped +
         "', now '" + d.restored + "'";
}

}  // namespace cryo::verify
