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
  EXPECT_EQ(t.peek("/data/a"), a);
  t.forget(a, 1);
  EXPECT_EQ(t.acquire("/data/a"), a);  // same number after the kernel forgot it
  EXPECT_EQ(t.path(a), "/data/a");
  EXPECT_NE(t.acquire("/data/b"), a);
  EXPECT_FALSE(t.path(12345).has_value());
}

TEST(SplitPath, Cases) {
  EXPECT_EQ(split_path("/"), std::make_pair(std::string("/"), std::string("")));
  EXPECT_EQ(split_path("/a"), std::make_pair(std::string("/"), std::string("a")));
  EXPECT_EQ(split_path("/a/b"), std::make_pair(std::string("/a"), std::string("b")));
}

}  // namespace
}  // namespace seaweed::fuse
