#include "fuse/inode_table.h"

#include <gtest/gtest.h>

#include "fuse/filesystem.h"

namespace seaweed::fuse {
namespace {

TEST(InodeTable, RootIsOneAndNumbersAreStable) {
  InodeTable t("/data");
  EXPECT_EQ(t.path(InodeTable::kRoot), "/data");
  const uint64_t a = t.acquire("/data/a");
  EXPECT_NE(a, InodeTable::kRoot);
  EXPECT_EQ(t.find("/data/a"), a);
  EXPECT_EQ(t.acquire("/data/a"), a);  // stable while the kernel holds it
  EXPECT_EQ(t.lookups(a), 2u);
  EXPECT_FALSE(t.forget(a, 1).has_value());
  EXPECT_EQ(t.path(a), "/data/a");
  EXPECT_EQ(t.forget(a, 1), "/data/a");  // the last reference: released
  EXPECT_FALSE(t.path(a).has_value());
  EXPECT_FALSE(t.find("/data/a").has_value());
  const uint64_t again = t.acquire("/data/a");
  EXPECT_NE(again, a);  // numbers are never reused
  EXPECT_NE(t.acquire("/data/b"), again);
  EXPECT_FALSE(t.path(12345).has_value());
  EXPECT_EQ(t.size(), 3u);
}

TEST(InodeTable, RootIsNeverReleased) {
  InodeTable t("/");
  EXPECT_FALSE(t.forget(InodeTable::kRoot, 100).has_value());
  EXPECT_EQ(t.path(InodeTable::kRoot), "/");
  EXPECT_EQ(t.size(), 1u);
}

TEST(SplitPath, Cases) {
  EXPECT_EQ(split_path("/"), std::make_pair(std::string("/"), std::string("")));
  EXPECT_EQ(split_path("/a"), std::make_pair(std::string("/"), std::string("a")));
  EXPECT_EQ(split_path("/a/b"), std::make_pair(std::string("/a"), std::string("b")));
}

}  // namespace
}  // namespace seaweed::fuse
