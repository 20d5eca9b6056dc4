#include "restore/preflight.h"

#include <sys/socket.h>

#include <cstdio>
#include <set>

#include "restore/host_check.h"
#include "restore/image_validation.h"
#include "state/files/netlink_socket.h"
#include "state/files/tcp_listener.h"
#include "restore/unix_listeners.h"
#include "state/files/pipe.h"

namespace cryo::restore {
namespace {

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += char(c);
    }
  }
  return out + "\"";
}

std::string json_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + json_string(items[i]);
  return out + "]";
}

// The ports the tree listened on must be free here: bound by nothing else.
void check_ports(const ImageSet& set, std::vector<std::string>* problems) {
  for (const auto& process : set.processes) {
    for (const auto& fd : process.files.fds()) {
      if (fd.kind() != image::FD_TCP_LISTENER) continue;
      std::string busy = state::tcp_port_in_use(fd.tcp_listener());
      if (!busy.empty())
        problems->push_back("TCP listener " + busy + " (fd " + std::to_string(fd.fd()) + " of pid " + std::to_string(process.pid()) + ")");
    }
  }
}

// The netlink port ids the tree's sockets were bound to must be free here.
void check_netlink_ports(const ImageSet& set, std::vector<std::string>* problems) {
  std::set<uint64_t> seen;
  for (const auto& process : set.processes)
    for (const auto& fd : process.files.fds()) {
      if (fd.kind() != image::FD_NETLINK_SOCKET || !seen.insert(fd.netlink_socket().socket_id()).second) continue;
      std::string busy = state::netlink_port_in_use(fd.netlink_socket());
      if (!busy.empty()) problems->push_back(busy + " (fd " + std::to_string(fd.fd()) + " of pid " + std::to_string(process.pid()) + ")");
    }
}

// The names the tree's unix listeners and datagram sockets were bound to must be free here, or hold only a stale socket
// file of the dumped tree.
void check_unix_names(const ImageSet& set, std::vector<std::string>* problems) {
  std::set<uint64_t> seen;
  for (const auto& process : set.processes)
    for (const auto& fd : process.files.fds()) {
      const auto& s = fd.unix_socket();
      // Listeners and bound datagram sockets (their names are bound at restore).
      bool binds = s.listening() || (s.type() == SOCK_DGRAM && (s.abstract() || !s.name().empty()));
      if (fd.kind() != image::FD_UNIX_SOCKET || !binds || !seen.insert(s.socket_id()).second) continue;
      std::string busy = unix_name_in_use(fd.unix_socket());
      if (!busy.empty())
        problems->push_back(std::string(s.listening() ? "unix listener " : "unix datagram socket ") + busy + " (fd " + std::to_string(fd.fd()) + " of pid " + std::to_string(process.pid()) + ")");
    }
}

// Every named FIFO of the tree must be a FIFO at its path here, holding no one else's data (state/files/pipe.h).
void check_fifos(const ImageSet& set, bool same_boot, Preflight* out) {
  for (const auto& pipe : set.pipes.pipes())
    // A path that is not clean and absolute is validate_image's problem, and not looked at.
    if (!pipe.fifo_path().empty() && is_clean_absolute_path(pipe.fifo_path())) state::check_fifo(pipe, same_boot, &out->problems, &out->notes);
}

}  // namespace

Result<Preflight> run_preflight(const ImageSet& set) {
  Preflight out;
  out.plan = validate_image(set, &out.problems);
  ASSIGN_OR_RETURN(RestoreHostFacts host, read_restore_host_facts(set));
  HostCheck host_check = check_host(set, host, stat_path);
  out.problems.insert(out.problems.end(), host_check.problems.begin(), host_check.problems.end());
  out.notes = std::move(host_check.notes);
  out.vdso_redirect = std::move(host_check.vdso_redirect);
  check_ports(set, &out.problems);
  check_netlink_ports(set, &out.problems);
  check_unix_names(set, &out.problems);
  check_fifos(set, !set.inventory.boot_id().empty() && set.inventory.boot_id() == host.boot_id, &out);
  return out;
}

int print_preflight(const std::string& dir, bool json) {
  Preflight report;
  size_t processes = 0, files = 0;
  auto set = load_image_set(dir);
  if (!set) {
    report.problems.push_back(set.error().message);
  } else {
    processes = set->processes.size();
    files = static_cast<size_t>(set->inventory.files_size());
    auto checked = run_preflight(*set);
    if (checked) report = std::move(*checked);
    else report.problems.push_back("checking this host: " + checked.error().message);
  }
  bool would_start = report.problems.empty();
  if (json) {
    std::printf("{\"image\":%s,\"processes\":%zu,\"image_files\":%zu,\"would_start\":%s,\"problems\":%s,\"notes\":%s}\n",
                json_string(dir).c_str(), processes, files, would_start ? "true" : "false", json_list(report.problems).c_str(),
                json_list(report.notes).c_str());
  } else {
    std::printf("pre-flight of %s: %zu processes, %zu image files\n", dir.c_str(), processes, files);
    for (const auto& p : report.problems) std::printf("  problem: %s\n", p.c_str());
    for (const auto& n : report.notes) std::printf("  note:    %s\n", n.c_str());
    if (would_start)
      std::printf("a restore would start\n");
    else
      std::printf("a restore would not start: %zu problem%s\n", report.problems.size(), report.problems.size() == 1 ? "" : "s");
  }
  std::fflush(stdout);
  return would_start ? 0 : 1;
}

}  // namespace cryo::restore
