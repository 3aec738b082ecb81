// Byte helpers shared by the codec tests.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace seaweed::codec::testing {

inline std::string from_hex(std::string_view hex) {
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return bytes;
}

inline std::string random_bytes(size_t size, uint32_t seed) {
  std::mt19937 engine(seed);
  std::string bytes(size, '\0');
  for (char& byte : bytes) byte = static_cast<char>(engine() & 0xff);
  return bytes;
}

// Compressible but not trivially so: words drawn from a small vocabulary.
inline std::string text_like_bytes(size_t size, uint32_t seed) {
  static constexpr std::string_view kWords[] = {"seaweed ", "volume ", "needle ", "chunk ", "filer ", "mount\n"};
  std::mt19937 engine(seed);
  std::string text;
  text.reserve(size + 16);
  while (text.size() < size) text += kWords[engine() % std::size(kWords)];
  text.resize(size);
  return text;
}

}  // namespace seaweed::codec::testing
