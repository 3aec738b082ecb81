#include "transport/http/response_head.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace seaweed::transport::http {
namespace {

std::string_view trim(std::string_view text) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool istarts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

template <class Int>
std::optional<Int> parse_decimal(std::string_view text) {
  Int value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end == text.data()) return std::nullopt;
  return value;
}

// "\"89abcdef\"" (or weak W/"...", or unquoted) -> 0x89abcdef.
std::optional<uint32_t> parse_etag_crc(std::string_view value) {
  if (istarts_with(value, "W/")) value.remove_prefix(2);
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
  if (value.size() != 8) return std::nullopt;
  uint32_t crc = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), crc, 16);
  if (ec != std::errc() || end != value.data() + value.size()) return std::nullopt;
  return crc;
}

}  // namespace

void ResponseHead::on_header_line(std::string_view line) {
  line = trim(line);
  if (istarts_with(line, "HTTP/")) {
    *this = ResponseHead{};
    const size_t space = line.find(' ');
    if (space == std::string_view::npos) return;
    status = parse_decimal<long>(trim(line.substr(space + 1))).value_or(0);
    return;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return;
  const std::string_view name = trim(line.substr(0, colon));
  const std::string_view value = trim(line.substr(colon + 1));
  if (iequals(name, "Content-Length")) {
    content_length = parse_decimal<uint64_t>(value);
  } else if (iequals(name, "Content-Encoding")) {
    gzip_encoded = iequals(value, "gzip") || iequals(value, "x-gzip");
  } else if (iequals(name, "Content-Range") && istarts_with(value, "bytes ")) {
    range_start = parse_decimal<uint64_t>(trim(value.substr(6)));
    if (const size_t slash = value.rfind('/'); slash != std::string_view::npos)
      range_total = parse_decimal<uint64_t>(trim(value.substr(slash + 1)));
  } else if (iequals(name, "ETag")) {
    etag_crc = parse_etag_crc(value);
  }
}

}  // namespace seaweed::transport::http
