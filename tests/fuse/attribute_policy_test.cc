#include "fuse/attribute_policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "fuse/attributes.h"

namespace seaweed::fuse {
namespace {

using ::testing::HasSubstr;

// Resets the process-wide policy after each test.
struct PolicyGuard {
  ~PolicyGuard() { set_attribute_policy(AttributePolicy{}); }
};

filer_pb::Entry entry(uint32_t uid, uint32_t gid, bool dir) {
  filer_pb::Entry e;
  e.set_is_directory(dir);
  e.mutable_attributes()->set_uid(uid);
  e.mutable_attributes()->set_gid(gid);
  e.mutable_attributes()->set_file_mode(dir ? (1u << 31) | 0700 : 0640);
  return e;
}

TEST(IdMap, ParseAsWeed) {
  auto m = IdMap::parse("1000:2000,0:3000");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->to_local(2000), 1000u);
  EXPECT_EQ(m->to_local(3000), 0u);
  EXPECT_EQ(m->to_local(42), 42u);
  EXPECT_TRUE(IdMap::parse("").ok());
  EXPECT_TRUE(IdMap::parse("").value().empty());
  for (const char* bad : {"1000", "a:1", "1:b", "1:2,", "1:2,,3:4", "-1:2", "1:2:3"}) {
    auto r = IdMap::parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_THAT(r.error().message, HasSubstr("local:filer")) << bad;
  }
}

TEST(AttributePolicy, DefaultChangesNothing) {
  PolicyGuard guard;
  const auto st = entry_to_stat(entry(7, 8, true), 1);
  EXPECT_EQ(st.st_mode, S_IFDIR | 0700u);
  EXPECT_EQ(st.st_uid, 7u);
}

TEST(AttributePolicy, RootModeAndOwnerAndIdMaps) {
  PolicyGuard guard;
  AttributePolicy p;
  p.set_root = true;
  p.root_mode = 0777 & ~027u;
  p.root_uid = 1234;
  p.root_gid = 5678;
  p.uids = IdMap::parse("1000:2000").value();
  p.gids = IdMap::parse("100:200").value();
  set_attribute_policy(std::move(p));

  const auto root = entry_to_stat(entry(2000, 200, true), 1);
  EXPECT_EQ(root.st_mode, S_IFDIR | 0750u);
  EXPECT_EQ(root.st_uid, 1234u);
  EXPECT_EQ(root.st_gid, 5678u);

  const auto file = entry_to_stat(entry(2000, 200, false), 42);
  EXPECT_EQ(file.st_mode, S_IFREG | 0640u);  // only the root takes the umask, as in weed mount
  EXPECT_EQ(file.st_uid, 1000u);
  EXPECT_EQ(file.st_gid, 100u);
  const auto unmapped = entry_to_stat(entry(3, 4, false), 43);
  EXPECT_EQ(unmapped.st_uid, 3u);
  EXPECT_EQ(unmapped.st_gid, 4u);
}

TEST(AttributePolicy, WeedRuleForTheRoot) {
  const std::string dir = ::testing::TempDir();
  auto p = weed_attribute_policy(dir, 022, "", "");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->root_mode, 0755u);
  struct stat st {};
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(p->root_uid, st.st_uid == 0 ? ::getuid() : st.st_uid);
  EXPECT_FALSE(weed_attribute_policy(dir, 022, "x", "").ok());
  EXPECT_FALSE(weed_attribute_policy(dir + "/no/such/dir", 022, "", "").ok());
}

}  // namespace
}  // namespace seaweed::fuse
