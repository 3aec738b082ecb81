// Writes the seed corpora of tests/fuzz/corpus/<target>/ with the project's own encoders and the
// test builders, so the seeds are real-looking and reproducible:
//   build/bin/fuzz_make_seeds tests/fuzz/corpus
// Each file is one input for LLVMFuzzerTestOneInput of that target (see the target's header
// comment for how it splits the input).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "codec/codec.h"
#include "common/file_id.h"
#include "filer.pb.h"
#include "transport/http/jwt.h"
#include "transport/ucx/agent_protocol.h"
#include "volume/idx.h"
#include "volume/volume_builder.h"

namespace fs = std::filesystem;
using namespace seaweed;
using volume::testing::NeedleSpec;
using volume::testing::VolumeBuilder;

namespace {

fs::path root;

void write(const std::string& target, const std::string& name, const std::string& bytes) {
  const fs::path dir = root / target;
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}
void write(const std::string& target, const std::string& name, const std::vector<uint8_t>& bytes) {
  write(target, name, std::string(bytes.begin(), bytes.end()));
}
std::string with_prefix(std::initializer_list<uint8_t> prefix, const std::string& rest) {
  return std::string(prefix.begin(), prefix.end()) + rest;
}
std::string pattern(size_t n, unsigned seed = 1) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed * 7) % 251);
  return s;
}

void agent_protocol() {
  using namespace transport::ucx;
  Request read{Op::kRead, 1, 7, 0xdeadbeef, 0x1234, 4096, 1 << 20, kRequestWaited, {}};
  Request whole{Op::kRead, 2, 3, 0x01637037, 0x01, 0, 0, kRequestWhole, {}};
  Request ping{Op::kPing, 3, 0, 0, 0, 0, 0, 0, {}};
  Request stat{Op::kStat, 4, 12, 0x11223344, 0xabcdef, 0, 0, 0, {}};
  Request token = read;
  token.token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJmaWQiOiI3LDEyMzRkZWFkYmVlZiJ9.c2lnbmF0dXJl";
  int i = 0;
  for (const Request& r : {read, whole, ping, stat, token}) {
    std::vector<uint8_t> b(request_wire_size(r));
    encode_request(r, b);
    write("agent_request", "request-" + std::to_string(i++), b);
  }
  i = 0;
  for (const Reply& r :
       {Reply{ReplyStatus::kOk, 1, 0, 0x1badcafe, 1 << 20, 4096, 65536, kReplyCrcVerified},
        Reply{ReplyStatus::kOk, 2, 1, 0x12345678, 300, 0, 300, kReplyWhole | kReplyCrcVerified},
        Reply{ReplyStatus::kOk, 3, 0, 0, 0, 0, 0, kReplyDeleted}, Reply{ReplyStatus::kNotFound, 4, 0, 0, 0, 0, 24, 0},
        Reply{ReplyStatus::kCorrupt, 5, 0, 0, 0, 0, 0, 0}, Reply{ReplyStatus::kAuth, 6, 0, 0, 0, 0, 0, 0}}) {
    const auto b = encode_reply(r);
    write("agent_reply", "reply-" + std::to_string(i++), std::vector<uint8_t>(b.begin(), b.end()));
  }
}

void volume_formats() {
  for (int version = 1; version <= 3; ++version) {
    NeedleSpec plain;
    plain.data = pattern(100, version);
    NeedleSpec full = plain;
    full.flags = volume::kFlagHasName | volume::kFlagHasMime | volume::kFlagHasLastModified | volume::kFlagHasTtl |
                 volume::kFlagHasPairs;
    full.mime = "application/octet-stream";
    full.ttl_count = 3;
    full.ttl_unit = 'd';
    full.pairs = R"({"Seaweed-x":"y"})";
    NeedleSpec gz = plain;
    gz.flags |= volume::kFlagCompressed;
    gz.data = *codec::gzip(pattern(3000, version));
    NeedleSpec legacy = plain;
    legacy.legacy_crc = true;
    NeedleSpec empty;
    empty.flags = 0;
    NeedleSpec tombstone;
    tombstone.tombstone = true;
    const std::vector<std::pair<std::string, NeedleSpec>> specs = {{"plain", plain}, {"all-fields", full},
                                                                   {"gzip", gz},     {"legacy-crc", legacy},
                                                                   {"empty", empty}, {"tombstone", tombstone}};
    for (const auto& [name, spec] : specs) {
      const auto record = volume::testing::encode_needle(spec, version);
      write("needle", "v" + std::to_string(version) + "-" + name,
            with_prefix({static_cast<uint8_t>(version - 1)}, std::string(record.begin(), record.end())));
    }
  }

  for (int width : {4, 5}) {
    VolumeBuilder v(3, width);
    for (uint64_t key = 1; key <= 6; ++key) {
      NeedleSpec s;
      s.key = key;
      s.data = pattern(50 * key, static_cast<unsigned>(key));
      v.put(s);
    }
    v.remove(2, 0x11223344);
    NeedleSpec overwrite;
    overwrite.key = 3;
    overwrite.data = "new";
    v.put(overwrite);
    v.remove(99, 0);  // unknown key
    v.add_row(7, 0, 0);
    const uint8_t selector = width == 5 ? 1 : 0;
    write("idx", "rows-width" + std::to_string(width),
          with_prefix({selector}, std::string(v.idx.begin(), v.idx.end())));
    // A partial trailing row, as a crash mid-append leaves it.
    write("idx", "partial-width" + std::to_string(width),
          with_prefix({selector}, std::string(v.idx.begin(), v.idx.end() - 5)));
  }

  for (int version = 1; version <= 3; ++version) {
    VolumeBuilder v(version, 4, static_cast<uint16_t>(version * 2));
    write("superblock", "v" + std::to_string(version), v.dat);
  }
  std::vector<uint8_t> extra = VolumeBuilder(3).dat;
  extra[7] = 6;  // a 6-byte SuperBlockExtra follows
  extra.insert(extra.end(), {0x0a, 0x04, 0x08, 0x01, 0x10, 0x02});
  write("superblock", "v3-extra", extra);
  extra.resize(10);  // the extra section cut short
  write("superblock", "v3-extra-truncated", extra);

  // .vif files as weed writes them (protojson: 64-bit numbers as strings).
  write("volume_info", "plain", R"({"version":3,"bytesOffset":4})");
  write("volume_info", "large-disk", R"({
  "version": 3,
  "bytesOffset": 5,
  "replication": "001",
  "datFileSize": "1048576"
})");
  write("volume_info", "remote",
        R"({"files":[{"backendType":"s3","backendId":"default","key":"1.dat",)"
        R"("offset":"0","fileSize":"8388608","modifiedTime":"1700000000"}],)"
        R"("version":3,"readOnly":true,"bytesOffset":4})");
  write("volume_info", "empty-object", "{}");
  write("volume_info", "string-numbers", R"({"version":"3","bytesOffset":"5","readOnly":false})");
}

void file_ids() {
  const std::vector<std::string> ids = {"3,01637037d6",          "7,1234deadbeef",       "1,ffffffffffffffff00000000",
                                        "4294967295,0100000001", "12,0abcdef0123456789", "5,ABCDEF0123",
                                        "0,0100000000",          "3,01637037d6_1"};
  for (size_t i = 0; i < ids.size(); ++i) write("file_id", "fid-" + std::to_string(i), ids[i]);
}

void manifests() {
  // A byte choosing the number of blobs (1 + b % 4), then all blobs but the last behind a u16
  // big-endian length, then the last one; needle key K is served blob K % count.
  auto blobs = [](const std::vector<std::string>& parts) {
    std::string out(1, static_cast<char>(parts.size() - 1));
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      out.push_back(static_cast<char>(parts[i].size() >> 8));
      out.push_back(static_cast<char>(parts[i].size()));
      out += parts[i];
    }
    return out + parts.back();
  };
  auto add = [](filer_pb::FileChunkManifest& m, const std::string& fid, int64_t offset, uint64_t size, int64_t ts) {
    auto* c = m.add_chunks();
    c->set_file_id(fid);
    c->set_offset(offset);
    c->set_size(size);
    c->set_modified_ts_ns(ts);
    return c;
  };
  filer_pb::FileChunkManifest plain;
  for (int i = 0; i < 8; ++i)
    add(plain, FileId{7, static_cast<uint64_t>(0x100 + i), 0x1badcafe}.to_string(), i * 4096, 4096, 1000 + i);
  write("manifest", "eight-chunks", blobs({plain.SerializeAsString()}));

  filer_pb::FileChunkManifest mixed;
  add(mixed, "3,01637037d6", 0, 1 << 20, 5);
  add(mixed, "3,02637037d6", 512 << 10, 1 << 20, 6)->set_is_compressed(true);
  add(mixed, "3,03637037d6", 100, 50, 7)->set_cipher_key(std::string(32, 'k'));
  auto* fid_only = mixed.add_chunks();  // manifests written by the filer carry fid, not file_id
  fid_only->set_offset(2 << 20);
  fid_only->set_size(65536);
  fid_only->mutable_fid()->set_volume_id(9);
  fid_only->mutable_fid()->set_file_key(0x42);
  fid_only->mutable_fid()->set_cookie(0xcafef00d);
  write("manifest", "mixed", blobs({mixed.SerializeAsString()}));

  // Blob 0 holds two manifests of blob 1 and a data chunk; blob 1 holds the data.
  filer_pb::FileChunkManifest outer;
  add(outer, "4,0504030201", 0, 1 << 20, 1)->set_is_chunk_manifest(true);
  add(outer, "4,0904030201", 1 << 20, 1 << 20, 1)->set_is_chunk_manifest(true);
  add(outer, "4,0604030201", 10, 20, 2);
  filer_pb::FileChunkManifest inner;
  for (int i = 0; i < 4; ++i) add(inner, "5,1" + std::to_string(i) + "04030201", i * 65536, 65536, 3);
  write("manifest", "nested", blobs({outer.SerializeAsString(), inner.SerializeAsString()}));
  write("manifest", "self-nested", blobs({outer.SerializeAsString()}));
  write("manifest", "empty", blobs({""}));
}

void codecs() {
  // gunzip: u16 output limit (big-endian), then the gzip stream.
  const std::string text = pattern(5000);
  write("gunzip", "text", with_prefix({0xff, 0xff}, *codec::gzip(text)));
  write("gunzip", "over-limit", with_prefix({0x01, 0x00}, *codec::gzip(text)));
  write("gunzip", "empty", with_prefix({0x00, 0x10}, *codec::gzip("")));
  write("gunzip", "two-members", with_prefix({0xff, 0xff}, *codec::gzip("first ") + *codec::gzip("second")));
  write("gunzip", "zeros", with_prefix({0x40, 0x00}, *codec::gzip(std::string(100000, '\0'))));
  // aes_gcm: key byte (the key is 32 copies of it), flip position, then nonce || ciphertext || tag.
  for (uint8_t key_byte : {0x01, 0x6b}) {
    const std::string key(32, static_cast<char>(key_byte));
    write("aes_gcm", "sealed-" + std::to_string(key_byte),
          with_prefix({key_byte, 7}, *codec::aes256gcm_seal(key, text)));
  }
  write("aes_gcm", "sealed-empty", with_prefix({0x01, 0}, *codec::aes256gcm_seal(std::string(32, '\x01'), "")));
  write("aes_gcm", "short-key", with_prefix({0xf1, 3}, pattern(64)));
}

void response_heads() {
  write("response_head", "range",
        "HTTP/1.1 206 Partial Content\r\nAccept-Ranges: bytes\r\nContent-Disposition: inline; "
        "filename=\"f.bin\"\r\nContent-Length: 4096\r\nContent-Range: bytes 8192-12287/1048576\r\nContent-Type: "
        "application/octet-stream\r\nEtag: \"1badcafe\"\r\nLast-Modified: Sat, 25 Nov 2026 16:00:00 GMT\r\nDate: "
        "Sat, 25 Nov 2026 16:00:01 GMT\r\n\r\n");
  write("response_head", "gzip",
        "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 311\r\nEtag: \"12345678\"\r\n\r\n");
  write("response_head", "redirect",
        "HTTP/1.1 301 Moved Permanently\r\nLocation: http://127.0.0.1:8081/3,01637037d6\r\nContent-Length: "
        "0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
  write("response_head", "continue", "HTTP/1.1 100 Continue\r\n\r\nHTTP/2 404\r\ncontent-length: 0\r\n\r\n");
  write("response_head", "unsatisfiable",
        "HTTP/1.1 416 Requested Range Not Satisfiable\r\nContent-Range: bytes */1000\r\n\r\n");
}

void queries() {
  // Query strings as the agent's sidecar receives them (after the '?').
  const std::vector<std::string> queries = {"fid=3,01637037d6&offset=0&size=4096",
                                            "volume=3&needle=1&cookie=637037d6&offset=100&size=10",
                                            "fid=3%2C01637037d6&jwt=eyJhbGciOiJIUzI1NiJ9.eyJmaWQiOiIzLDAxIn0.c2ln",
                                            "a=%41%42+c&&b&=x&a=2", "%zz=1&name=%E2%9C%93&empty="};
  for (size_t i = 0; i < queries.size(); ++i) write("query", "query-" + std::to_string(i), queries[i]);
}

void visible_intervals() {
  // count, size mode, u16 attribute size, then per chunk: mode (low 2 bits: offset/256, bits 2-4:
  // timestamp), offset byte, size byte; 0xe0+ modes: u64 offset, size and timestamp.
  write("visible_intervals", "overlaps",
        std::string("\x04\x00\x00\x00"
                    "\x00\x00\x64"
                    "\x04\x32\x64"
                    "\x08\x10\x08"
                    "\x00\x50\x7f",
                    16));
  write("visible_intervals", "ties-and-gaps",
        std::string("\x05\x00\x02\x00"
                    "\x0c\x00\x40"
                    "\x0c\x20\x40"
                    "\x01\x00\x10"
                    "\x0c\x90\x10"
                    "\x00\x90\x00"
                    "\x00\x10\x00\x20",
                    23));
  std::string extreme("\x02\x01\x00\x10", 4);
  extreme += std::string(
      "\xe0\x7f\xff\xff\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00\xff\x00\x00\x00\x00\x00"
      "\x00\x00\x01",
      25);
  extreme += std::string("\x04\x10\x20", 3);
  write("visible_intervals", "extreme", extreme);
}

// read_jwt: mode byte 0 then a token (tests/fuzz/read_jwt_fuzz.cc: key, fid and "now" as there);
// mode byte 1 then fid text, exp and a byte change for a minted token. base64url: raw bytes and
// encodings.
void read_jwts() {
  using transport::http::base64url_encode;
  using transport::http::mint_read_jwt;
  const std::string key = "fuzz-read-signing-key", fid = "3,01637037d6";
  const int64_t now = 1'700'000'000;
  auto hostile = [](const std::string& token) { return with_prefix({0}, token); };
  write("read_jwt", "valid", hostile(mint_read_jwt(key, fid, now + 60).value()));
  write("read_jwt", "expired", hostile(mint_read_jwt(key, fid, now - 1).value()));
  write("read_jwt", "other-fid", hostile(mint_read_jwt(key, "3,01637037d7", now + 60).value()));
  write("read_jwt", "other-key", hostile(mint_read_jwt("another key", fid, now + 60).value()));
  const std::string b64_payload = base64url_encode(R"({"exp":1700000060,"fid":"3,01637037d6","nbf":1})");
  write("read_jwt", "alg-none", hostile(base64url_encode(R"({"alg":"none"})") + "." + b64_payload + "."));
  write("read_jwt", "alg-hs384",
        hostile(base64url_encode(R"({"typ":"JWT","alg":"HS384"})") + "." + b64_payload + "." + std::string(64, 'A')));
  write("read_jwt", "two-parts", hostile("eyJhbGciOiJIUzI1NiJ9.e30"));
  auto mint_case = [](const std::string& fid_text, int64_t exp) {
    std::string input(1, '\1');
    input += static_cast<char>(fid_text.size());
    input += fid_text;
    for (int i = 7; i >= 0; --i) input += static_cast<char>((static_cast<uint64_t>(exp) >> (8 * i)) & 0xff);
    return input + std::string("\x00\x10\x01", 3);
  };
  write("read_jwt", "mint-valid", mint_case("?,01637037d6", now + 10));
  write("read_jwt", "mint-expired", mint_case("7,1234deadbeef", now));
  write("read_jwt", "mint-quotes", mint_case(R"(3,"\x)", now + 1));
  write("read_jwt", "mint-far-future", mint_case("1,01", INT64_MAX));

  write("base64url", "empty", "");
  write("base64url", "one-byte", std::string("\xfb", 1));
  write("base64url", "two-bytes", std::string("\xff\xfe", 2));
  write("base64url", "header", base64url_encode(R"({"alg":"HS256","typ":"JWT"})"));
  write("base64url", "url-safe-chars", "-_-_AA");
  write("base64url", "stray-bits", "QR");
  write("base64url", "token", mint_read_jwt(key, fid, now).value());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR (tests/fuzz/corpus)\n", argv[0]);
    return 2;
  }
  root = argv[1];
  agent_protocol();
  volume_formats();
  file_ids();
  manifests();
  codecs();
  response_heads();
  queries();
  visible_intervals();
  read_jwts();
  std::printf("seeds written under %s\n", root.c_str());
  return 0;
}
