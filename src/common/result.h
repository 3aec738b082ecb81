// Result<T>: a value or an Error that carries an errno and a message with context.
// Errors travel up to one place (the FUSE op or the tool's main) that logs them and maps
// them to errno; nothing below that point logs and swallows.
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace seaweed {

struct Error {
  int code = EIO;       // errno reported to the kernel / exit path
  std::string message;  // human readable, outermost context first

  // Returns a copy whose message is "context: message".
  [[nodiscard]] Error context(const std::string& ctx) const { return {code, ctx + ": " + message}; }
};

inline Error make_error(int code, std::string message) { return Error{code, std::move(message)}; }

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  [[nodiscard]] bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  [[nodiscard]] const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : err_(std::move(error)), ok_(false) {}  // NOLINT

  [[nodiscard]] bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  [[nodiscard]] const Error& error() const { return err_; }

 private:
  Error err_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace seaweed
