// gzip (RFC 1952) via zlib: gunzip accepts concatenated members like Go's gzip.Reader.
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>
#include <string>

#include "codec/codec.h"

namespace seaweed::codec {
namespace {

// zlib counts in uInt (32 bits): feed and drain it in steps no larger than this.
constexpr size_t kMaxZlibStep = size_t{1} << 30;
constexpr size_t kMinOutputCapacity = 4096;
constexpr size_t kGzipTrailerSize = 8;  // CRC32 + ISIZE
// Deflate cannot expand more than ~1032:1, so a larger size hint is a lie.
constexpr size_t kMaxDeflateRatio = 1032;
constexpr int kGzipWindowBits = 16 + MAX_WBITS;  // 16 selects the gzip wrapper

struct InflateEnder {
  void operator()(z_stream* stream) const { inflateEnd(stream); }
};
struct DeflateEnder {
  void operator()(z_stream* stream) const { deflateEnd(stream); }
};
using InflateGuard = std::unique_ptr<z_stream, InflateEnder>;
using DeflateGuard = std::unique_ptr<z_stream, DeflateEnder>;

Bytef* as_bytes(const char* data) { return reinterpret_cast<Bytef*>(const_cast<char*>(data)); }
Bytef* as_bytes(char* data) { return reinterpret_cast<Bytef*>(data); }

std::string zlib_reason(const z_stream& stream, int rc) {
  if (stream.msg != nullptr) return stream.msg;
  return "zlib error " + std::to_string(rc);
}

// First output buffer size: the last member's ISIZE trailer (exact for the usual single member)
// when plausible, else a guess from the input size. One spare byte lets inflate see the trailer
// in the same call that fills the buffer, so an exact hint never forces a regrow.
size_t initial_output_capacity(std::string_view data, size_t buffer_limit) {
  size_t hint = data.size() * 3;
  if (data.size() >= kGzipTrailerSize) {
    const auto* tail = reinterpret_cast<const unsigned char*>(data.data() + data.size() - 4);
    const size_t isize = size_t{tail[0]} | size_t{tail[1]} << 8 | size_t{tail[2]} << 16 | size_t{tail[3]} << 24;
    if (isize <= data.size() * kMaxDeflateRatio) hint = isize;
  }
  return std::min(std::max(hint + 1, kMinOutputCapacity), buffer_limit);
}

Error gunzip_error(std::string_view data, const std::string& reason) {
  return make_error(EIO, "gunzip " + std::to_string(data.size()) + " bytes: " + reason);
}

// What an inflate() return code means for input of concatenated gzip members (`consumed` bytes of
// `data` used so far): the end of the input, the start of the next member (the stream is reset
// for it), more inflating to do, or an error naming the member.
enum class InflateStep { kDone, kNextMember, kMore };
Result<InflateStep> after_inflate(z_stream& stream, int rc, std::string_view data, size_t consumed, int& members) {
  if (rc == Z_STREAM_END) {
    if (consumed == data.size()) return InflateStep::kDone;
    if (!is_gzip(data.substr(consumed))) {
      return gunzip_error(
          data, "trailing garbage at byte " + std::to_string(consumed) + " after member " + std::to_string(members));
    }
    inflateReset(&stream);
    ++members;
    return InflateStep::kNextMember;
  }
  if (rc == Z_MEM_ERROR) return make_error(ENOMEM, "gunzip: out of memory");
  if (rc != Z_OK && rc != Z_BUF_ERROR) {
    return gunzip_error(data, "corrupt member " + std::to_string(members) + " near input byte " +
                                  std::to_string(consumed) + ": " + zlib_reason(stream, rc));
  }
  return InflateStep::kMore;
}

}  // namespace

bool is_gzip(std::string_view data) {
  return data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f && static_cast<unsigned char>(data[1]) == 0x8b;
}

Result<std::string> gunzip(std::string_view data) { return gunzip(data, kDefaultGunzipLimit); }

Result<std::string> gunzip(std::string_view data, size_t max_output) {
  const auto fail = [&](const std::string& reason) { return gunzip_error(data, reason); };
  if (!is_gzip(data)) return fail("not gzip data (no 1f 8b magic)");

  z_stream stream{};
  if (int rc = inflateInit2(&stream, kGzipWindowBits); rc != Z_OK) {
    return make_error(rc == Z_MEM_ERROR ? ENOMEM : EIO, "gunzip: inflateInit2 failed: " + zlib_reason(stream, rc));
  }
  InflateGuard guard(&stream);

  // The buffer may hold one byte past the limit: that byte proves the output is too large.
  const size_t buffer_limit = max_output == std::numeric_limits<size_t>::max() ? max_output : max_output + 1;
  const auto too_large = [&] { return fail("output exceeds the " + std::to_string(max_output) + "-byte limit"); };
  std::string out(initial_output_capacity(data, buffer_limit), '\0');
  size_t consumed = 0;
  size_t produced = 0;
  int members = 1;
  for (;;) {
    if (produced == out.size()) {
      if (out.size() >= buffer_limit) return too_large();
      out.resize(std::min(buffer_limit, out.size() * 2));
    }
    const size_t in_step = std::min(data.size() - consumed, kMaxZlibStep);
    const size_t out_step = std::min(out.size() - produced, kMaxZlibStep);
    stream.next_in = as_bytes(data.data() + consumed);
    stream.avail_in = static_cast<uInt>(in_step);
    stream.next_out = as_bytes(out.data() + produced);
    stream.avail_out = static_cast<uInt>(out_step);

    const int rc = inflate(&stream, Z_NO_FLUSH);
    consumed += in_step - stream.avail_in;
    produced += out_step - stream.avail_out;
    if (produced > max_output) return too_large();

    auto step = after_inflate(stream, rc, data, consumed, members);
    if (!step) return step.error();
    if (*step == InflateStep::kDone) break;
    if (*step == InflateStep::kNextMember) continue;
    // Output room left over means inflate wanted input it did not get.
    if (consumed == data.size() && stream.avail_out != 0) {
      return fail("truncated in member " + std::to_string(members));
    }
  }
  out.resize(produced);
  return out;
}

Status gunzip_stream(std::string_view data, uint64_t offset, uint64_t size, const GunzipSink& sink,
                     uint64_t max_output) {
  const auto fail = [&](const std::string& reason) { return gunzip_error(data, reason); };
  if (!is_gzip(data)) return fail("not gzip data (no 1f 8b magic)");
  const uint64_t end = size == 0 || size > UINT64_MAX - offset ? UINT64_MAX : offset + size;
  if (end == offset) return {};

  z_stream stream{};
  if (int rc = inflateInit2(&stream, kGzipWindowBits); rc != Z_OK) {
    return make_error(rc == Z_MEM_ERROR ? ENOMEM : EIO, "gunzip: inflateInit2 failed: " + zlib_reason(stream, rc));
  }
  InflateGuard guard(&stream);
  std::array<char, kGunzipWindow> window;  // on the stack: no allocation per call
  uint64_t produced = 0;                   // clear bytes inflated so far (position in the clear data)
  size_t consumed = 0;
  int members = 1;
  for (;;) {
    const size_t in_step = std::min(data.size() - consumed, kMaxZlibStep);
    stream.next_in = as_bytes(data.data() + consumed);
    stream.avail_in = static_cast<uInt>(in_step);
    stream.next_out = as_bytes(window.data());
    // Never inflate past the end of the range: the last step asks for exactly what is missing.
    const uint64_t want = std::min<uint64_t>(window.size(), end - produced);
    stream.avail_out = static_cast<uInt>(want);
    const int rc = inflate(&stream, Z_NO_FLUSH);
    consumed += in_step - stream.avail_in;
    const size_t got = static_cast<size_t>(want - stream.avail_out);
    if (got > 0) {
      const uint64_t piece_start = produced;
      produced += got;
      if (produced > max_output) {
        return fail("output exceeds the " + std::to_string(max_output) + "-byte limit");
      }
      if (produced > offset) {
        const size_t skip = piece_start >= offset ? 0 : static_cast<size_t>(offset - piece_start);
        if (!sink(std::string_view(window.data() + skip, got - skip))) return {};
      }
      if (produced >= end) return {};
    }
    auto step = after_inflate(stream, rc, data, consumed, members);
    if (!step) return step.error();
    if (*step == InflateStep::kDone) return {};
    if (*step == InflateStep::kNextMember) continue;
    if (got == 0 && consumed == data.size()) return fail("truncated in member " + std::to_string(members));
    if (got == 0 && stream.avail_in == in_step)
      return fail("inflate made no progress in member " + std::to_string(members));
  }
}

Result<size_t> gunzip_range(std::string_view data, uint64_t offset, std::span<char> dst, uint64_t max_output) {
  size_t written = 0;
  if (dst.empty()) return written;
  auto s = gunzip_stream(
      data, offset, dst.size(),
      [&](std::string_view piece) {
        std::memcpy(dst.data() + written, piece.data(), piece.size());
        written += piece.size();
        return true;
      },
      max_output);
  if (!s) return s.error();
  return written;
}

Result<std::string> gzip(std::string_view data) {
  z_stream stream{};
  if (int rc = deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kGzipWindowBits, 8, Z_DEFAULT_STRATEGY);
      rc != Z_OK) {
    return make_error(rc == Z_MEM_ERROR ? ENOMEM : EIO, "gzip: deflateInit2 failed: " + zlib_reason(stream, rc));
  }
  DeflateGuard guard(&stream);

  std::string out(deflateBound(&stream, data.size()), '\0');
  size_t consumed = 0;
  size_t produced = 0;
  for (;;) {
    if (produced == out.size()) out.resize(out.size() * 2 + kMinOutputCapacity);
    const size_t in_step = std::min(data.size() - consumed, kMaxZlibStep);
    const size_t out_step = std::min(out.size() - produced, kMaxZlibStep);
    const bool last_input = consumed + in_step == data.size();
    stream.next_in = as_bytes(data.data() + consumed);
    stream.avail_in = static_cast<uInt>(in_step);
    stream.next_out = as_bytes(out.data() + produced);
    stream.avail_out = static_cast<uInt>(out_step);

    const int rc = deflate(&stream, last_input ? Z_FINISH : Z_NO_FLUSH);
    consumed += in_step - stream.avail_in;
    produced += out_step - stream.avail_out;
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return make_error(EIO, "gzip " + std::to_string(data.size()) + " bytes: " + zlib_reason(stream, rc));
    }
  }
  out.resize(produced);
  return out;
}

}  // namespace seaweed::codec
