#include "client/mountinfo.h"

#include <sstream>

namespace seaweed::client {
namespace {

std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' && s[i + 2] <= '7' &&
        s[i + 3] >= '0' && s[i + 3] <= '7') {
      out.push_back(static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    const size_t start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

// Filer host:port without a ".grpcport" suffix.
std::string_view http_address(std::string_view filer) {
  const size_t colon = filer.rfind(':');
  const size_t dot = filer.find('.', colon == std::string_view::npos ? 0 : colon);
  return colon != std::string_view::npos && dot != std::string_view::npos ? filer.substr(0, dot) : filer;
}

bool covers(std::string_view root, std::string_view path) {
  if (root == "/" || root.empty()) return !path.empty() && path[0] == '/';
  return path == root || (path.size() > root.size() && path.substr(0, root.size()) == root && path[root.size()] == '/');
}

}  // namespace

std::vector<SeaweedMount> parse_seaweed_mounts(std::string_view text) {
  std::vector<SeaweedMount> mounts;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const auto f = fields(text.substr(pos, end - pos));
    pos = end + 1;
    // id parent dev root mountpoint options [optional...] - fstype source superoptions
    size_t dash = 6;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (f.size() < 5 || dash + 2 >= f.size()) continue;
    // fuse.seaweed-rdma-mount (src/fuse/session.cc); fuse.seaweedfs from builds before it.
    if (f[dash + 1] != "fuse.seaweed-rdma-mount" && f[dash + 1] != "fuse.seaweedfs") continue;
    // The source: "seaweedfs:FILER:PATH" when mounted by hand, else what mount(8) was given:
    // "FILER[,FILER...][:/PATH]". weed's fstab style (source "fuse", filer in the options) names
    // no filer and is skipped.
    std::string rest = unescape(f[dash + 2]);
    constexpr std::string_view kPrefix = "seaweedfs:";
    if (rest.rfind(kPrefix, 0) == 0) rest = rest.substr(kPrefix.size());
    if (rest.find(':') == std::string::npos) continue;  // no host:port in it
    size_t sep = rest.find(":/");                       // filer "host:port" has no '/', the path starts with one
    if (sep == std::string::npos) {
      rest += ":/";
      sep = rest.size() - 2;
    }
    mounts.push_back({unescape(f[4]), rest.substr(0, sep), rest.substr(sep + 1)});
  }
  return mounts;
}

namespace {

// One of a mount's filers ("a:8888,b:8888") is filer.
bool names_filer(std::string_view filers, std::string_view filer) {
  while (!filers.empty()) {
    const size_t comma = filers.find(',');
    if (http_address(filers.substr(0, comma)) == http_address(filer)) return true;
    if (comma == std::string_view::npos) break;
    filers.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

std::optional<std::string> local_path_of(const std::vector<SeaweedMount>& mounts, std::string_view filer,
                                         std::string_view filer_path) {
  const SeaweedMount* best = nullptr;
  for (const auto& m : mounts) {
    if (!filer.empty() && !names_filer(m.filer, filer)) continue;
    std::string_view root = m.filer_root;
    while (root.size() > 1 && root.back() == '/') root.remove_suffix(1);
    if (!covers(root, filer_path)) continue;
    if (best == nullptr || root.size() > best->filer_root.size()) best = &m;
  }
  if (best == nullptr) return std::nullopt;
  std::string_view root = best->filer_root;
  while (root.size() > 1 && root.back() == '/') root.remove_suffix(1);
  std::string_view rel = root == "/" ? filer_path : filer_path.substr(root.size());
  std::string local = best->mountpoint;
  if (!rel.empty() && rel != "/") {
    if (local.back() == '/') local.pop_back();
    local += rel;
  }
  return local;
}

}  // namespace seaweed::client
