#include "kernel/netlink_protocols.h"

#include <linux/netlink.h>

namespace cryo {
namespace {

// NETLINK_GENERIC families may keep state for a port (taskstats listeners, nl80211 objects owned by a
// socket): README lists that limit. The refused ones keep such state always: bound queues and log
// groups (NETFILTER, NFLOG), proc connector listeners (CONNECTOR), the sessions of iSCSI, RDMA, SCSI
// transport, eCryptfs and SMC daemons; FIREWALL, IP6_FW and DNRTMSG are gone from the kernel.
constexpr NetlinkProtocol kProtocols[] = {
    {NETLINK_ROUTE, "NETLINK_ROUTE", true},
    {NETLINK_USERSOCK, "NETLINK_USERSOCK", true},
    {NETLINK_FIREWALL, "NETLINK_FIREWALL", false},
    {NETLINK_SOCK_DIAG, "NETLINK_SOCK_DIAG", true},
    {NETLINK_NFLOG, "NETLINK_NFLOG", false},
    {NETLINK_XFRM, "NETLINK_XFRM", true},
    {NETLINK_SELINUX, "NETLINK_SELINUX", true},
    {NETLINK_ISCSI, "NETLINK_ISCSI", false},
    {NETLINK_AUDIT, "NETLINK_AUDIT", true},
    {NETLINK_FIB_LOOKUP, "NETLINK_FIB_LOOKUP", true},
    {NETLINK_CONNECTOR, "NETLINK_CONNECTOR", false},
    {NETLINK_NETFILTER, "NETLINK_NETFILTER", false},
    {NETLINK_IP6_FW, "NETLINK_IP6_FW", false},
    {NETLINK_DNRTMSG, "NETLINK_DNRTMSG", false},
    {NETLINK_KOBJECT_UEVENT, "NETLINK_KOBJECT_UEVENT", true},
    {NETLINK_GENERIC, "NETLINK_GENERIC", true},
    {NETLINK_SCSITRANSPORT, "NETLINK_SCSITRANSPORT", false},
    {NETLINK_ECRYPTFS, "NETLINK_ECRYPTFS", false},
    {NETLINK_RDMA, "NETLINK_RDMA", false},
    {NETLINK_CRYPTO, "NETLINK_CRYPTO", false},
    {NETLINK_SMC, "NETLINK_SMC", false},
};

}  // namespace

const NetlinkProtocol* find_netlink_protocol(int number) {
  for (const auto& p : kProtocols)
    if (p.number == number) return &p;
  return nullptr;
}

}  // namespace cryo
