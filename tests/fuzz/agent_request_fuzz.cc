// The agent's side of the wire protocol: decode_request() on hostile bytes. A request that decodes
// must re-encode to the very same bytes (the decoder accepts nothing the encoder cannot produce).
#include <cstring>
#include <vector>

#include "fuzz_support.h"
#include "transport/ucx/agent_protocol.h"

using namespace seaweed::transport::ucx;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  const uint64_t peeked = peek_request_id(bytes);
  auto request = decode_request(bytes);
  if (!request) {
    FUZZ_CHECK(request.error().code == EPROTO);
    FUZZ_CHECK(!request.error().message.empty());
    return 0;
  }
  FUZZ_CHECK(peeked == request->request_id);
  FUZZ_CHECK(request->token.size() <= kMaxTokenLength);
  if (request->op == Op::kRead) FUZZ_CHECK(request->length <= kMaxReadLength);

  std::vector<uint8_t> encoded(request_wire_size(*request));
  encode_request(*request, encoded);
  FUZZ_CHECK(encoded.size() == size);
  FUZZ_CHECK(std::memcmp(encoded.data(), data, size) == 0);
  auto again = decode_request(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *request);
  return 0;
}
