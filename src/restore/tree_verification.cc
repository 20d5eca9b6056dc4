#include "restore/tree_verification.h"

#include <chrono>
#include <map>
#include <sstream>
#include <string>

#include "base/logging.h"
#include "base/parallel_for.h"
#include "verify/fingerprint_compare.h"
#include "verify/fingerprint_reader.h"

namespace cryo::restore {

namespace {

// The old [vdso] range of a process, where a redirect put its proxy; {0, 0} when it had none.
std::pair<uint64_t, uint64_t> proxy_range(const ProcessImage& process) {
  for (const auto& vma : process.mm.vmas())
    if (vma.kind() == image::VMA_VDSO) return {vma.start(), vma.end()};
  return {0, 0};
}

// The fingerprint without the page server's registrations: VmFlags um goes (lazy_pages.h).
image::ProcessFingerprint past_lazy_registration(image::ProcessFingerprint print) {
  for (auto& field : *print.mutable_fields()) {
    if (field.file() != "smaps" || field.name() != "VmFlags") continue;
    std::istringstream in(field.value());
    std::string out;
    for (std::string word; in >> word;)
      if (word != "um") out += (out.empty() ? "" : " ") + word;
    // smaps ends the list with a space; keep the value's form.
    if (!field.value().empty() && field.value().back() == ' ') out += ' ';
    field.set_value(out);
  }
  return print;
}

}  // namespace

Result<> verify_restored_tree(const ImageSet& images, const PlaceholderTree& tree, const VdsoRedirect& vdso, bool lazy) {
  auto log = logging::get("restore");
  auto started = std::chrono::steady_clock::now();
  std::vector<pid_t> live, zombies;
  std::map<uint32_t, const image::ProcessFingerprint*> dumped;
  std::map<uint32_t, const ProcessImage*> by_pid;
  for (const auto& process : images.processes) {
    if (process.zombie()) {
      zombies.push_back(tree.host_pid(process.pid()));
      continue;
    }
    live.push_back(tree.host_pid(process.pid()));
    if (process.fingerprint) dumped[process.pid()] = &*process.fingerprint;
    by_pid[process.pid()] = &process;
  }
  if (dumped.empty()) {
    log->info("not verified: the image has no fingerprints (written before cryo verified restores)");
    return {};
  }
  if (dumped.size() != live.size()) return fail("the image has fingerprints of only some of its processes; it is damaged");
  ASSIGN_OR_RETURN(auto restored, verify::read_fingerprints(live, zombies));
  auto read = std::chrono::steady_clock::now();
  if (lazy)
    for (auto& now : restored) now = past_lazy_registration(std::move(now));
  // Compared on every CPU (each process into its own slot), then reported in the tree's order.
  std::vector<verify::Comparison> compared(restored.size());
  RETURN_IF_ERROR(parallel_for(restored.size(), [&](size_t i) -> Result<> {
    const image::ProcessFingerprint& now = restored[i];
    auto then = dumped.find(now.pid());
    if (then == dumped.end()) return fail("restored host process has PID " + std::to_string(now.pid()) + " in the tree, which the image does not have");
    if (vdso.needed) {
      auto [start, end] = proxy_range(*by_pid.at(now.pid()));
      compared[i] = verify::compare_fingerprints(verify::past_vdso_redirect(*then->second, start, end, false),
                                                 verify::past_vdso_redirect(now, start, end, true));
    } else {
      compared[i] = verify::compare_fingerprints(*then->second, now);
    }
    return {};
  }));
  std::vector<std::string> refused;
  for (size_t i = 0; i < restored.size(); ++i) {
    const verify::Comparison& c = compared[i];
    uint32_t pid = restored[i].pid();
    for (const auto& d : c.awaiting)
      log->warn("not restored yet (kAwaitingRestoreFix in src/verify/fingerprint_rules.cc): {}", verify::describe(pid, d));
    for (const auto& d : c.refused) {
      refused.push_back(verify::describe(pid, d));
      log->debug("verification: {}", refused.back());
    }
  }
  auto ms_between = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  auto done = std::chrono::steady_clock::now();
  if (!refused.empty()) {
    std::string more = refused.size() == 1 ? "" : " (and " + std::to_string(refused.size() - 1) + " more differences in restore.log)";
    return fail(make_error("restored tree differs from the dump: " + refused.front() + more)
                    .with_hint("nothing was left running; this is a bug of cryo, please report it (--no-verify restores without this check)"));
  }
  log->debug("verified {} processes against their fingerprints in {:.2f} ms ({:.2f} ms reading /proc, {:.2f} ms comparing)",
             live.size(), ms_between(started, done), ms_between(started, read), ms_between(read, done));
  return {};
}

}  // namespace cryo::restore
