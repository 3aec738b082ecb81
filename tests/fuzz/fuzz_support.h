// Shared by the fuzz targets (tests/fuzz/*_fuzz.cc): a check that aborts (libFuzzer reports it
// as a crash, the replay test as a failure) and a reader that splits one input into fields.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#define FUZZ_CHECK(cond)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

namespace seaweed::fuzz {

// Takes fields from the front of the input; once it is used up every field reads as zero/empty.
class InputReader {
 public:
  InputReader(const uint8_t* data, size_t size) : rest_(data, size) {}

  [[nodiscard]] bool empty() const { return rest_.empty(); }
  [[nodiscard]] size_t remaining() const { return rest_.size(); }

  uint8_t byte() {
    if (rest_.empty()) return 0;
    const uint8_t b = rest_.front();
    rest_ = rest_.subspan(1);
    return b;
  }

  template <class T>
  T integer() {
    T v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>((v << 8) | static_cast<T>(byte()));
    return v;
  }

  // Up to n bytes (fewer at the end of the input).
  std::span<const uint8_t> bytes(size_t n) {
    const size_t take = std::min(n, rest_.size());
    auto out = rest_.first(take);
    rest_ = rest_.subspan(take);
    return out;
  }

  std::string text(size_t max_len) {
    auto b = bytes(byte() % (max_len + 1));
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
  }

  std::span<const uint8_t> rest() {
    auto out = rest_;
    rest_ = {};
    return out;
  }

 private:
  std::span<const uint8_t> rest_;
};

inline std::string_view as_text(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace seaweed::fuzz
