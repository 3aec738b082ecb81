#include "filer/volume_locations.h"

#include <gtest/gtest.h>

namespace seaweed::filer {
namespace {

TEST(VolumeLocations, CachesUntilInvalidated) {
  int calls = 0;
  VolumeLocations locs(
      [&](const std::vector<uint32_t>& vids) -> Result<std::map<uint32_t, std::vector<std::string>>> {
        ++calls;
        std::map<uint32_t, std::vector<std::string>> m;
        if (vids[0] == 3) m[3] = {"a:1", "b:2"};
        return m;
      },
      std::chrono::seconds(60));
  auto first = locs.find(3);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->size(), 2u);
  ASSERT_TRUE(locs.find(3).ok());
  EXPECT_EQ(calls, 1);
  locs.invalidate(3);
  ASSERT_TRUE(locs.find(3).ok());
  EXPECT_EQ(calls, 2);
  auto missing = locs.find(4);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ENXIO);
}

TEST(VolumeLocations, LookupErrorCarriesContext) {
  VolumeLocations locs(
      [](const std::vector<uint32_t>&) -> Result<std::map<uint32_t, std::vector<std::string>>> {
        return make_error(EHOSTUNREACH, "filer down");
      },
      std::chrono::seconds(60));
  auto r = locs.find(7);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, EHOSTUNREACH);
  EXPECT_NE(r.error().message.find("volume 7"), std::string::npos);
}

}  // namespace
}  // namespace seaweed::filer
