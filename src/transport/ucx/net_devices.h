// Which network devices UCX may use, so that neither the agent nor the mount listens on more of
// the machine than it must. UCX's tcp transport opens a listening socket on every device it
// uses; with UCX's defaults that is every interface, even when the agent was told -ip=127.0.0.1.
// The agent limits UCX to the interface that holds -ip, the mount to the interface that routes
// to the agent (src/agent/README.md "Listening surface"). An operator's UCX_NET_DEVICES wins.
#pragma once

#include <sys/socket.h>

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace seaweed::transport::ucx {

// The interface that holds `address` (an address of this host): exact match first, then the
// loopback interface for any 127.0.0.0/8 or ::1 address. ENODEV when no interface has it.
Result<std::string> interface_holding(const sockaddr_storage& address);

// The local address the kernel would use to reach `peer` (a connected UDP socket's name; no
// packet is sent). EHOSTUNREACH when there is no route.
Result<sockaddr_storage> local_address_toward(const sockaddr_storage& peer);

// RDMA ports bound to a network interface, as UCX names them ("mlx5_0:1"): RoCE ports list the
// interface among their GID netdevs, IPoIB interfaces point at their device. sysfs_root is "/sys"
// except in tests.
std::vector<std::string> rdma_ports_of(const std::string& interface_name, const std::string& sysfs_root = "/sys");

// The UCX_NET_DEVICES value for one interface: the interface itself (tcp) and its RDMA ports.
std::string net_devices_for(const std::string& interface_name, const std::string& sysfs_root = "/sys");

// True when the operator chose the devices (UCX_NET_DEVICES in the environment).
bool net_devices_set_by_operator();

// The devices for a listener on `ip` ("0.0.0.0"/"::" and unset: nullopt, UCX's default).
Result<std::optional<std::string>> net_devices_for_listen_ip(const std::string& ip);

// The devices to reach `peer` with: nullopt when the route cannot be found (UCX's default).
std::optional<std::string> net_devices_toward(const sockaddr_storage& peer);

}  // namespace seaweed::transport::ucx
