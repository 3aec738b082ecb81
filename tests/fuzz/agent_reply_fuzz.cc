// The mount's side of the wire protocol: decode_reply() on hostile bytes (an agent is not trusted
// to send sane headers). A reply that decodes must re-encode to the same bytes, and its data
// range must be one the client can act on without further checks.
#include <cstring>

#include "fuzz_support.h"
#include "transport/ucx/agent_protocol.h"

using namespace seaweed::transport::ucx;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  auto reply = decode_reply(bytes);
  if (!reply) {
    FUZZ_CHECK(reply.error().code == EPROTO);
    FUZZ_CHECK(!reply.error().message.empty());
    return 0;
  }
  if (reply->status == ReplyStatus::kOk) {
    FUZZ_CHECK(reply->data_offset <= reply->needle_data_size);
    FUZZ_CHECK(reply->data_length <= reply->needle_data_size - reply->data_offset);
  } else {
    FUZZ_CHECK(reply->data_length <= kMaxErrorText);
  }
  FUZZ_CHECK(std::string_view(status_name(reply->status)) != "UNKNOWN");
  (void)errno_from_status(reply->status);

  const auto encoded = encode_reply(*reply);
  FUZZ_CHECK(size == encoded.size());
  FUZZ_CHECK(std::memcmp(encoded.data(), data, size) == 0);
  auto again = decode_reply(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *reply);
  return 0;
}
