#include "common/flags.h"

#include <charconv>
#include <sstream>

namespace seaweed {

void FlagSet::add_string(const std::string& name, std::string* target, const std::string& help) {
  flags_[name] = Flag{help, *target, false, [target](const std::string& v) -> Status {
                        *target = v;
                        return {};
                      }};
}

void FlagSet::add_bool(const std::string& name, bool* target, const std::string& help) {
  flags_[name] = Flag{help, *target ? "true" : "false", true, [target, name](const std::string& v) -> Status {
                        if (v == "true" || v == "1" || v == "t" || v == "T" || v == "TRUE" || v == "True")
                          *target = true;
                        else if (v == "false" || v == "0" || v == "f" || v == "F" || v == "FALSE" || v == "False")
                          *target = false;
                        else
                          return make_error(EINVAL, "invalid boolean value \"" + v + "\" for flag -" + name);
                        return {};
                      }};
}

void FlagSet::add_int(const std::string& name, int64_t* target, const std::string& help) {
  flags_[name] =
      Flag{help, std::to_string(*target), false, [target, name](const std::string& v) -> Status {
             int64_t parsed = 0;
             auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), parsed);
             if (ec != std::errc() || p != v.data() + v.size())
               return make_error(EINVAL, "invalid value \"" + v + "\" for flag -" + name + ": not an integer");
             *target = parsed;
             return {};
           }};
}

Status FlagSet::assign(const std::string& name, const std::string* value, int& i, int argc, char** argv) {
  auto it = flags_.find(name);
  if (it == flags_.end()) return make_error(EINVAL, "flag provided but not defined: -" + name);
  set_[name] = true;
  if (value) return it->second.assign(*value);
  if (it->second.is_bool) return it->second.assign("true");
  if (i + 1 >= argc) return make_error(EINVAL, "flag needs an argument: -" + name);
  return it->second.assign(argv[++i]);
}

Status FlagSet::apply_mount_options(const std::string& list) {
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    const auto eq = item.find('=');
    const std::string name = item.substr(0, eq);
    // suid/dev (and their no- forms) set the program's -suid/-dev flags when it has them.
    if (name == "suid" || name == "dev" || name == "nosuid" || name == "nodev") {
      const bool negated = name.rfind("no", 0) == 0;
      const std::string flag = negated ? name.substr(2) : name;
      if (auto f = flags_.find(flag); f != flags_.end()) {
        set_[flag] = true;
        if (auto s = f->second.assign(negated ? "false" : "true"); !s) return s;
      }
      continue;
    }
    // Generic mount(8) options that carry no meaning for us.
    if (name == "rw" || name == "ro" || name == "exec" || name == "noexec" || name == "auto" || name == "noauto" ||
        name == "user" || name == "nouser" || name == "_netdev" || name == "nofail" || name == "defaults" ||
        name.rfind("x-", 0) == 0) {
      if (name == "ro") {
        if (auto f = flags_.find("readOnly"); f != flags_.end()) {
          set_["readOnly"] = true;
          if (auto s = f->second.assign("true"); !s) return s;
        }
      }
      continue;
    }
    int dummy = 0;
    std::string value = eq == std::string::npos ? std::string() : item.substr(eq + 1);
    if (auto s = assign(name, eq == std::string::npos ? nullptr : &value, dummy, 0, nullptr); !s) return s;
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
