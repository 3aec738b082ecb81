#include "client/mountinfo.h"

#include <gtest/gtest.h>

namespace seaweed::client {
namespace {

constexpr char kMountinfo[] =
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "90 22 0:50 / /mnt/all rw,nosuid,nodev,relatime shared:60 - fuse.seaweedfs seaweedfs:127.0.0.1:8888:/ "
    "rw,user_id=0,group_id=0\n"
    "91 22 0:51 / /mnt/data\\040set rw,nosuid,nodev - fuse.seaweedfs seaweedfs:127.0.0.1:8888.18888:/data rw\n"
    "92 22 0:52 / /mnt/other rw - fuse.seaweedfs seaweedfs:filer2:9999:/ rw\n"
    "93 22 0:53 / /mnt/weed rw - fuse seaweedfs:127.0.0.1:8888:/ rw\n"
    "94 22 0:54 / /mnt/fstab rw - fuse.seaweed-rdma-mount 10.0.0.1:8888,10.0.0.2:8888:/models rw\n"
    "95 22 0:55 / /mnt/bare rw - fuse.seaweed-rdma-mount 10.0.0.3:8888 rw\n"
    "96 22 0:56 / /mnt/weedstyle rw - fuse.seaweed-rdma-mount fuse rw\n"
    "garbage line\n";

TEST(Mountinfo, FindsSeaweedMountsOnly) {
  auto mounts = parse_seaweed_mounts(kMountinfo);
  ASSERT_EQ(mounts.size(), 5u);
  EXPECT_EQ(mounts[0].mountpoint, "/mnt/all");
  EXPECT_EQ(mounts[0].filer, "127.0.0.1:8888");
  EXPECT_EQ(mounts[0].filer_root, "/");
  EXPECT_EQ(mounts[1].mountpoint, "/mnt/data set");  // \040 unescaped
  EXPECT_EQ(mounts[1].filer, "127.0.0.1:8888.18888");
  EXPECT_EQ(mounts[1].filer_root, "/data");
  EXPECT_EQ(mounts[3].filer, "10.0.0.1:8888,10.0.0.2:8888");
  EXPECT_EQ(mounts[3].filer_root, "/models");
  EXPECT_EQ(mounts[4].filer, "10.0.0.3:8888");
  EXPECT_EQ(mounts[4].filer_root, "/");
}

TEST(Mountinfo, PicksTheDeepestRootOfTheFiler) {
  auto mounts = parse_seaweed_mounts(kMountinfo);
  EXPECT_EQ(local_path_of(mounts, "127.0.0.1:8888", "/data/x/y.bin"), "/mnt/data set/x/y.bin");
  EXPECT_EQ(local_path_of(mounts, "127.0.0.1:8888", "/data"), "/mnt/data set");
  EXPECT_EQ(local_path_of(mounts, "127.0.0.1:8888", "/database/f"), "/mnt/all/database/f");  // not under /data
  EXPECT_EQ(local_path_of(mounts, "filer2:9999", "/a"), "/mnt/other/a");
  EXPECT_EQ(local_path_of(mounts, "nobody:1", "/a"), std::nullopt);
  EXPECT_EQ(local_path_of(mounts, "", "/data/z"), "/mnt/data set/z");
  EXPECT_EQ(local_path_of({}, "", "/a"), std::nullopt);
  EXPECT_EQ(local_path_of(mounts, "10.0.0.2:8888", "/models/m.bin"), "/mnt/fstab/m.bin");  // second of the list
  EXPECT_EQ(local_path_of(mounts, "10.0.0.3:8888", "/x"), "/mnt/bare/x");
}

}  // namespace
}  // namespace seaweed::client
