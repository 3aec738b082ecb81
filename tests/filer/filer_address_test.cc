#include "filer/filer_address.h"

#include <gtest/gtest.h>

namespace seaweed::filer {
namespace {

TEST(FilerAddress, PlainPortMeansGrpcPlus10000) {
  auto a = FilerAddress::parse("127.0.0.1:8888");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->http_port, 8888);
  EXPECT_EQ(a->grpc_port, 18888);
  EXPECT_EQ(a->grpc(), "127.0.0.1:18888");
}

TEST(FilerAddress, ExplicitGrpcPort) {
  auto a = FilerAddress::parse("filer.local:8888.19999");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->http_port, 8888);
  EXPECT_EQ(a->grpc_port, 19999);
}

TEST(FilerAddress, BracketedIpv6) {
  auto a = FilerAddress::parse("[::1]:8888");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "::1");
}

TEST(FilerAddress, Errors) {
  for (const char* bad : {"", "nohost", ":8888", "h:", "h:0", "h:70000", "h:abc", "h:8888.x", "a:1,b:2", "h:60000"}) {
    auto a = FilerAddress::parse(bad);
    EXPECT_FALSE(a.ok()) << bad;
    if (!a.ok()) {
      EXPECT_EQ(a.error().code, EINVAL) << bad;
    }
  }
}

// weed mount's -filer=a:8888,b:8888: several filers, in order.
TEST(FilerAddress, List) {
  auto list = FilerAddress::parse_list("a:8888,b:9999.19000");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].grpc(), "a:18888");
  EXPECT_EQ((*list)[1].http(), "b:9999");
  EXPECT_EQ((*list)[1].grpc(), "b:19000");
  auto one = FilerAddress::parse_list("solo:8888");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u);
  for (const char* bad : {"", "a:8888,", ",a:8888", "a:8888,,b:1", "a:8888,b"})
    EXPECT_FALSE(FilerAddress::parse_list(bad).ok()) << bad;
  EXPECT_FALSE(FilerAddress::parse("a:8888,b:8888").ok());  // one address where one is expected
}

}  // namespace
}  // namespace seaweed::filer
