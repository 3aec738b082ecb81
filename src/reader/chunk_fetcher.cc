#include "reader/chunk_fetcher.h"

#include <cstring>

#include "codec/codec.h"

namespace seaweed::reader {
namespace {

constexpr uint64_t kAesGcmOverhead = 12 + 16;  // nonce + tag (codec::aes256gcm_open)
// Deflate's stored blocks grow incompressible data by 5 bytes per 64 KiB, plus gzip's header and
// trailer: a 1/1000 + 1 KiB slack covers it with room to spare.
uint64_t gzip_slack(uint64_t size) { return size / 1000 + 1024; }

}  // namespace

uint64_t max_stored_size(uint64_t clear_size, bool encrypted) {
  if (clear_size == 0) return 0;
  return clear_size + gzip_slack(clear_size) + (encrypted ? kAesGcmOverhead : 0);
}

Result<transport::NeedleLocator> ChunkFetcher::locate(const std::string& file_id, const Shape& shape) {
  auto fid = FileId::parse(file_id);
  if (!fid.ok()) return fid.error();
  auto urls = locations_.find(fid->volume_id);
  if (!urls.ok()) return urls.error().context("chunk " + file_id);
  transport::NeedleLocator loc{*fid, file_id, std::move(urls.value())};
  loc.allow_deleted = shape.allow_deleted;
  loc.clear_size = shape.clear_size;
  loc.max_stored_size = max_stored_size(shape.clear_size, shape.encrypted);
  return loc;
}

template <class T, class Op>
Result<T> ChunkFetcher::with_locations(const std::string& file_id, const Shape& shape, Op&& op) {
  auto loc = locate(file_id, shape);
  if (!loc.ok()) return loc.error();
  Result<T> first = op(*loc);
  if (first.ok()) return first;
  locations_.invalidate(loc->fid.volume_id);
  auto fresh = locate(file_id, shape);
  if (!fresh.ok() || fresh->urls == loc->urls) return first.error().context("chunk " + file_id);
  Result<T> second = op(*fresh);
  if (second.ok()) return second;
  return second.error().context("chunk " + file_id);
}

Status ChunkFetcher::read_view(const chunks::ChunkView& view, std::span<char> dst, bool allow_deleted) {
  if (view.is_hole) {
    std::memset(dst.data(), 0, dst.size());
    return {};
  }
  if (view.needs_whole_chunk()) {
    auto whole = whole_chunk(view.file_id, view.cipher_key, view.is_compressed, view.chunk_size, allow_deleted);
    if (!whole.ok()) return whole.error();
    const std::string& bytes = **whole;
    size_t copied = 0;
    if (view.offset_in_chunk < bytes.size()) {
      copied = std::min<size_t>(dst.size(), bytes.size() - view.offset_in_chunk);
      std::memcpy(dst.data(), bytes.data() + view.offset_in_chunk, copied);
    }
    std::memset(dst.data() + copied, 0, dst.size() - copied);  // chunk shorter than its view: zeros
    return {};
  }
  const Shape shape{view.chunk_size, false, allow_deleted};
  auto got = with_locations<size_t>(view.file_id, shape, [&](const transport::NeedleLocator& loc) {
    return transport_.read_range(loc, view.offset_in_chunk, dst);
  });
  if (!got.ok()) return got.error();
  std::memset(dst.data() + *got, 0, dst.size() - *got);
  return {};
}

Result<ChunkCache::Bytes> ChunkFetcher::whole_chunk(const std::string& file_id, const std::string& cipher_key,
                                                    bool is_compressed, uint64_t chunk_size, bool allow_deleted) {
  if (auto hit = cache_.get(file_id)) return hit;
  const Shape shape{chunk_size, !cipher_key.empty(), allow_deleted};
  auto stored = with_locations<transport::StoredNeedle>(
      file_id, shape, [&](const transport::NeedleLocator& loc) { return transport_.read_whole(loc); });
  if (!stored.ok()) return stored.error();
  std::string data = std::move(stored->data);
  if (!cipher_key.empty()) {
    auto clear = codec::aes256gcm_open(cipher_key, data);
    if (!clear.ok()) return clear.error().context("decrypt chunk " + file_id);
    data = std::move(clear.value());
  }
  if ((stored->gzipped || is_compressed) && codec::is_gzip(data)) {
    // A chunk never inflates past its size: a gzip bomb stops there.
    auto inflated = chunk_size != 0 ? codec::gunzip(data, static_cast<size_t>(chunk_size)) : codec::gunzip(data);
    if (!inflated.ok()) return inflated.error().context("gunzip chunk " + file_id);
    data = std::move(inflated.value());
  }
  auto bytes = std::make_shared<const std::string>(std::move(data));
  if (!allow_deleted) cache_.put(file_id, bytes);
  return bytes;
}

}  // namespace seaweed::reader
