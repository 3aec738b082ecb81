#include "common/flags.h"

#include <charconv>
#include <fstream>
#include <sstream>

namespace seaweed {

namespace {

Status parse_bool(const std::string& name, const std::string& v, bool& out) {
  if (v == "true" || v == "1" || v == "t" || v == "T" || v == "TRUE" || v == "True")
    out = true;
  else if (v == "false" || v == "0" || v == "f" || v == "F" || v == "FALSE" || v == "False")
    out = false;
  else
    return make_error(EINVAL, "invalid boolean value \"" + v + "\" for flag -" + name);
  return {};
}

Status parse_int(const std::string& name, const std::string& v, int64_t& out) {
  int64_t parsed = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), parsed);
  if (ec != std::errc() || p != v.data() + v.size())
    return make_error(EINVAL, "invalid value \"" + v + "\" for flag -" + name + ": not an integer");
  out = parsed;
  return {};
}

}  // namespace

void FlagSet::add_string(const std::string& name, std::string* target, const std::string& help) {
  flags_[name] = Flag{help, *target, false, [target](const std::string& v) -> Status {
                        *target = v;
                        return {};
                      }};
}

void FlagSet::add_bool(const std::string& name, bool* target, const std::string& help) {
  flags_[name] = Flag{help, *target ? "true" : "false", true,
                      [target, name](const std::string& v) { return parse_bool(name, v, *target); }};
}

void FlagSet::add_int(const std::string& name, int64_t* target, const std::string& help) {
  flags_[name] = Flag{help, std::to_string(*target), false,
                      [target, name](const std::string& v) { return parse_int(name, v, *target); }};
}

void FlagSet::add_ignored(const std::string& name, Kind kind, const std::string& help) {
  flags_[name] = Flag{help, "", kind == Kind::kBool, [name, kind](const std::string& v) -> Status {
                        bool b = false;
                        int64_t i = 0;
                        if (kind == Kind::kBool) return parse_bool(name, v, b);
                        if (kind == Kind::kInt) return parse_int(name, v, i);
                        return {};
                      }};
}

Status FlagSet::assign(const std::string& name, const std::string* value, int& i, int argc, char** argv) {
  auto it = flags_.find(name);
  if (it == flags_.end()) return make_error(EINVAL, "flag provided but not defined: -" + name);
  mark_set(name);
  if (value) return it->second.assign(*value);
  if (it->second.is_bool) return it->second.assign("true");
  if (i + 1 >= argc) return make_error(EINVAL, "flag needs an argument: -" + name);
  return it->second.assign(argv[++i]);
}

void FlagSet::mark_set(const std::string& name) {
  if (set_.emplace(name, true).second) set_order_.push_back(name);
}

Status FlagSet::set(const std::string& name, const std::string& value) {
  int unused = 0;
  auto it = flags_.find(name);
  const bool bare = value.empty() && it != flags_.end() && it->second.is_bool;
  return assign(name, bare ? nullptr : &value, unused, 0, nullptr);
}

Status FlagSet::apply_mount_options(const std::string& list) {
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    const auto eq = item.find('=');
    const std::string name = item.substr(0, eq);
    const std::string value = eq == std::string::npos ? std::string() : item.substr(eq + 1);
    const std::string* value_ptr = eq == std::string::npos ? nullptr : &value;
    if (option_filter_) {
      auto consumed = option_filter_(name, value_ptr);
      if (!consumed.ok()) return consumed.error();
      if (*consumed) continue;
    }
    int unused = 0;
    if (auto s = assign(name, value_ptr, unused, 0, nullptr); !s) {
      if (!flags_.count(name)) return make_error(EINVAL, "mount option provided but not defined: " + name);
      return s;
    }
  }
  return {};
}

Status FlagSet::parse_options_file(const std::string& path, bool ignore_unknown) {
  std::ifstream in(path);
  if (!in) return make_error(ENOENT, "options file " + path + ": cannot be read");
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    line = line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
    if (line[0] == '#' || line.rfind("//", 0) == 0 || line.rfind("--", 0) == 0) continue;
    std::string name = line, value;
    if (const auto sep = line.find_first_of("= :"); sep != std::string::npos) {
      name = line.substr(0, sep);
      value = line.substr(sep + 1);
      const auto v = value.find_first_not_of(" \t");
      value = v == std::string::npos ? std::string() : value.substr(v);
      while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
    }
    while (!name.empty() && name.front() == '-') name.erase(0, 1);
    if (was_set(name)) continue;  // the command line wins
    if (!flags_.count(name)) {
      if (ignore_unknown) continue;
      return make_error(EINVAL, path + ":" + std::to_string(number) + ": flag provided but not defined: " + name);
    }
    if (auto s = set(name, value); !s) return s.error().context(path + ":" + std::to_string(number));
  }
  return {};
}

Status FlagSet::parse(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      for (++i; i < argc; ++i) positional_.emplace_back(argv[i]);
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      positional_.push_back(arg);
      continue;
    }
    std::string body = arg.substr(arg[1] == '-' ? 2 : 1);
    if (body == "h" || body == "help") {
      help_ = true;
      continue;
    }
    if (body == "o") {
      if (i + 1 >= argc) return make_error(EINVAL, "flag needs an argument: -o");
      if (auto s = apply_mount_options(argv[++i]); !s) return s;
      continue;
    }
    const auto eq = body.find('=');
    if (eq == std::string::npos) {
      if (auto s = assign(body, nullptr, i, argc, argv); !s) return s;
    } else {
      const std::string value = body.substr(eq + 1);
      if (auto s = assign(body.substr(0, eq), &value, i, argc, argv); !s) return s;
    }
  }
  return {};
}

std::string FlagSet::usage(const std::string& synopsis) const {
  std::ostringstream out;
  out << "Usage: " << program_ << " " << synopsis << "\n\nFlags:\n";
  for (const auto& [name, flag] : flags_) {
    out << "  -" << name << (flag.is_bool ? "" : "=value") << "\n        " << flag.help;
    if (!flag.default_text.empty()) out << " (default " << flag.default_text << ")";
    out << "\n";
  }
  return out.str();
}

}  // namespace seaweed
