#include "state/files/socket_options.h"

#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstring>

namespace cryo {
namespace {

struct OptionSpec {
  int level;
  int name;
  const char* label;
  int family;     // 0: any; else AF_INET or AF_INET6 only.
  int force = 0;  // For the buffers: getsockopt shows twice what setsockopt took, and root may exceed the limit.
};

// In the order restore sets them: IP_TOS also sets the priority, so it comes first.
const OptionSpec kOptions[] = {
    {IPPROTO_IP, IP_TOS, "IP_TOS", AF_INET},
    {SOL_SOCKET, SO_PRIORITY, "SO_PRIORITY", 0},
    {SOL_SOCKET, SO_LINGER, "SO_LINGER", 0},
    {SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF", 0, SO_RCVBUFFORCE},
    {SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF", 0, SO_SNDBUFFORCE},
    {SOL_SOCKET, SO_RCVLOWAT, "SO_RCVLOWAT", 0},
    {SOL_SOCKET, SO_RCVTIMEO, "SO_RCVTIMEO", 0},
    {SOL_SOCKET, SO_SNDTIMEO, "SO_SNDTIMEO", 0},
    {SOL_SOCKET, SO_MARK, "SO_MARK", 0},
    {SOL_SOCKET, SO_BROADCAST, "SO_BROADCAST", 0},
    {SOL_SOCKET, SO_OOBINLINE, "SO_OOBINLINE", 0},
    {SOL_SOCKET, SO_DONTROUTE, "SO_DONTROUTE", 0},
    {IPPROTO_IP, IP_TTL, "IP_TTL", AF_INET},
    {IPPROTO_IP, IP_FREEBIND, "IP_FREEBIND", AF_INET},
    {IPPROTO_IP, IP_TRANSPARENT, "IP_TRANSPARENT", AF_INET},
    {IPPROTO_IP, IP_RECVERR, "IP_RECVERR", AF_INET},
    {IPPROTO_IP, IP_MTU_DISCOVER, "IP_MTU_DISCOVER", AF_INET},
    {IPPROTO_IPV6, IPV6_TCLASS, "IPV6_TCLASS", AF_INET6},
    {IPPROTO_IPV6, IPV6_UNICAST_HOPS, "IPV6_UNICAST_HOPS", AF_INET6},
    {IPPROTO_IPV6, IPV6_RECVERR, "IPV6_RECVERR", AF_INET6},
    {IPPROTO_IPV6, IPV6_MTU_DISCOVER, "IPV6_MTU_DISCOVER", AF_INET6},
    {IPPROTO_TCP, TCP_DEFER_ACCEPT, "TCP_DEFER_ACCEPT", 0},
    {IPPROTO_TCP, TCP_FASTOPEN, "TCP_FASTOPEN", 0},
    {IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE", 0},
    {IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL", 0},
    {IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT", 0},
    {IPPROTO_TCP, TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT", 0},
    {IPPROTO_TCP, TCP_MAXSEG, "TCP_MAXSEG", 0},
    {IPPROTO_TCP, TCP_NOTSENT_LOWAT, "TCP_NOTSENT_LOWAT", 0},
    {IPPROTO_TCP, TCP_WINDOW_CLAMP, "TCP_WINDOW_CLAMP", 0},
    {IPPROTO_TCP, TCP_SYNCNT, "TCP_SYNCNT", 0},
    {IPPROTO_TCP, TCP_LINGER2, "TCP_LINGER2", 0},
    {IPPROTO_TCP, TCP_CONGESTION, "TCP_CONGESTION", 0},
};

// The largest answer of the table: struct timeval, or a congestion control's name (TCP_CA_NAME_MAX).
constexpr socklen_t kMaxValue = 16;

const OptionSpec* find_option(int level, int name) {
  for (const OptionSpec& spec : kOptions)
    if (spec.level == level && spec.name == name) return &spec;
  return nullptr;
}

// The option's bytes as getsockopt gives them (ENOPROTOOPT where the kernel has no such option).
Result<std::string> get_option(int sock, const OptionSpec& spec) {
  char value[kMaxValue] = {};
  socklen_t size = sizeof value;
  if (::getsockopt(sock, spec.level, spec.name, value, &size) != 0) return fail_errno(std::string("getsockopt(") + spec.label + ")");
  return std::string(value, size);
}

bool applies(const OptionSpec& spec, int family) { return spec.family == 0 || spec.family == family; }

}  // namespace

void validate_socket_options(const google::protobuf::RepeatedPtrField<image::SocketOption>& options, const std::string& name,
                             std::vector<std::string>* problems) {
  for (const image::SocketOption& option : options)
    if (find_option(option.level(), option.name()) == nullptr || option.value().size() > kMaxValue)
      problems->push_back(name + ": socket option " + std::to_string(option.level()) + "/" + std::to_string(option.name()) +
                          " is none that cryo restores");
}

Result<> collect_socket_options(int sock, int family, google::protobuf::RepeatedPtrField<image::SocketOption>* out) {
  for (const OptionSpec& spec : kOptions) {
    if (!applies(spec, family)) continue;
    auto value = get_option(sock, spec);
    if (!value) {
      if (value.error().err == ENOPROTOOPT || value.error().err == EOPNOTSUPP) continue;  // A kernel without it.
      return fail(value.error());
    }
    image::SocketOption* option = out->Add();
    option->set_level(spec.level);
    option->set_name(spec.name);
    option->set_value(*value);
  }
  return {};
}

Result<uint32_t> set_buffer_size(int sock, int option, int force, uint32_t want, const char* name) {
  auto shown = [&]() -> Result<uint32_t> {
    int size = 0;
    socklen_t length = sizeof size;
    if (::getsockopt(sock, SOL_SOCKET, option, &size, &length) != 0) return fail_errno(std::string("getsockopt(") + name + ")");
    return static_cast<uint32_t>(size);
  };
  ASSIGN_OR_RETURN(uint32_t now, shown());
  int half = static_cast<int>(want / 2);
  for (int how : {option, force}) {
    if (now == want) break;
    // The plain option never refuses a size (it caps it), and what it gave is read back.
    if (::setsockopt(sock, SOL_SOCKET, how, &half, sizeof half) != 0 && how == force)
      return fail_errno(std::string("setsockopt(") + name + "FORCE, " + std::to_string(half) + ")");
    ASSIGN_OR_RETURN(now, shown());
  }
  return now;
}

Result<> restore_socket_options(int sock, int family, const google::protobuf::RepeatedPtrField<image::SocketOption>& options) {
  for (const image::SocketOption& option : options) {
    const OptionSpec* spec = find_option(option.level(), option.name());
    if (spec == nullptr || !applies(*spec, family) || option.value().size() > kMaxValue)
      return fail("socket option " + std::to_string(option.level()) + "/" + std::to_string(option.name()) + " of " +
                  std::to_string(option.value().size()) + " bytes is none that cryo restores");
    ASSIGN_OR_RETURN(std::string now, get_option(sock, *spec));
    if (now == option.value()) continue;  // As a new socket has it: setting it would lock a buffer size.
    std::string wanted = option.value();
    if (spec->force != 0 && wanted.size() == sizeof(int)) {
      int doubled;
      std::memcpy(&doubled, wanted.data(), sizeof doubled);
      int half = doubled / 2;
      if (::setsockopt(sock, SOL_SOCKET, spec->force, &half, sizeof half) != 0)
        return fail_errno(std::string("setsockopt(") + spec->label + "FORCE, " + std::to_string(half) + ")");
    } else if (::setsockopt(sock, spec->level, spec->name, wanted.data(), static_cast<socklen_t>(wanted.size())) != 0) {
      return fail_errno(std::string("setsockopt(") + spec->label + ")");
    }
  }
  // Read back once all are set: one option may change another (IP_TOS the priority).
  for (const image::SocketOption& option : options) {
    const OptionSpec* spec = find_option(option.level(), option.name());
    ASSIGN_OR_RETURN(std::string now, get_option(sock, *spec));
    if (now != option.value())
      return fail(make_error(std::string(spec->label) + " did not keep the value it had at the dump (the kernel changed it as it was set)")
                      .with_hint("restore on a host whose kernel has what the socket used (a congestion control module, say)"));
  }
  return {};
}

}  // namespace cryo
