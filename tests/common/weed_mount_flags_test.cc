#include "common/weed_mount_flags.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace seaweed {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Status parse(FlagSet& flags, std::vector<std::string> words) {
  words.insert(words.begin(), "m");
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  return flags.parse(static_cast<int>(argv.size()), argv.data());
}

TEST(WeedMountFlags, AcceptedWithWeedsKinds) {
  FlagSet flags("m");
  add_ignored_weed_mount_flags(flags);
  ASSERT_TRUE(parse(flags, {"-collection=c", "-replication", "001", "-asyncDio", "/mnt/x", "-ttl=60",
                            "-readRetryTime=6s", "-peer.enable=false", "-o", "concurrentWriters=8,writebackCache"})
                  .ok());
  EXPECT_THAT(flags.positional(), ElementsAre("/mnt/x"));  // a bare boolean takes no value
  EXPECT_FALSE(parse(flags, {"-ttl=soon"}).ok());
  EXPECT_FALSE(parse(flags, {"-dlm=maybe"}).ok());
  for (const auto& name : ignored_weed_mount_flags()) EXPECT_TRUE(flags.has(name)) << name;
}

TEST(WeedMountFlags, OneWarningLine) {
  FlagSet flags("m");
  add_ignored_weed_mount_flags(flags);
  std::string filer;
  flags.add_string("filer", &filer, "");
  ASSERT_TRUE(parse(flags, {"-filer=a:1"}).ok());
  EXPECT_EQ(ignored_flags_warning(flags), "");
  ASSERT_TRUE(parse(flags, {"-localSocket=/tmp/s", "-collection=c", "-replication=001", "-collection=d"}).ok());
  const std::string line = ignored_flags_warning(flags);
  EXPECT_EQ(line,
            "ignoring weed mount flags: for writes (this mount is read-only): -collection -replication; "
            "without effect here: -localSocket");
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(WeedMountFlags, UsageSaysIgnored) {
  FlagSet flags("m");
  add_ignored_weed_mount_flags(flags);
  const std::string usage = flags.usage("DIR");
  EXPECT_THAT(usage, HasSubstr("-collection=value\n        weed mount flag for writes; ignored"));
  EXPECT_THAT(usage, HasSubstr("-asyncDio\n"));
}

}  // namespace
}  // namespace seaweed
