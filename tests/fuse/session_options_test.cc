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
            "fsname=seaweedfs:127.0.0.1:8888:/data,subtype=seaweedfs,default_permissions,ro,nosuid,nodev");
}

TEST(FuseMountOptions, FilerPathCannotInjectOptions) {
  EXPECT_EQ(fuse_mount_options(with_path("/q,allow_other")),
            "fsname=seaweedfs:127.0.0.1:8888:/q%2Callow_other,subtype=seaweedfs,default_permissions,ro,nosuid,nodev");
  EXPECT_EQ(fuse_mount_options(with_path("/s,suid,dev")),
            "fsname=seaweedfs:127.0.0.1:8888:/s%2Csuid%2Cdev,subtype=seaweedfs,default_permissions,ro,nosuid,nodev");
  const std::string tricky = fuse_mount_options(with_path("/a\\,b c=d\"e'f\n"));
  EXPECT_EQ(tricky.substr(0, tricky.find(",subtype")), "fsname=seaweedfs:127.0.0.1:8888:/a%5C%2Cb%20c%3Dd%22e%27f%0A");
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
            "fsname=seaweedfs:127.0.0.1:8888:/,subtype=seaweedfs,default_permissions,ro,allow_other,suid,dev");
}

}  // namespace
}  // namespace seaweed::fuse
