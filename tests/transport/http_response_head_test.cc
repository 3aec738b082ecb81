#include <gtest/gtest.h>

#include "transport/http/response_head.h"

namespace seaweed::transport::http {
namespace {

TEST(HttpResponseHead, ParsesStatusAndHeadersCaseInsensitively) {
  ResponseHead head;
  head.on_header_line("HTTP/1.1 206 Partial Content\r\n");
  head.on_header_line("content-length: 10\r\n");
  head.on_header_line("Content-Range:   bytes 100-109/5000\r\n");
  head.on_header_line("CONTENT-ENCODING: GZIP\r\n");
  head.on_header_line("\r\n");
  EXPECT_EQ(head.status, 206);
  EXPECT_EQ(head.content_length, 10u);
  EXPECT_EQ(head.range_start, 100u);
  EXPECT_TRUE(head.gzip_encoded);
}

TEST(HttpResponseHead, StatusLineStartsANewHead) {
  ResponseHead head;
  head.on_header_line("HTTP/1.1 301 Moved Permanently\r\n");
  head.on_header_line("Content-Length: 57\r\n");
  head.on_header_line("Content-Encoding: gzip\r\n");
  head.on_header_line("HTTP/2 200\r\n");
  EXPECT_EQ(head.status, 200);
  EXPECT_FALSE(head.content_length);
  EXPECT_FALSE(head.gzip_encoded);
}

TEST(HttpResponseHead, IgnoresMalformedValues) {
  ResponseHead head;
  head.on_header_line("HTTP/1.1 416 Range Not Satisfiable\r\n");
  head.on_header_line("Content-Range: bytes */100\r\n");
  head.on_header_line("Content-Length: lots\r\n");
  head.on_header_line("Content-Encoding: identity\r\n");
  head.on_header_line("no colon here\r\n");
  EXPECT_EQ(head.status, 416);
  EXPECT_FALSE(head.range_start);
  EXPECT_FALSE(head.content_length);
  EXPECT_FALSE(head.gzip_encoded);
}

TEST(HttpResponseHead, ParsesTheVolumeServersEtagAndRangeTotal) {
  ResponseHead head;
  head.on_header_line("HTTP/1.1 206 Partial Content\r\n");
  head.on_header_line("Etag: \"f8bb9fe4\"\r\n");
  head.on_header_line("Content-Range: bytes 100-199/1048576\r\n");
  EXPECT_EQ(head.etag_crc, 0xf8bb9fe4u);
  EXPECT_EQ(head.range_start, 100u);
  EXPECT_EQ(head.range_total, 1048576u);

  for (const char* line : {"ETag: W/\"0000000A\"\r\n", "ETag: 0000000a\r\n"}) {
    ResponseHead h;
    h.on_header_line(line);
    EXPECT_EQ(h.etag_crc, 10u) << line;
  }
  for (const char* line : {"ETag: \"abc\"\r\n", "ETag: \"d41d8cd98f00b204e9800998ecf8427e\"\r\n",
                           "ETag: \"0000000g\"\r\n", "ETag: \"-0000001\"\r\n"}) {
    ResponseHead h;
    h.on_header_line(line);
    EXPECT_FALSE(h.etag_crc) << line;
  }
}

}  // namespace
}  // namespace seaweed::transport::http
