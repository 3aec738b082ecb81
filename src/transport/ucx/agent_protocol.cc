#include "transport/ucx/agent_protocol.h"

#include <cstring>

namespace seaweed::transport::ucx {
namespace {

template <class T>
T get(std::span<const uint8_t> b, size_t at) {
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(T{b[at + i]} << (8 * i));
  return v;
}

template <class T>
void put(std::span<uint8_t> b, size_t at, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

Error proto_error(const std::string& what) { return make_error(EPROTO, what); }

}  // namespace

size_t request_wire_size(const Request& r) { return kRequestHeaderSize + r.token.size(); }

void encode_request(const Request& r, std::span<uint8_t> out) {
  put<uint32_t>(out, 0, kRequestMagic);
  put<uint16_t>(out, 4, kProtocolVersion);
  put<uint16_t>(out, 6, static_cast<uint16_t>(r.op));
  put<uint64_t>(out, 8, r.request_id);
  put<uint32_t>(out, 16, r.volume_id);
  put<uint32_t>(out, 20, r.cookie);
  put<uint64_t>(out, 24, r.needle_id);
  put<uint64_t>(out, 32, r.offset);
  put<uint64_t>(out, 40, r.length);
  put<uint32_t>(out, 48, r.flags);
  put<uint32_t>(out, 52, static_cast<uint32_t>(r.token.size()));
  put<uint64_t>(out, 56, 0);
  if (!r.token.empty()) std::memcpy(out.data() + kRequestHeaderSize, r.token.data(), r.token.size());
}

std::array<uint8_t, kReplyHeaderSize> encode_reply(const Reply& r) {
  std::array<uint8_t, kReplyHeaderSize> out{};
  std::span<uint8_t> b(out);
  put<uint32_t>(b, 0, kReplyMagic);
  put<uint16_t>(b, 4, kProtocolVersion);
  put<uint16_t>(b, 6, static_cast<uint16_t>(r.status));
  put<uint64_t>(b, 8, r.request_id);
  put<uint32_t>(b, 16, r.needle_flags);
  put<uint32_t>(b, 20, r.crc32c);
  put<uint64_t>(b, 24, r.needle_data_size);
  put<uint64_t>(b, 32, r.data_offset);
  put<uint64_t>(b, 40, r.data_length);
  put<uint32_t>(b, 48, r.reply_flags);
  return out;
}

Result<Request> decode_request(std::span<const uint8_t> b) {
  if (b.size() < kRequestHeaderSize)
    return proto_error("request header truncated: " + std::to_string(b.size()) + " of 64 bytes");
  if (get<uint32_t>(b, 0) != kRequestMagic) return proto_error("bad request magic");
  const auto version = get<uint16_t>(b, 4);
  if (version != kProtocolVersion)
    return proto_error("unsupported protocol version " + std::to_string(version) + " (agent speaks " +
                       std::to_string(kProtocolVersion) + ")");
  Request r;
  const auto op = get<uint16_t>(b, 6);
  if (op < 1 || op > 3) return proto_error("unknown op " + std::to_string(op));
  r.op = static_cast<Op>(op);
  r.request_id = get<uint64_t>(b, 8);
  r.volume_id = get<uint32_t>(b, 16);
  r.cookie = get<uint32_t>(b, 20);
  r.needle_id = get<uint64_t>(b, 24);
  r.offset = get<uint64_t>(b, 32);
  r.length = get<uint64_t>(b, 40);
  r.flags = get<uint32_t>(b, 48);
  const auto token_length = get<uint32_t>(b, 52);
  if (get<uint64_t>(b, 56) != 0) return proto_error("reserved request bytes are not zero");
  if (r.flags & ~kKnownRequestFlags) return proto_error("unknown request flags");
  if (token_length > kMaxTokenLength) return proto_error("token too long");
  if (b.size() != kRequestHeaderSize + token_length)
    return proto_error("request is " + std::to_string(b.size()) + " bytes, header says " +
                       std::to_string(kRequestHeaderSize + token_length));
  r.token = std::string_view(reinterpret_cast<const char*>(b.data()) + kRequestHeaderSize, token_length);
  if (r.op != Op::kPing) {
    if (r.volume_id == 0) return proto_error("volume id 0");
    if (r.needle_id == 0) return proto_error("needle id 0");
  }
  if (r.op == Op::kRead) {
    if (r.length > kMaxReadLength) return proto_error("read length " + std::to_string(r.length) + " too large");
    if (r.offset > (uint64_t{1} << 62)) return proto_error("read offset out of range");
  }
  return r;
}

Result<Reply> decode_reply(std::span<const uint8_t> b) {
  if (b.size() != kReplyHeaderSize)
    return proto_error("reply header is " + std::to_string(b.size()) + " bytes, not 64");
  if (get<uint32_t>(b, 0) != kReplyMagic) return proto_error("bad reply magic");
  const auto version = get<uint16_t>(b, 4);
  if (version != kProtocolVersion) return proto_error("agent speaks protocol version " + std::to_string(version));
  Reply r;
  const auto status = get<uint16_t>(b, 6);
  if (status > kMaxReplyStatus) return proto_error("unknown reply status " + std::to_string(status));
  r.status = static_cast<ReplyStatus>(status);
  r.request_id = get<uint64_t>(b, 8);
  r.needle_flags = get<uint32_t>(b, 16);
  r.crc32c = get<uint32_t>(b, 20);
  r.needle_data_size = get<uint64_t>(b, 24);
  r.data_offset = get<uint64_t>(b, 32);
  r.data_length = get<uint64_t>(b, 40);
  r.reply_flags = get<uint32_t>(b, 48);
  if (get<uint32_t>(b, 52) != 0 || get<uint64_t>(b, 56) != 0) return proto_error("reserved reply bytes are not zero");
  if (status == 2) return proto_error("reply status 2 (COOKIE_MISMATCH of version 1) is not sent in version 2");
  if (r.reply_flags & ~kKnownReplyFlags) return proto_error("unknown reply flags");
  if (r.needle_flags > 0xff) return proto_error("needle flags out of range");
  if (r.status == ReplyStatus::kOk) {
    if (r.needle_data_size > kMaxNeedleDataSize) return proto_error("needle data size out of range");
    if (r.data_offset > r.needle_data_size || r.data_length > r.needle_data_size - r.data_offset)
      return proto_error("reply data range exceeds the needle size");
  } else if (r.data_length > kMaxErrorText) {
    return proto_error("error reply carries " + std::to_string(r.data_length) + " bytes");
  }
  return r;
}

uint64_t peek_request_id(std::span<const uint8_t> b) { return b.size() >= 16 ? get<uint64_t>(b, 8) : 0; }

const char* status_name(ReplyStatus s) {
  switch (s) {
    case ReplyStatus::kOk:
      return "OK";
    case ReplyStatus::kNotFound:
      return "NOT_FOUND";
    case ReplyStatus::kVolumeNotHere:
      return "VOLUME_NOT_HERE";
    case ReplyStatus::kBadRequest:
      return "BAD_REQUEST";
    case ReplyStatus::kBusy:
      return "BUSY";
    case ReplyStatus::kAuth:
      return "AUTH";
    case ReplyStatus::kInternal:
      return "INTERNAL";
    case ReplyStatus::kRetry:
      return "RETRY";
    case ReplyStatus::kCorrupt:
      return "CORRUPT";
  }
  return "UNKNOWN";
}

ReplyStatus status_from_errno(int code) {
  switch (code) {
    case 0:
      return ReplyStatus::kOk;
    case ENOENT:
    case EACCES:  // wrong cookie: answered like a missing needle, so keys cannot be probed
      return ReplyStatus::kNotFound;
    case EBADMSG:
      return ReplyStatus::kCorrupt;
    case ENXIO:
      return ReplyStatus::kVolumeNotHere;
    case EAGAIN:
      return ReplyStatus::kRetry;
    case EBUSY:
      return ReplyStatus::kBusy;
    case EINVAL:
    case EPROTO:
      return ReplyStatus::kBadRequest;
    case EPERM:
      return ReplyStatus::kAuth;
    default:
      return ReplyStatus::kInternal;
  }
}

int errno_from_status(ReplyStatus s) {
  switch (s) {
    case ReplyStatus::kOk:
      return 0;
    case ReplyStatus::kNotFound:
    case ReplyStatus::kVolumeNotHere:
      return ENOENT;
    case ReplyStatus::kCorrupt:
      return EBADMSG;
    case ReplyStatus::kBusy:
    case ReplyStatus::kRetry:
      return EAGAIN;
    case ReplyStatus::kBadRequest:
      return EINVAL;
    case ReplyStatus::kAuth:
      return EPERM;
    case ReplyStatus::kInternal:
      return EIO;
  }
  return EIO;
}

}  // namespace seaweed::transport::ucx
