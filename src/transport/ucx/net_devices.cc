#include "transport/ucx/net_devices.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "transport/ucx/ucx_util.h"

namespace seaweed::transport::ucx {
namespace {

namespace fs = std::filesystem;

bool same_address(const sockaddr* a, const sockaddr_storage& b) {
  if (a == nullptr || a->sa_family != b.ss_family) return false;
  if (a->sa_family == AF_INET)
    return reinterpret_cast<const sockaddr_in*>(a)->sin_addr.s_addr ==
           reinterpret_cast<const sockaddr_in*>(&b)->sin_addr.s_addr;
  if (a->sa_family == AF_INET6)
    return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(a)->sin6_addr,
                       &reinterpret_cast<const sockaddr_in6*>(&b)->sin6_addr, sizeof(in6_addr)) == 0;
  return false;
}

bool is_loopback(const sockaddr_storage& a) {
  if (a.ss_family == AF_INET) return (ntohl(reinterpret_cast<const sockaddr_in*>(&a)->sin_addr.s_addr) >> 24) == 127;
  if (a.ss_family == AF_INET6) return IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<const sockaddr_in6*>(&a)->sin6_addr);
  return false;
}

bool is_wildcard(const sockaddr_storage& a) {
  if (a.ss_family == AF_INET) return reinterpret_cast<const sockaddr_in*>(&a)->sin_addr.s_addr == htonl(INADDR_ANY);
  if (a.ss_family == AF_INET6) return IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6*>(&a)->sin6_addr);
  return false;
}

std::string read_line(const fs::path& p) {
  std::ifstream in(p);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

Result<std::string> interface_holding(const sockaddr_storage& address) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return make_error(errno, std::string("getifaddrs: ") + std::strerror(errno));
  std::string exact, loopback;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_name == nullptr) continue;
    if (exact.empty() && same_address(i->ifa_addr, address)) exact = i->ifa_name;
    if (loopback.empty() && (i->ifa_flags & IFF_LOOPBACK)) loopback = i->ifa_name;
  }
  ::freeifaddrs(list);
  if (!exact.empty()) return exact;
  if (is_loopback(address) && !loopback.empty()) return loopback;
  return make_error(ENODEV, "no network interface holds " + sockaddr_to_string(address));
}

Result<sockaddr_storage> local_address_toward(const sockaddr_storage& peer) {
  const int fd = ::socket(peer.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(errno, std::string("socket: ") + std::strerror(errno));
  const socklen_t len = peer.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  sockaddr_storage target = peer;
  // A UDP connect only picks the route; a zero port is refused by some kernels.
  if (target.ss_family == AF_INET && reinterpret_cast<sockaddr_in*>(&target)->sin_port == 0)
    reinterpret_cast<sockaddr_in*>(&target)->sin_port = htons(9);
  if (target.ss_family == AF_INET6 && reinterpret_cast<sockaddr_in6*>(&target)->sin6_port == 0)
    reinterpret_cast<sockaddr_in6*>(&target)->sin6_port = htons(9);
  sockaddr_storage local{};
  socklen_t local_len = sizeof local;
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&target), len) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) return make_error(EHOSTUNREACH, "no route to " + sockaddr_to_string(peer) + ": " + std::strerror(err));
  return local;
}

std::vector<std::string> rdma_ports_of(const std::string& interface_name, const std::string& sysfs_root) {
  std::vector<std::string> out;
  std::error_code ec;
  // RoCE: every GID entry names the netdev it belongs to.
  const fs::path ib = fs::path(sysfs_root) / "class" / "infiniband";
  for (const auto& dev : fs::directory_iterator(ib, ec)) {
    std::error_code ec2;
    for (const auto& port : fs::directory_iterator(dev.path() / "ports", ec2)) {
      std::error_code ec3;
      for (const auto& ndev : fs::directory_iterator(port.path() / "gid_attrs" / "ndevs", ec3)) {
        if (read_line(ndev.path()) == interface_name) {
          out.push_back(dev.path().filename().string() + ":" + port.path().filename().string());
          break;
        }
      }
    }
  }
  // IPoIB (and NICs that expose their RDMA device): net/<if>/device/infiniband/<dev>, the port
  // from dev_port (0-based).
  const fs::path net = fs::path(sysfs_root) / "class" / "net" / interface_name;
  const std::string dev_port = read_line(net / "dev_port");
  int port = 1;
  if (!dev_port.empty()) port = std::atoi(dev_port.c_str()) + 1;
  for (const auto& dev : fs::directory_iterator(net / "device" / "infiniband", ec))
    out.push_back(dev.path().filename().string() + ":" + std::to_string(port));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string net_devices_for(const std::string& interface_name, const std::string& sysfs_root) {
  std::string devices = interface_name;
  for (const auto& p : rdma_ports_of(interface_name, sysfs_root)) devices += "," + p;
  return devices;
}

bool net_devices_set_by_operator() { return std::getenv("UCX_NET_DEVICES") != nullptr; }

Result<std::optional<std::string>> net_devices_for_listen_ip(const std::string& ip) {
  if (net_devices_set_by_operator() || ip.empty()) return std::optional<std::string>();
  auto addr = resolve_address(ip, 1, /*passive=*/false);
  if (!addr) return addr.error();
  if (is_wildcard(*addr)) return std::optional<std::string>();
  auto name = interface_holding(*addr);
  if (!name) return name.error().context("-ip=" + ip);
  return std::optional<std::string>(net_devices_for(*name));
}

std::optional<std::string> net_devices_toward(const sockaddr_storage& peer) {
  if (net_devices_set_by_operator()) return std::nullopt;
  auto local = local_address_toward(peer);
  if (!local) return std::nullopt;
  auto name = interface_holding(*local);
  if (!name) return std::nullopt;
  return net_devices_for(*name);
}

}  // namespace seaweed::transport::ucx
