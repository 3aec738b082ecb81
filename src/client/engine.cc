#include "client/engine.h"

#include <condition_variable>
#include <cstdlib>
#include <map>
#include <optional>

#include "reader/file_reader.h"
#include "transport/ucx/agent_client.h"

namespace seaweed::client {
namespace {

// The variable's value times scale, or fallback (already in bytes) when unset or not a number.
size_t env_size(const char* name, size_t fallback, size_t scale = 1) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const unsigned long long n = std::strtoull(v, &end, 10);
  if (end == v || *end != '\0') return fallback;
  return static_cast<size_t>(n) * scale;
}

std::mutex& engine_mutex() {
  static std::mutex mu;
  return mu;
}
// Never destroyed: at exit or in a forked child, other threads (or none) may still hold parts
// of it; the OS takes it back.
Engine* g_engine = nullptr;
std::atomic<uint64_t> g_generation{0};

}  // namespace

EngineOptions EngineOptions::from_environment() {
  EngineOptions o;
  o.cache_bytes = env_size("SEAWEED_RDMA_CACHE_MB", o.cache_bytes, 1u << 20);
  o.prefetch_threads = std::max<size_t>(1, env_size("SEAWEED_RDMA_PREFETCH_THREADS", o.prefetch_threads));
  o.prefetch_bytes = env_size("SEAWEED_RDMA_PREFETCH_MB", o.prefetch_bytes, 1u << 20);
  o.window_blocks = env_size("SEAWEED_RDMA_WINDOW", o.window_blocks);
  return o;
}

Engine& Engine::get(const LayoutSnapshot& first) {
  std::lock_guard lock(engine_mutex());
  if (g_engine == nullptr) {
    auto made = std::make_unique<Engine>(first, EngineOptions::from_environment());
    g_engine = made.release();  // process lifetime, see above
  }
  return *g_engine;
}

uint64_t Engine::generation() { return g_generation.load(std::memory_order_acquire); }

void Engine::abandon_after_fork() {
  // Only the forking thread exists here; the mutex may have been held by another parent thread.
  new (&engine_mutex()) std::mutex;  // NOLINT: re-initialised in place, the old state is meaningless
  g_engine = nullptr;                // the parent's engine is left as it is
  g_generation.fetch_add(1, std::memory_order_acq_rel);
}

Engine::Engine(const LayoutSnapshot& first, EngineOptions options)
    : options_(options),
      rdma_enabled_(first.has(LayoutSnapshot::kRdmaEnabled)),
      rdma_timeout_ms_(first.rdma_timeout_ms ? first.rdma_timeout_ms : 5000),
      peer_error_handling_(first.has(LayoutSnapshot::kPeerErrorHandling)),
      tokens_required_(first.has(LayoutSnapshot::kTokensRequired)),
      http_([&] {
        transport::HttpOptions h;
        if (first.http_timeout_ms) h.request_timeout_ms = first.http_timeout_ms;
        if (tokens_required_) h.read_tokens = [this](const std::string& fid) { return tokens_.token_for(fid); };
        return h;
      }()),
      fallback_(
          http_, [this](const std::string& server) { return agent_for(server); },
          [&] {
            transport::FallbackOptions f;
            f.fallback = first.has(LayoutSnapshot::kFallback);
            return f;
          }()),
      locations_([this](const std::vector<uint32_t>& ids) { return lookup(ids); }, std::chrono::hours(24)),
      cache_(options.cache_bytes),
      fetcher_(fallback_, locations_, cache_),
      pool_(options.prefetch_threads, options.prefetch_bytes) {}

std::shared_ptr<transport::VolumeReader> Engine::agent_for(const std::string& volume_server) {
  if (!rdma_enabled_) return nullptr;
  {
    std::shared_lock lock(mu_);
    auto it = agent_of_server_.find(volume_server);
    if (it == agent_of_server_.end() || it->second.empty()) return nullptr;
    auto reader = agents_.find(it->second);
    if (reader != agents_.end()) return reader->second;
  }
  std::unique_lock lock(mu_);
  auto it = agent_of_server_.find(volume_server);
  if (it == agent_of_server_.end() || it->second.empty()) return nullptr;
  auto& reader = agents_[it->second];
  if (!reader) {
    transport::ucx::AgentClientOptions o;
    o.timeout_ms = static_cast<int>(rdma_timeout_ms_);
    o.peer_error_handling = peer_error_handling_;
    if (tokens_required_) o.read_tokens = [this](const std::string& fid) { return tokens_.token_for(fid); };
    reader = std::make_shared<transport::ucx::AgentVolumeReader>(it->second, o);
  }
  return reader;
}

Result<std::map<uint32_t, std::vector<std::string>>> Engine::lookup(const std::vector<uint32_t>& volume_ids) {
  std::map<uint32_t, std::vector<std::string>> found;
  std::shared_lock lock(mu_);
  for (uint32_t vid : volume_ids) {
    auto it = volumes_.find(vid);
    if (it != volumes_.end()) found[vid] = it->second;
  }
  return found;
}

Result<std::unique_ptr<SnapshotReader>> Engine::open(const LayoutSnapshot& snapshot, int fd) {
  if (snapshot.has(LayoutSnapshot::kTokensRequired) && !tokens_required_)
    return make_error(EPERM, "the cluster requires read tokens, the process's first snapshot did not");
  auto layout = chunks::FileLayout::build(snapshot.chunks, snapshot.file_size);
  if (!layout.ok()) return layout.error();
  {
    std::unique_lock lock(mu_);
    for (const auto& v : snapshot.volumes) {
      std::vector<std::string> urls;
      for (const auto& r : v.replicas) {
        urls.push_back(r.url);
        agent_of_server_[r.url] = r.agent;
      }
      volumes_[v.volume_id] = std::move(urls);
    }
  }
  for (const auto& v : snapshot.volumes) locations_.invalidate(v.volume_id);  // newest replicas from now on
  auto reader =
      std::make_unique<SnapshotReader>(std::make_shared<const chunks::FileLayout>(std::move(layout.value())), *this);
  if (snapshot.has(LayoutSnapshot::kTokensRequired)) {
    for (const auto& c : snapshot.chunks) reader->token_fids_.push_back(c.file_id);
    reader->token_fd_ = fd;
    tokens_.add_source(fd, reader->token_fids_);
  }
  return reader;
}

SnapshotReader::SnapshotReader(std::shared_ptr<const chunks::FileLayout> layout, Engine& engine)
    : layout_(std::move(layout)),
      engine_(engine),
      stream_(std::make_unique<reader::StreamReader>(layout_, engine.fetcher(), &engine.pool(),
                                                     engine.options().window_blocks)) {}

SnapshotReader::~SnapshotReader() {
  stream_.reset();  // its readahead may still ask for tokens
  if (token_fd_ >= 0) engine_.tokens().remove_source(token_fd_, token_fids_);
}

Result<size_t> SnapshotReader::pread(uint64_t offset, std::span<char> dst) {
  const uint64_t size = layout_->size();
  if (offset >= size || dst.empty()) return size_t{0};
  const size_t len = static_cast<size_t>(std::min<uint64_t>(dst.size(), size - offset));
  if (len < kParallelThreshold) return stream_->read(offset, dst.first(len));
  return parallel_read(offset, dst.first(len));
}

Result<size_t> SnapshotReader::parallel_read(uint64_t offset, std::span<char> dst) {
  // Pieces end on kPiece boundaries of the file, so they line up with the readahead's blocks
  // and, for the usual 1/4 MiB chunk sizes, with chunks.
  std::vector<std::pair<uint64_t, std::span<char>>> pieces;
  for (size_t done = 0; done < dst.size();) {
    const uint64_t at = offset + done;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(dst.size() - done, kPiece - at % kPiece));
    pieces.emplace_back(at, dst.subspan(done, n));
    done += n;
  }
  std::mutex mu;
  std::condition_variable cv;
  size_t pending = pieces.size() - 1;
  std::optional<Error> failed;
  auto run = [&](size_t i) {
    auto n = reader::read_file(*layout_, engine_.fetcher(), pieces[i].first, pieces[i].second);
    std::optional<Error> error;
    if (!n.ok())
      error = n.error();
    else if (*n != pieces[i].second.size())
      error = make_error(EIO, "short read inside the snapshot's size");
    std::lock_guard lock(mu);
    if (error && !failed) failed = error->context("at " + std::to_string(pieces[i].first));
  };
  for (size_t i = 1; i < pieces.size(); ++i) {
    engine_.pool().submit([&, i] {
      run(i);
      std::lock_guard lock(mu);
      if (--pending == 0) cv.notify_one();
    });
  }
  run(0);
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return pending == 0; });  // the jobs use this frame: wait for every one
  if (failed) return *failed;
  return dst.size();
}

}  // namespace seaweed::client
