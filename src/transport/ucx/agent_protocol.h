// Wire protocol between the mount (AgentVolumeReader) and seaweed-rdma-agent, carried in UCX
// active messages. Both headers are fixed-size, little-endian and versioned. A request is the AM
// header of an AM with no payload; the reply's AM header is a ReplyHeader and its payload is the
// needle data (or, for a non-OK status, a short error text). Version 2 (this one) adds the
// ALLOW_DELETED request flag, the CORRUPT status, one NOT_FOUND for a missing needle and a wrong
// cookie, and the read token; a peer speaking another version gets BAD_REQUEST / EPROTO.
//
//   Request (64 bytes + token)           Reply (64 bytes)
//    0 u32 magic 'SWRQ'                   0 u32 magic 'SWRP'
//    4 u16 version (2)                    4 u16 version (2)
//    6 u16 op                             6 u16 status
//    8 u64 request_id                     8 u64 request_id
//   16 u32 volume_id                     16 u32 needle_flags (the needle's flag byte)
//   20 u32 cookie                        20 u32 crc32c of the whole stored data: the raw CRC-32C
//   24 u64 needle_id                            when CRC_VERIFIED, else the value stored on disk
//   32 u64 offset                        24 u64 needle_data_size (stored bytes, < 2^32)
//   40 u64 length (0 = to the end)       32 u64 data_offset (of the payload in the stored data)
//   48 u32 flags                         40 u64 data_length (payload bytes)
//   52 u32 token_length                  48 u32 reply_flags
//   56 u64 reserved (0)                  52 u32 reserved (0)
//   64 token: the volume server's        56 u64 reserved (0)
//      read JWT for this fid (READ and
//      STAT, when the agent has a key)
//
// Semantics the client relies on (src/agent/README.md "Wire protocol"):
//  * NOT_FOUND: absent, deleted without ALLOW_DELETED, TTL expired, or the cookie does not match;
//    the error text is the same for all of them.
//  * CORRUPT: the record on disk fails its CRC-32C or disagrees with the index; no bytes follow.
//  * OK with CRC_VERIFIED: the agent checked the whole stored data against its CRC before
//    sending any part of it (docs/seaweedfs/needle-integrity.md).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"

namespace seaweed::transport::ucx {

inline constexpr uint32_t kRequestMagic = 0x51525753;  // "SWRQ" in memory order
inline constexpr uint32_t kReplyMagic = 0x50525753;    // "SWRP"
inline constexpr uint16_t kProtocolVersion = 2;
inline constexpr unsigned kRequestAmId = 21;
inline constexpr unsigned kReplyAmId = 22;
inline constexpr size_t kRequestHeaderSize = 64;
inline constexpr size_t kReplyHeaderSize = 64;
inline constexpr size_t kMaxTokenLength = 4096;
inline constexpr uint64_t kMaxReadLength = uint64_t{1} << 30;
inline constexpr size_t kMaxErrorText = 512;
// Payloads at least this large go rendezvous (zero-copy from the agent's mapped .dat).
inline constexpr size_t kRendezvousThreshold = 64 * 1024;

enum class Op : uint16_t {
  kRead = 1,  // needle bytes [offset, offset+length)
  kPing = 2,  // liveness; payload = agent info JSON
  kStat = 3,  // needle metadata only (no payload)
};

// Request flags.
inline constexpr uint32_t kRequestWhole = 1u << 0;  // ignore offset/length: send all stored bytes
// A caller is blocked on this reply (not readahead): the agent keeps polling for the next request
// a while longer, since the caller's next request usually follows within microseconds.
inline constexpr uint32_t kRequestWaited = 1u << 1;
// The caller reads an open file whose snapshot an overwrite or delete superseded (HTTP
// readDeleted=true): only then may the agent serve a needle marked deleted.
inline constexpr uint32_t kRequestAllowDeleted = 1u << 2;
inline constexpr uint32_t kKnownRequestFlags = kRequestWhole | kRequestWaited | kRequestAllowDeleted;

// Reply flags.
inline constexpr uint32_t kReplyDeleted = 1u << 0;      // served a deleted needle (readDeleted)
inline constexpr uint32_t kReplyCrcVerified = 1u << 1;  // the agent checked crc32c against the data
inline constexpr uint32_t kReplyWhole = 1u << 2;        // payload is the whole stored data
inline constexpr uint32_t kKnownReplyFlags = kReplyDeleted | kReplyCrcVerified | kReplyWhole;

// Needle flag bits as found in needle_flags.
inline constexpr uint32_t kNeedleCompressed = 0x01;  // stored data is gzip

enum class ReplyStatus : uint16_t {
  kOk = 0,
  kNotFound = 1,  // absent, deleted, expired, or wrong cookie (indistinguishable on purpose)
  // 2 was COOKIE_MISMATCH in version 1; never sent since.
  kVolumeNotHere = 3,
  kBadRequest = 4,
  kBusy = 5,
  kAuth = 6,  // read token missing, malformed, expired, for another fid, or badly signed
  kInternal = 7,
  kRetry = 8,
  kCorrupt = 9,  // stored data fails its CRC-32C, or the record is inconsistent with the index
};
inline constexpr uint16_t kMaxReplyStatus = 9;
inline constexpr uint32_t kMaxNeedleDataSize = UINT32_MAX;  // DataSize is a u32 on disk

struct Request {
  Op op = Op::kRead;
  uint64_t request_id = 0;
  uint32_t volume_id = 0;
  uint32_t cookie = 0;
  uint64_t needle_id = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
  uint32_t flags = 0;
  std::string_view token;  // points into the decoded buffer

  bool operator==(const Request&) const = default;
};

struct Reply {
  ReplyStatus status = ReplyStatus::kOk;
  uint64_t request_id = 0;
  uint32_t needle_flags = 0;
  uint32_t crc32c = 0;
  uint64_t needle_data_size = 0;
  uint64_t data_offset = 0;
  uint64_t data_length = 0;
  uint32_t reply_flags = 0;

  bool operator==(const Reply&) const = default;
};

// Encodes the fixed header followed by the token. `out` must hold request_wire_size(r).
size_t request_wire_size(const Request& r);
void encode_request(const Request& r, std::span<uint8_t> out);
std::array<uint8_t, kReplyHeaderSize> encode_reply(const Reply& r);

// Strict decoders: every field is checked (size, magic, version, op/status, unknown flag bits,
// reserved words, ranges). EPROTO errors say what is wrong.
Result<Request> decode_request(std::span<const uint8_t> bytes);
Result<Reply> decode_reply(std::span<const uint8_t> bytes);

// The request id of a message too broken to decode, so the BAD_REQUEST reply can still be
// matched by the client. 0 when even that is missing.
uint64_t peek_request_id(std::span<const uint8_t> bytes);

const char* status_name(ReplyStatus s);
// errno of a volume-store error -> reply status (ENOENT and EACCES (cookie) NOT_FOUND, ENXIO
// VOLUME_NOT_HERE, EAGAIN RETRY, EBUSY BUSY, EINVAL BAD_REQUEST, EPERM AUTH, EBADMSG CORRUPT,
// else INTERNAL).
ReplyStatus status_from_errno(int code);
// reply status -> errno for the client, the table of transport/volume_reader.h:
// NOT_FOUND/VOLUME_NOT_HERE ENOENT, CORRUPT EBADMSG, AUTH EPERM, BUSY/RETRY EAGAIN,
// BAD_REQUEST EINVAL, INTERNAL EIO.
int errno_from_status(ReplyStatus s);

}  // namespace seaweed::transport::ucx
