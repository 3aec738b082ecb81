#include "reader/chunk_fetcher.h"

#include <cstring>

#include "codec/codec.h"

namespace seaweed::reader {

Result<transport::NeedleLocator> ChunkFetcher::locate(const std::string& file_id, bool allow_deleted) {
  auto fid = FileId::parse(file_id);
  if (!fid.ok()) return fid.error();
  auto urls = locations_.find(fid->volume_id);
  if (!urls.ok()) return urls.error().context("chunk " + file_id);
  transport::NeedleLocator loc{*fid, file_id, std::move(urls.value())};
  loc.allow_deleted = allow_deleted;
  return loc;
}

template <class T, class Op>
Result<T> ChunkFetcher::with_locations(const std::string& file_id, bool allow_deleted, Op&& op) {
  auto loc = locate(file_id, allow_deleted);
  if (!loc.ok()) return loc.error();
  Result<T> first = op(*loc);
  if (first.ok()) return first;
  locations_.invalidate(loc->fid.volume_id);
  auto fresh = locate(file_id, allow_deleted);
  if (!fresh.ok() || fresh->urls == loc->urls) return first;
  return op(*fresh);
}

Status ChunkFetcher::read_view(const chunks::ChunkView& view, std::span<char> dst, bool allow_deleted) {
  if (view.is_hole) {
    std::memset(dst.data(), 0, dst.size());
    return {};
  }
  if (view.needs_whole_chunk()) {
    auto whole = whole_chunk(view.file_id, view.cipher_key, view.is_compressed, allow_deleted);
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
  auto got = with_locations<size_t>(view.file_id, allow_deleted, [&](const transport::NeedleLocator& loc) {
    return transport_.read_range(loc, view.offset_in_chunk, dst);
  });
  if (!got.ok()) return got.error();
  std::memset(dst.data() + *got, 0, dst.size() - *got);
  return {};
}

Result<ChunkCache::Bytes> ChunkFetcher::whole_chunk(const std::string& file_id, const std::string& cipher_key,
                                                    bool is_compressed, bool allow_deleted) {
  if (auto hit = cache_.get(file_id)) return hit;
  auto stored = with_locations<transport::StoredNeedle>(
      file_id, allow_deleted, [&](const transport::NeedleLocator& loc) { return transport_.read_whole(loc); });
  if (!stored.ok()) return stored.error();
  std::string data = std::move(stored->data);
  if (!cipher_key.empty()) {
    auto clear = codec::aes256gcm_open(cipher_key, data);
    if (!clear.ok()) return clear.error().context("decrypt chunk " + file_id);
    data = std::move(clear.value());
  }
  if ((stored->gzipped || is_compressed) && codec::is_gzip(data)) {
    auto inflated = codec::gunzip(data);
    if (!inflated.ok()) return inflated.error().context("gunzip chunk " + file_id);
    data = std::move(inflated.value());
  }
  auto bytes = std::make_shared<const std::string>(std::move(data));
  if (!allow_deleted) cache_.put(file_id, bytes);
  return bytes;
}

}  // namespace seaweed::reader
