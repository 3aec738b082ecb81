#include "common/flags.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace seaweed {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Owns argv storage for FlagSet::parse.
class Argv {
 public:
  Argv(std::initializer_list<std::string> args) : words_{"weed-mount"} {
    words_.insert(words_.end(), args.begin(), args.end());
    for (std::string& w : words_) ptrs_.push_back(w.data());
  }
  int argc() const { return static_cast<int>(ptrs_.size()); }
  char** argv() { return ptrs_.data(); }

 private:
  std::vector<std::string> words_;
  std::vector<char*> ptrs_;
};

// A FlagSet with one flag of each kind, like weed mount's.
struct Fixture {
  std::string filer = "localhost:8888";
  std::string dir;
  bool read_only = false;
  bool verbose = false;
  int64_t cache_mb = 128;
  FlagSet flags{"weed-mount"};

  Fixture() {
    flags.add_string("filer", &filer, "filer address");
    flags.add_string("dir", &dir, "mount point");
    flags.add_bool("readOnly", &read_only, "read only");
    flags.add_bool("verbose", &verbose, "log more");
    flags.add_int("cacheSizeMB", &cache_mb, "cache size");
  }

  Status parse(std::initializer_list<std::string> args) {
    Argv a(args);
    return flags.parse(a.argc(), a.argv());
  }
};

TEST(FlagSet, SingleDashEquals) {
  Fixture f;
  ASSERT_TRUE(f.parse({"-filer=10.0.0.1:8888"}).ok());
  EXPECT_EQ(f.filer, "10.0.0.1:8888");
  EXPECT_TRUE(f.flags.was_set("filer"));
  EXPECT_FALSE(f.flags.was_set("dir"));
}

TEST(FlagSet, DoubleDashEquals) {
  Fixture f;
  ASSERT_TRUE(f.parse({"--dir=/mnt/x"}).ok());
  EXPECT_EQ(f.dir, "/mnt/x");
}

TEST(FlagSet, SeparateValue) {
  Fixture f;
  ASSERT_TRUE(f.parse({"-dir", "/mnt/y", "-cacheSizeMB", "512"}).ok());
  EXPECT_EQ(f.dir, "/mnt/y");
  EXPECT_EQ(f.cache_mb, 512);
}

TEST(FlagSet, ValueWithEqualsSign) {
  Fixture f;
  ASSERT_TRUE(f.parse({"-dir=/a=b"}).ok());
  EXPECT_EQ(f.dir, "/a=b");
}

TEST(FlagSet, BareBoolDoesNotEatNextWord) {
  Fixture f;
  ASSERT_TRUE(f.parse({"-readOnly", "positional"}).ok());
  EXPECT_TRUE(f.read_only);
  EXPECT_THAT(f.flags.positional(), ElementsAre("positional"));
}

TEST(FlagSet, BoolExplicitValues) {
  Fixture f;
  f.read_only = true;
  ASSERT_TRUE(f.parse({"-readOnly=false", "-verbose=1"}).ok());
  EXPECT_FALSE(f.read_only);
  EXPECT_TRUE(f.verbose);
}

TEST(FlagSet, BadBoolIsError) {
  Fixture f;
  auto s = f.parse({"-readOnly=maybe"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, EINVAL);
}

TEST(FlagSet, UnknownFlagIsError) {
  Fixture f;
  auto s = f.parse({"-nope=1"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, EINVAL);
  EXPECT_THAT(s.error().message, HasSubstr("nope"));
}

TEST(FlagSet, BadIntIsError) {
  Fixture f;
  auto s = f.parse({"-cacheSizeMB=12x"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, EINVAL);
  EXPECT_THAT(s.error().message, HasSubstr("cacheSizeMB"));
  EXPECT_FALSE(Fixture().parse({"-cacheSizeMB="}).ok());
}

TEST(FlagSet, NegativeInt) {
  Fixture f;
  ASSERT_TRUE(f.parse({"-cacheSizeMB=-1"}).ok());
  EXPECT_EQ(f.cache_mb, -1);
}

TEST(FlagSet, MissingValueIsError) {
  Fixture f;
  EXPECT_FALSE(f.parse({"-dir"}).ok());
}

TEST(FlagSet, MountOptionList) {
  Fixture f;
  ASSERT_TRUE(f.parse({"-o", "filer=h:1,verbose,cacheSizeMB=64,readOnly"}).ok());
  EXPECT_EQ(f.filer, "h:1");
  EXPECT_TRUE(f.verbose);
  EXPECT_EQ(f.cache_mb, 64);
  EXPECT_TRUE(f.read_only);
  EXPECT_TRUE(f.flags.was_set("readOnly"));
}

TEST(FlagSet, MountOptionFilterSeesItemsFirst) {
  Fixture f;
  std::vector<std::string> seen;
  f.flags.set_option_filter([&](const std::string& name, const std::string* value) -> Result<bool> {
    seen.push_back(value ? name + "=" + *value : name);
    if (name == "bad") return make_error(EINVAL, "bad option");
    return name == "noatime" || name == "x-systemd.automount";
  });
  ASSERT_TRUE(f.parse({"-o", "noatime,x-systemd.automount,filer=h:2", "-o", "verbose"}).ok());
  EXPECT_THAT(seen, ElementsAre("noatime", "x-systemd.automount", "filer=h:2", "verbose"));
  EXPECT_EQ(f.filer, "h:2");
  EXPECT_TRUE(f.verbose);
  EXPECT_FALSE(f.flags.was_set("noatime"));
  EXPECT_FALSE(f.parse({"-o", "bad"}).ok());
}

TEST(FlagSet, MountOptionUnknownIsError) {
  Fixture f;
  auto s = f.parse({"-o", "filer=h:1,bogus=2"});
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.error().message, HasSubstr("bogus"));
  EXPECT_FALSE(Fixture().parse({"-o"}).ok());
}

TEST(FlagSet, SetAndOrder) {
  Fixture f;
  ASSERT_TRUE(f.parse({"-verbose", "-filer=a:1"}).ok());
  ASSERT_TRUE(f.flags.set("readOnly", "").ok());
  ASSERT_TRUE(f.flags.set("cacheSizeMB", "7").ok());
  EXPECT_TRUE(f.read_only);
  EXPECT_EQ(f.cache_mb, 7);
  EXPECT_THAT(f.flags.set_in_order(), ElementsAre("verbose", "filer", "readOnly", "cacheSizeMB"));
  EXPECT_FALSE(f.flags.set("nope", "1").ok());
  EXPECT_TRUE(f.flags.has("dir"));
  EXPECT_FALSE(f.flags.has("nope"));
}

// weed's -options FILE: name=value / name value / name:value, comments, the command line wins.
TEST(FlagSet, OptionsFile) {
  const std::string path = ::testing::TempDir() + "/flags_options_test.txt";
  {
    std::ofstream out(path);
    out << "# weed mount options\n"
           "\n"
           "  -filer=file:8888  \n"
           "dir /mnt/from-file\n"
           "cacheSizeMB:32\n"
           "verbose\n"
           "unknownFlag=1\n";
  }
  Fixture f;
  ASSERT_TRUE(f.parse({"-dir=/mnt/cli"}).ok());
  ASSERT_TRUE(f.flags.parse_options_file(path, true).ok());
  EXPECT_EQ(f.filer, "file:8888");
  EXPECT_EQ(f.dir, "/mnt/cli");
  EXPECT_EQ(f.cache_mb, 32);
  EXPECT_TRUE(f.verbose);
  Fixture strict;
  auto s = strict.flags.parse_options_file(path, false);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.error().message, HasSubstr(":7: flag provided but not defined: unknownFlag"));
  EXPECT_EQ(Fixture().flags.parse_options_file(path + ".missing", true).error().code, ENOENT);
  std::remove(path.c_str());
}

TEST(FlagSet, Positionals) {
  Fixture f;
  ASSERT_TRUE(f.parse({"src", "-verbose", "/mnt/z", "--", "-dir=/not/a/flag"}).ok());
  EXPECT_THAT(f.flags.positional(), ElementsAre("src", "/mnt/z", "-dir=/not/a/flag"));
  EXPECT_TRUE(f.verbose);
  EXPECT_TRUE(f.dir.empty());
}

TEST(FlagSet, Help) {
  for (const char* h : {"-h", "-help", "--help"}) {
    Fixture f;
    ASSERT_TRUE(f.parse({h}).ok()) << h;
    EXPECT_TRUE(f.flags.help_requested()) << h;
  }
  Fixture f;
  ASSERT_TRUE(f.parse({}).ok());
  EXPECT_FALSE(f.flags.help_requested());
  const std::string usage = f.flags.usage("[flags] <mountpoint>");
  EXPECT_THAT(usage, HasSubstr("-filer=value"));
  EXPECT_THAT(usage, HasSubstr("localhost:8888"));
  EXPECT_THAT(usage, HasSubstr("-readOnly"));
}

}  // namespace
}  // namespace seaweed
