// Which UCX devices the agent and the mount use (transport/ucx/net_devices.h): the interface of
// an address, the route toward a peer, and RDMA ports found in a fake sysfs tree.
#include "transport/ucx/net_devices.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "transport/ucx/ucx_util.h"

namespace seaweed::transport::ucx {
namespace {

namespace fs = std::filesystem;

sockaddr_storage v4(const char* ip) {
  sockaddr_storage s{};
  auto* in = reinterpret_cast<sockaddr_in*>(&s);
  in->sin_family = AF_INET;
  ::inet_pton(AF_INET, ip, &in->sin_addr);
  return s;
}

TEST(NetDevices, LoopbackAddressesAreOnLo) {
  auto lo = interface_holding(v4("127.0.0.1"));
  ASSERT_TRUE(lo.ok()) << lo.error().message;
  EXPECT_EQ(*lo, "lo");
  auto other = interface_holding(v4("127.0.0.42"));  // all of 127/8 is loopback
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(*other, "lo");
  EXPECT_EQ(interface_holding(v4("192.0.2.77")).error().code, ENODEV);  // TEST-NET-1: nobody's
}

TEST(NetDevices, RouteTowardALocalPeerIsLoopback) {
  auto local = local_address_toward(v4("127.0.0.1"));
  ASSERT_TRUE(local.ok()) << local.error().message;
  EXPECT_EQ(interface_holding(*local).value(), "lo");
  if (!net_devices_set_by_operator()) {
    EXPECT_EQ(net_devices_toward(v4("127.0.0.1")), std::optional<std::string>("lo"));
  }
}

TEST(NetDevices, ListenIp) {
  if (net_devices_set_by_operator()) GTEST_SKIP() << "UCX_NET_DEVICES is set";
  EXPECT_EQ(net_devices_for_listen_ip("127.0.0.1").value(), std::optional<std::string>("lo"));
  EXPECT_EQ(net_devices_for_listen_ip("0.0.0.0").value(), std::nullopt);  // every interface
  EXPECT_EQ(net_devices_for_listen_ip("").value(), std::nullopt);
  EXPECT_FALSE(net_devices_for_listen_ip("192.0.2.77").ok());  // not an address of this host
  ::setenv("UCX_NET_DEVICES", "eth9", 1);
  EXPECT_EQ(net_devices_for_listen_ip("127.0.0.1").value(), std::nullopt);  // the operator's choice wins
  ::unsetenv("UCX_NET_DEVICES");
}

class FakeSysfs : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "sysfs-XXXXXX").string();
    root_ = ::mkdtemp(tmpl.data());
  }
  void TearDown() override { fs::remove_all(root_); }
  void write(const fs::path& rel, const std::string& text) {
    fs::create_directories((root_ / rel).parent_path());
    std::ofstream(root_ / rel) << text << "\n";
  }
  fs::path root_;
};

TEST_F(FakeSysfs, RoceGidNetdevsAndIpoibDevices) {
  // RoCE: mlx5_0 port 1 carries eth2 (and a VLAN on it); mlx5_1 port 1 carries eth3.
  write("class/infiniband/mlx5_0/ports/1/gid_attrs/ndevs/0", "eth2");
  write("class/infiniband/mlx5_0/ports/1/gid_attrs/ndevs/1", "eth2.100");
  write("class/infiniband/mlx5_1/ports/1/gid_attrs/ndevs/0", "eth3");
  // IPoIB: ib0 is port 2 of mlx4_0 (dev_port is 0-based).
  fs::create_directories(root_ / "class/net/ib0/device/infiniband/mlx4_0");
  write("class/net/ib0/dev_port", "1");
  EXPECT_EQ(rdma_ports_of("eth2", root_), std::vector<std::string>{"mlx5_0:1"});
  EXPECT_EQ(rdma_ports_of("eth2.100", root_), std::vector<std::string>{"mlx5_0:1"});
  EXPECT_EQ(rdma_ports_of("ib0", root_), std::vector<std::string>{"mlx4_0:2"});
  EXPECT_TRUE(rdma_ports_of("lo", root_).empty());
  EXPECT_EQ(net_devices_for("eth2", root_), "eth2,mlx5_0:1");
  EXPECT_EQ(net_devices_for("lo", root_), "lo");
}

}  // namespace
}  // namespace seaweed::transport::ucx
