#include "reader/file_reader.h"

#include "chunks/file_size.h"
#include "reader/entry_chunks.h"

namespace seaweed::reader {
namespace {
struct Expansion {
  std::vector<chunks::Chunk>& out;
  ChunkFetcher& fetcher;
  const ManifestLimits& limits;
  size_t manifests = 0;
};

Status expand(Expansion& e, std::vector<chunks::Chunk> in, int depth) {
  for (auto& c : in) {
    if (!c.is_manifest) {
      if (e.out.size() >= e.limits.max_chunks)
        return make_error(EIO, "manifests expand to more than " + std::to_string(e.limits.max_chunks) + " chunks");
      e.out.push_back(std::move(c));
      continue;
    }
    if (depth >= e.limits.max_depth)
      return make_error(EIO,
                        "manifest chunk " + c.file_id + " nests deeper than " + std::to_string(e.limits.max_depth));
    if (++e.manifests > e.limits.max_manifests)
      return make_error(EIO, "more than " + std::to_string(e.limits.max_manifests) + " manifest chunks");
    auto blob = e.fetcher.whole_chunk(c.file_id, c.cipher_key, c.is_compressed);
    if (!blob.ok()) return blob.error().context("manifest " + c.file_id);
    filer_pb::FileChunkManifest manifest;
    if (!manifest.ParseFromString(**blob))
      return make_error(EIO, "manifest " + c.file_id + " is not a FileChunkManifest");
    auto children = to_chunks(manifest.chunks());
    if (!children.ok()) return children.error().context("manifest " + c.file_id);
    if (auto s = expand(e, std::move(children.value()), depth + 1); !s) return s;
  }
  return {};
}
}  // namespace

Result<std::vector<chunks::Chunk>> resolve_manifests(std::vector<chunks::Chunk> in, ChunkFetcher& fetcher,
                                                     const ManifestLimits& limits) {
  std::vector<chunks::Chunk> out;
  out.reserve(in.size());
  Expansion e{out, fetcher, limits};
  if (auto s = expand(e, std::move(in), 0); !s) return s.error();
  return out;
}

Result<std::shared_ptr<const chunks::FileLayout>> build_layout(const filer_pb::Entry& entry, ChunkFetcher& fetcher,
                                                               const ManifestLimits& limits) {
  auto list = to_chunks(entry.chunks());
  if (!list.ok()) return list.error();
  // The size rule counts manifest chunks with their span, so apply it before expansion.
  const uint64_t size = chunks::file_size(entry.attributes().file_size(), *list);
  auto data = resolve_manifests(std::move(list.value()), fetcher, limits);
  if (!data.ok()) return data.error();
  auto layout = chunks::FileLayout::build(std::move(data.value()), size);
  if (!layout.ok()) return layout.error();
  return std::make_shared<const chunks::FileLayout>(std::move(layout.value()));
}

Result<size_t> read_file(const chunks::FileLayout& layout, ChunkFetcher& fetcher, uint64_t offset, std::span<char> dst,
                         bool allow_deleted) {
  size_t done = 0;
  for (const auto& view : layout.views(offset, dst.size())) {
    auto part = dst.subspan(view.file_offset - offset, view.length);
    if (auto s = fetcher.read_view(view, part, allow_deleted); !s) return s.error();
    done = view.file_offset - offset + view.length;
  }
  return done;
}

}  // namespace seaweed::reader
