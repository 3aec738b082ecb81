#include "agent/volume_files.h"

#include <dirent.h>
#include <sys/stat.h>

#include <charconv>
#include <cstring>
#include <memory>

namespace seaweed::agent {

std::optional<std::pair<std::string, uint32_t>> parse_dat_name(std::string_view name) {
  constexpr std::string_view kExt = ".dat";
  if (name.size() <= kExt.size() || name.substr(name.size() - kExt.size()) != kExt) return std::nullopt;
  std::string_view stem = name.substr(0, name.size() - kExt.size());
  std::string collection;
  if (const auto us = stem.rfind('_'); us != std::string_view::npos) {
    collection = std::string(stem.substr(0, us));
    stem = stem.substr(us + 1);
    if (collection.empty()) return std::nullopt;
  }
  if (stem.empty() || stem.size() > 10) return std::nullopt;
  uint64_t vid = 0;
  auto [p, ec] = std::from_chars(stem.data(), stem.data() + stem.size(), vid);
  if (ec != std::errc() || p != stem.data() + stem.size() || vid == 0 || vid > UINT32_MAX) return std::nullopt;
  return std::make_pair(std::move(collection), static_cast<uint32_t>(vid));
}

std::vector<VolumeFiles> scan_volume_dirs(const std::vector<std::string>& dirs, std::vector<std::string>* errors) {
  std::vector<VolumeFiles> out;
  for (const auto& dir : dirs) {
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
    if (!d) {
      if (errors) errors->push_back("cannot list " + dir + ": " + std::strerror(errno));
      continue;
    }
    while (const dirent* e = ::readdir(d.get())) {
      auto parsed = parse_dat_name(e->d_name);
      if (!parsed) continue;
      VolumeFiles f;
      f.volume_id = parsed->second;
      f.collection = parsed->first;
      f.base = dir + "/" + std::string(e->d_name, std::strlen(e->d_name) - 4);
      struct stat st {};
      if (::stat(f.idx_path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;  // not (yet) a local volume
      if (::stat(f.dat_path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      out.push_back(std::move(f));
    }
  }
  return out;
}

std::optional<FileIdentity> identity_of_path(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileIdentity{st.st_dev, st.st_ino};
}

}  // namespace seaweed::agent
