#include "common/security_config.h"

#include <sys/stat.h>
#include <toml++/toml.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>

namespace seaweed {
namespace {

constexpr const char* kFileName = "security.toml";

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// weed's keys are case-insensitive (its config library lower-cases them): "jwt.signing.read.key"
// finds [JWT.Signing.Read] Key too.
const toml::node* find_key(const toml::table& root, std::string_view dotted) {
  const toml::table* table = &root;
  const toml::node* found = nullptr;
  while (!dotted.empty()) {
    if (table == nullptr) return nullptr;
    size_t dot = dotted.find('.');
    std::string_view part = dotted.substr(0, dot);
    dotted = dot == std::string_view::npos ? std::string_view{} : dotted.substr(dot + 1);
    found = nullptr;
    for (const auto& [k, v] : *table) {
      if (iequals(k.str(), part)) {
        found = &v;
        break;
      }
    }
    if (found == nullptr) return nullptr;
    table = found->as_table();
  }
  return found;
}

std::string where(const std::string& file, const toml::node& node) {
  const toml::source_region& src = node.source();
  return file + ":" + std::to_string(src.begin.line);
}

// The key's section and name as security.toml spells them, for messages: "[grpc.client] cert".
std::string spelled(std::string_view dotted) {
  size_t dot = dotted.rfind('.');
  return "[" + std::string(dotted.substr(0, dot)) + "] " + std::string(dotted.substr(dot + 1));
}

// A string value (integers are taken as their decimal text, as weed does); absent: nullopt.
Result<std::optional<std::string>> file_string(const toml::table& root, const std::string& file,
                                               std::string_view dotted) {
  const toml::node* node = find_key(root, dotted);
  if (node == nullptr) return std::optional<std::string>{};
  if (auto s = node->as_string()) return std::optional<std::string>{s->get()};
  if (auto i = node->as_integer()) return std::optional<std::string>{std::to_string(i->get())};
  return make_error(EINVAL, "security config " + where(file, *node) + ": " + spelled(dotted) + " must be a string");
}

Result<std::optional<int64_t>> parse_int(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size()) return make_error(EINVAL, "not an integer");
  return std::optional<int64_t>{v};
}

Result<std::optional<int64_t>> file_int(const toml::table& root, const std::string& file, std::string_view dotted) {
  const toml::node* node = find_key(root, dotted);
  if (node == nullptr) return std::optional<int64_t>{};
  if (auto i = node->as_integer()) return std::optional<int64_t>{i->get()};
  if (auto s = node->as_string()) {
    auto parsed = parse_int(s->get());
    if (parsed.ok()) return parsed;
  }
  return make_error(EINVAL, "security config " + where(file, *node) + ": " + spelled(dotted) + " must be an integer");
}

// WEED_ + the key upper-cased with '.' -> '_'.
std::string env_name(std::string_view dotted) {
  std::string name = "WEED_";
  for (char c : dotted) {
    if (c == '.')
      name += '_';
    else if (c >= 'a' && c <= 'z')
      name += static_cast<char>(c - 'a' + 'A');
    else
      name += c;
  }
  return name;
}

bool is_regular_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno != 0 ? errno : EIO;
    return make_error(err, "security config " + path + ": " + std::strerror(err));
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return make_error(EIO, "security config " + path + ": read failed");
  return buf.str();
}

// A certificate path relative to the file's folder; absolute paths stay.
std::string resolve_against(const std::string& file, const std::string& value) {
  if (value.empty() || value.front() == '/') return value;
  return (std::filesystem::path(file).parent_path() / value).lexically_normal().string();
}

struct StringKey {
  const char* dotted;
  std::string SecurityConfig::*field;
  bool is_path;
};

// [grpc.client] client_cert/client_key win over cert/key when both are set (weed's rule: a CA
// may issue separate client and server certificates).
constexpr const char* kClientCert = "grpc.client.client_cert";
constexpr const char* kClientKey = "grpc.client.client_key";

}  // namespace

std::vector<std::string> security_config_search_dirs() {
  std::vector<std::string> dirs{"."};
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
    dirs.push_back(std::string(home) + "/.seaweedfs");
  dirs.emplace_back("/usr/local/etc/seaweedfs");
  dirs.emplace_back("/etc/seaweedfs");
  return dirs;
}

Result<SecurityConfig> load_security_config(const std::string& explicit_path) {
  return load_security_config(explicit_path, security_config_search_dirs(),
                              [](const char* name) { return std::getenv(name); });
}

Result<SecurityConfig> load_security_config(const std::string& explicit_path,
                                            const std::vector<std::string>& search_dirs, const GetEnv& getenv) {
  SecurityConfig cfg;
  std::string file;
  if (!explicit_path.empty()) {
    if (!is_regular_file(explicit_path)) {
      struct stat st {};
      int err = ::stat(explicit_path.c_str(), &st) == 0 ? EINVAL : errno;
      return make_error(err, "security config " + explicit_path + ": " +
                                 (err == EINVAL ? std::string("not a regular file") : std::strerror(err)));
    }
    file = explicit_path;
  } else {
    for (const std::string& dir : search_dirs) {
      std::string candidate = dir + "/" + kFileName;
      if (is_regular_file(candidate)) {
        file = candidate;
        break;
      }
    }
  }

  const StringKey keys[] = {
      {"jwt.signing.read.key", &SecurityConfig::jwt_read_key, false},
      {"grpc.ca", &SecurityConfig::grpc_ca, true},
      {"grpc.client.cert", &SecurityConfig::grpc_client_cert, true},
      {"grpc.client.key", &SecurityConfig::grpc_client_key, true},
  };
  std::optional<std::string> client_cert, client_key;
  const char* expires_key = "jwt.signing.read.expires_after_seconds";
  std::optional<int64_t> expires;

  if (!file.empty()) {
    std::error_code ec;
    std::filesystem::path abs = std::filesystem::absolute(file, ec);
    if (!ec) file = abs.lexically_normal().string();
    auto text = read_file(file);
    if (!text) return text.error();
    toml::table root;
    try {
      root = toml::parse(*text, file);
    } catch (const toml::parse_error& e) {
      const toml::source_position& pos = e.source().begin;
      return make_error(EINVAL, "security config " + file + ":" + std::to_string(pos.line) + ":" +
                                    std::to_string(pos.column) + ": " + std::string(e.description()));
    }
    for (const StringKey& k : keys) {
      auto v = file_string(root, file, k.dotted);
      if (!v) return v.error();
      if (*v) cfg.*k.field = k.is_path ? resolve_against(file, **v) : **v;
    }
    auto cc = file_string(root, file, kClientCert);
    if (!cc) return cc.error();
    auto ck = file_string(root, file, kClientKey);
    if (!ck) return ck.error();
    if (*cc) client_cert = resolve_against(file, **cc);
    if (*ck) client_key = resolve_against(file, **ck);
    auto e = file_int(root, file, expires_key);
    if (!e) return e.error();
    expires = *e;
    cfg.source = file;
  }

  // The environment wins over the file; an empty variable counts as unset (as in weed).
  auto from_env = [&](const char* dotted) -> const char* {
    std::string name = env_name(dotted);
    const char* v = getenv(name.c_str());
    if (v == nullptr || *v == '\0') return nullptr;
    cfg.env_overrides.push_back(name);
    return v;
  };
  for (const StringKey& k : keys)
    if (const char* v = from_env(k.dotted)) cfg.*k.field = v;
  if (const char* v = from_env(kClientCert)) client_cert = v;
  if (const char* v = from_env(kClientKey)) client_key = v;
  if (const char* v = from_env(expires_key)) {
    auto parsed = parse_int(v);
    if (!parsed) return make_error(EINVAL, env_name(expires_key) + "=" + v + ": not an integer");
    expires = *parsed;
  }
  if (client_cert && client_key && !client_cert->empty() && !client_key->empty()) {
    cfg.grpc_client_cert = *client_cert;
    cfg.grpc_client_key = *client_key;
  }
  if (expires) {
    if (*expires < 0)
      return make_error(EINVAL, "security config " + (file.empty() ? env_name(expires_key) : file) + ": " +
                                    spelled(expires_key) + " must not be negative");
    if (*expires > 0) cfg.jwt_read_expires_sec = *expires;  // 0: the default
  }
  if (cfg.source.empty() && !cfg.env_overrides.empty()) cfg.source = "environment";
  return cfg;
}

}  // namespace seaweed
