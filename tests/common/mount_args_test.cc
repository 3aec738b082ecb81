#include "common/mount_args.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/flags.h"

namespace seaweed {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(MountArgs, HelperName) {
  EXPECT_TRUE(invoked_as_mount_helper("/sbin/mount.fuse.seaweed-rdma-mount"));
  EXPECT_TRUE(invoked_as_mount_helper("mount.seaweed-rdma-mount"));
  EXPECT_FALSE(invoked_as_mount_helper("/usr/bin/seaweed-rdma-mount"));
  EXPECT_FALSE(invoked_as_mount_helper("/opt/mount.d/seaweed-rdma-mount"));
}

// What libmount passes a helper: SOURCE DIR [-f] [-n] [-s] [-v] [-o OPTS] [-t TYPE].
TEST(MountArgs, StripHelperSwitches) {
  auto s = strip_helper_switches(
      {"/sbin/mount.fuse.x", "h:8888:/d", "/mnt", "-n", "-s", "-o", "ro,noatime", "-t", "fuse.seaweed-rdma-mount"});
  ASSERT_TRUE(s.ok());
  EXPECT_THAT(s->args, ElementsAre("/sbin/mount.fuse.x", "h:8888:/d", "/mnt", "-o", "ro,noatime"));
  EXPECT_FALSE(s->fake);
  EXPECT_FALSE(s->verbose);

  auto fake = strip_helper_switches({"m", "src", "/mnt", "-f", "-v"});
  ASSERT_TRUE(fake.ok());
  EXPECT_TRUE(fake->fake);
  EXPECT_TRUE(fake->verbose);
  EXPECT_THAT(fake->args, ElementsAre("m", "src", "/mnt"));

  EXPECT_FALSE(strip_helper_switches({"m", "src", "/mnt", "-t"}).ok());
  auto ns = strip_helper_switches({"m", "src", "/mnt", "-N", "/proc/1/ns/mnt"});
  ASSERT_FALSE(ns.ok());
  EXPECT_THAT(ns.error().message, HasSubstr("namespace"));
}

TEST(MountArgs, Source) {
  auto one = parse_mount_source("10.0.0.1:8888:/data/set");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->filers, "10.0.0.1:8888");
  EXPECT_EQ(one->path, "/data/set");

  auto many = parse_mount_source("a:8888,b:8888.18888:/");
  ASSERT_TRUE(many.ok());
  EXPECT_EQ(many->filers, "a:8888,b:8888.18888");
  EXPECT_EQ(many->path, "/");

  auto no_path = parse_mount_source("filer:8888");
  ASSERT_TRUE(no_path.ok());
  EXPECT_EQ(no_path->filers, "filer:8888");
  EXPECT_EQ(no_path->path, "");

  for (const char* word : {"fuse", "seaweedfs", "none", ""}) {
    auto w = parse_mount_source(word);
    ASSERT_TRUE(w.ok()) << word;
    EXPECT_EQ(w->filers, "") << word;
    EXPECT_EQ(w->path, "") << word;
  }
  EXPECT_FALSE(parse_mount_source(":/data").ok());
  EXPECT_FALSE(parse_mount_source("a:1,,b:2").ok());
  EXPECT_FALSE(parse_mount_source("a:1,b").ok());
}

Result<StandardOptions> standard(const std::string& list) {
  StandardOptions out;
  std::string rest;
  size_t start = 0;
  while (start <= list.size()) {
    auto comma = list.find(',', start);
    std::string item = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    auto eq = item.find('=');
    std::string name = item.substr(0, eq), value = eq == std::string::npos ? "" : item.substr(eq + 1);
    auto r = apply_standard_option(name, eq == std::string::npos ? nullptr : &value, out);
    if (!r.ok()) return r.error();
    if (!*r) return make_error(ENOENT, "not standard: " + item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

TEST(MountArgs, StandardOptionsHonoured) {
  auto o = standard("ro,nosuid,nodev,noexec,noatime,allow_other,default_permissions,auto_unmount");
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->read_only, true);
  EXPECT_EQ(o->suid, false);
  EXPECT_EQ(o->dev, false);
  EXPECT_EQ(o->exec, false);
  EXPECT_TRUE(o->allow_other);
  EXPECT_FALSE(o->allow_root);
  EXPECT_EQ(o->default_permissions, true);
  EXPECT_THAT(o->kernel_flags, ElementsAre("noexec", "noatime", "auto_unmount"));
  EXPECT_THAT(o->ignored, IsEmpty());

  auto later_wins = standard("rw,suid,dev,exec,allow_root,ro");
  ASSERT_TRUE(later_wins.ok());
  EXPECT_EQ(later_wins->read_only, true);
  EXPECT_EQ(later_wins->suid, true);
  EXPECT_EQ(later_wins->dev, true);
  EXPECT_TRUE(later_wins->allow_root);
}

// What mount(8), systemd and fstab add that this mount has nothing to do with.
TEST(MountArgs, StandardOptionsIgnored) {
  auto o = standard(
      "defaults,auto,noauto,user,users,nouser,_netdev,nofail,x-systemd.automount,x-systemd.idle-timeout=60,"
      "x-systemd.mount-timeout=30,comment=systemd.automount,relatime,nodiratime,lazytime,fsname=x,subtype=y");
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->ignored.size(), 17u);
  EXPECT_FALSE(o->read_only.has_value());
  EXPECT_THAT(o->kernel_flags, IsEmpty());
}

TEST(MountArgs, StandardOptionsErrors) {
  EXPECT_FALSE(standard("ro=1").ok());
  EXPECT_FALSE(standard("noatime=yes").ok());
  EXPECT_FALSE(standard("allow_other=1").ok());
  auto setuid = standard("setuid=nobody");
  ASSERT_FALSE(setuid.ok());
  EXPECT_THAT(setuid.error().message, HasSubstr("mount.fuse3"));
  // Own flags are not standard options: they go on to the FlagSet.
  auto own = standard("filer=a:1");
  ASSERT_FALSE(own.ok());
  EXPECT_EQ(own.error().code, ENOENT);
}

// The fstab line `fuse /mnt fuse.seaweed-rdma-mount filer=a:8888,filer.path=/d,ro,_netdev,allow_other 0 0`
// as mount.fuse3 passes it on, through a FlagSet with the standard options as its filter.
TEST(MountArgs, FlagSetWithStandardOptions) {
  std::string filer, path;
  bool allow_others = false;
  FlagSet flags("m");
  flags.add_string("filer", &filer, "");
  flags.add_string("filer.path", &path, "");
  flags.add_bool("allowOthers", &allow_others, "");
  StandardOptions standard_options;
  flags.set_option_filter([&](const std::string& name, const std::string* value) {
    return apply_standard_option(name, value, standard_options);
  });
  std::vector<std::string> words = {"m", "fuse", "/mnt", "-o",
                                    "filer=a:8888,filer.path=/d,ro,_netdev,allow_other,dev,suid,allowOthers=false"};
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  ASSERT_TRUE(flags.parse(static_cast<int>(argv.size()), argv.data()).ok());
  EXPECT_THAT(flags.positional(), ElementsAre("fuse", "/mnt"));
  EXPECT_EQ(filer, "a:8888");
  EXPECT_EQ(path, "/d");
  EXPECT_TRUE(standard_options.allow_other);
  EXPECT_FALSE(allow_others);
  EXPECT_EQ(standard_options.read_only, true);
  EXPECT_THAT(standard_options.ignored, ElementsAre("_netdev"));
}

}  // namespace
}  // namespace seaweed
