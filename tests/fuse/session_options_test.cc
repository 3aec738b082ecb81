#include <gtest/gtest.h>

#include "fuse/session.h"

namespace seaweed::fuse {
namespace {

MountOptions with_path(const std::string& path) {
  MountOptions o;
  o.filer = "127.0.0.1:8888";
  o.filer_path = path;
  return o;
}

TEST(FuseMountOptions, SafeDefaults) {
  EXPECT_EQ(fuse_mount_options(with_path("/data")),
            "fsname=seaweedfs:127.0.0.1:8888:/data,subtype=seaweed-rdma-mount,default_permissions,ro,nosuid,nodev");
}

TEST(FuseMountOptions, FilerPathCannotInjectOptions) {
  EXPECT_EQ(fuse_mount_options(with_path("/q,allow_other")),
            "fsname=seaweedfs:127.0.0.1:8888:/"
            "q\\,allow_other,subtype=seaweed-rdma-mount,default_permissions,ro,nosuid,nodev");
  EXPECT_EQ(
      fuse_mount_options(with_path("/s,suid,dev")),
      "fsname=seaweedfs:127.0.0.1:8888:/s\\,suid\\,dev,subtype=seaweed-rdma-mount,default_permissions,ro,nosuid,nodev");
  const std::string tricky = fuse_mount_options(with_path("/a\\,b c=d\"e'f\n"));
  EXPECT_EQ(tricky.substr(0, tricky.find(",subtype")), "fsname=seaweedfs:127.0.0.1:8888:/a\\\\\\,b c=d\"e'f\n");
}

TEST(FuseMountOptions, SourceAndExtraOptions) {
  MountOptions o = with_path("/");
  o.fsname = "10.0.0.1:8888,10.0.0.2:8888:/data";
  o.default_permissions = false;
  o.fuse_options = {"noatime", "noexec"};
  EXPECT_EQ(fuse_mount_options(o),
            "fsname=10.0.0.1:8888\\,10.0.0.2:8888:/data,subtype=seaweed-rdma-mount,ro,nosuid,nodev,noatime,noexec");
}

TEST(FuseMountOptions, LongPathsAreCut) {
  const std::string o = fuse_mount_options(with_path("/" + std::string(5000, 'x')));
  EXPECT_LT(o.size(), 700u);
  EXPECT_NE(o.find(",nosuid,nodev"), std::string::npos);
}

TEST(FuseMountOptions, AllowOtherSuidAndDevOnlyWhenAsked) {
  MountOptions o = with_path("/");
  o.allow_others = true;
  o.suid = true;
  o.dev = true;
  EXPECT_EQ(fuse_mount_options(o),
            "fsname=seaweedfs:127.0.0.1:8888:/,subtype=seaweed-rdma-mount,default_permissions,ro,allow_other,suid,dev");
}

}  // namespace
}  // namespace seaweed::fuse
