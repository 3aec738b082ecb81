#include "common/security_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace seaweed {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class SecurityConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "security_config_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    fs::create_directories(root_ / "first");
    fs::create_directories(root_ / "second");
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string write(const std::string& rel, const std::string& text) {
    fs::path p = root_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }
  std::vector<std::string> dirs() const { return {(root_ / "first").string(), (root_ / "second").string()}; }
  Result<SecurityConfig> load(const std::string& explicit_path = "") {
    return load_security_config(explicit_path, dirs(), [this](const char* name) -> const char* {
      auto it = env_.find(name);
      return it == env_.end() ? nullptr : it->second.c_str();
    });
  }

  fs::path root_;
  std::map<std::string, std::string> env_;
};

constexpr const char* kFull = R"(
# like weed scaffold -config=security
[jwt.signing]
key = "write-key"

[jwt.signing.read]
key = "read-key"
expires_after_seconds = 30

[grpc]
ca = "/pki/ca.crt"

[grpc.filer]
cert = "/pki/filer.crt"
key = "/pki/filer.key"

[grpc.client]
cert = "/pki/client.crt"
key = "/pki/client.key"
)";

TEST_F(SecurityConfigTest, NothingFoundGivesDefaultsAndNoSource) {
  auto cfg = load();
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->source, "");
  EXPECT_EQ(cfg->jwt_read_key, "");
  EXPECT_EQ(cfg->jwt_read_expires_sec, 10);
  EXPECT_FALSE(cfg->grpc_tls());
  EXPECT_FALSE(cfg->grpc_tls_partial());
  EXPECT_THAT(cfg->env_overrides, IsEmpty());
}

TEST_F(SecurityConfigTest, ReadsTheKeysWeedReads) {
  std::string path = write("first/security.toml", kFull);
  auto cfg = load();
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->source, path);
  EXPECT_EQ(cfg->jwt_read_key, "read-key");
  EXPECT_EQ(cfg->jwt_read_expires_sec, 30);
  EXPECT_EQ(cfg->grpc_ca, "/pki/ca.crt");
  EXPECT_EQ(cfg->grpc_client_cert, "/pki/client.crt");
  EXPECT_EQ(cfg->grpc_client_key, "/pki/client.key");
  EXPECT_TRUE(cfg->grpc_tls());
}

TEST_F(SecurityConfigTest, FirstDirectoryOnTheSearchPathWins) {
  write("first/security.toml", "[jwt.signing.read]\nkey = \"from-first\"\n");
  write("second/security.toml", "[jwt.signing.read]\nkey = \"from-second\"\n");
  auto cfg = load();
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->jwt_read_key, "from-first");
}

TEST_F(SecurityConfigTest, LaterDirectoryIsSearchedWhenEarlierHasNone) {
  std::string path = write("second/security.toml", "[jwt.signing.read]\nkey = \"from-second\"\n");
  auto cfg = load();
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->jwt_read_key, "from-second");
  EXPECT_EQ(cfg->source, path);
}

TEST_F(SecurityConfigTest, ExplicitFileWinsOverTheSearchPath) {
  write("first/security.toml", "[jwt.signing.read]\nkey = \"searched\"\n");
  std::string path = write("elsewhere/cluster-a.toml", "[jwt.signing.read]\nkey = \"explicit\"\n");
  auto cfg = load(path);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->jwt_read_key, "explicit");
  EXPECT_EQ(cfg->source, path);
}

TEST_F(SecurityConfigTest, ExplicitFileMustExist) {
  std::string path = (root_ / "missing.toml").string();
  auto cfg = load(path);
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.error().code, ENOENT);
  EXPECT_THAT(cfg.error().message, HasSubstr(path));
}

TEST_F(SecurityConfigTest, ExplicitDirectoryIsRefused) {
  auto cfg = load((root_ / "first").string());
  ASSERT_FALSE(cfg.ok());
  EXPECT_THAT(cfg.error().message, HasSubstr("not a regular file"));
}

TEST_F(SecurityConfigTest, EnvironmentWinsOverTheFile) {
  write("first/security.toml", kFull);
  env_["WEED_JWT_SIGNING_READ_KEY"] = "env-key";
  env_["WEED_JWT_SIGNING_READ_EXPIRES_AFTER_SECONDS"] = "5";
  env_["WEED_GRPC_CLIENT_CERT"] = "/env/client.crt";
  env_["WEED_GRPC_CA"] = "";  // empty counts as unset
  auto cfg = load();
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->jwt_read_key, "env-key");
  EXPECT_EQ(cfg->jwt_read_expires_sec, 5);
  EXPECT_EQ(cfg->grpc_client_cert, "/env/client.crt");
  EXPECT_EQ(cfg->grpc_ca, "/pki/ca.crt");
  EXPECT_THAT(cfg->env_overrides, ElementsAre("WEED_JWT_SIGNING_READ_KEY", "WEED_GRPC_CLIENT_CERT",
                                              "WEED_JWT_SIGNING_READ_EXPIRES_AFTER_SECONDS"));
}

TEST_F(SecurityConfigTest, EnvironmentAloneIsASource) {
  env_["WEED_JWT_SIGNING_READ_KEY"] = "env-key";
  auto cfg = load();
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->source, "environment");
  EXPECT_EQ(cfg->jwt_read_key, "env-key");
}

TEST_F(SecurityConfigTest, BadIntegerInTheEnvironmentIsAnError) {
  env_["WEED_JWT_SIGNING_READ_EXPIRES_AFTER_SECONDS"] = "ten";
  auto cfg = load();
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.error().code, EINVAL);
  EXPECT_THAT(cfg.error().message, HasSubstr("WEED_JWT_SIGNING_READ_EXPIRES_AFTER_SECONDS=ten"));
}

TEST_F(SecurityConfigTest, MalformedFileNamesFileAndLine) {
  std::string path = write("first/security.toml", "[jwt.signing.read]\nkey = \"unterminated\n[grpc]\n");
  auto cfg = load();
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.error().code, EINVAL);
  EXPECT_THAT(cfg.error().message, HasSubstr(path + ":2:"));
  EXPECT_EQ(cfg.error().message.find('\n'), std::string::npos) << cfg.error().message;
}

TEST_F(SecurityConfigTest, WrongTypeNamesFileLineAndKey) {
  std::string path = write("first/security.toml", "[grpc]\nca = \"/ca\"\n[jwt.signing.read]\nkey = [1, 2]\n");
  auto cfg = load();
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.error().code, EINVAL);
  EXPECT_THAT(cfg.error().message, HasSubstr(path + ":4"));
  EXPECT_THAT(cfg.error().message, HasSubstr("[jwt.signing.read] key must be a string"));
}

TEST_F(SecurityConfigTest, IntegerKeyIsTakenAsText) {
  write("first/security.toml", "[jwt.signing.read]\nkey = 12345\nexpires_after_seconds = \"20\"\n");
  auto cfg = load();
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->jwt_read_key, "12345");
  EXPECT_EQ(cfg->jwt_read_expires_sec, 20);
}

TEST_F(SecurityConfigTest, ZeroExpiryMeansTheDefaultAndNegativeIsRefused) {
  write("first/security.toml", "[jwt.signing.read]\nkey = \"k\"\nexpires_after_seconds = 0\n");
  auto cfg = load();
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->jwt_read_expires_sec, 10);

  write("first/security.toml", "[jwt.signing.read]\nkey = \"k\"\nexpires_after_seconds = -1\n");
  cfg = load();
  ASSERT_FALSE(cfg.ok());
  EXPECT_THAT(cfg.error().message, HasSubstr("must not be negative"));
}

TEST_F(SecurityConfigTest, KeysAreCaseInsensitiveAndDottedKeysWork) {
  write("first/security.toml", "JWT.Signing.Read.Key = \"dotted\"\n[GRPC]\nCA = \"/ca\"\n");
  auto cfg = load();
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->jwt_read_key, "dotted");
  EXPECT_EQ(cfg->grpc_ca, "/ca");
}

TEST_F(SecurityConfigTest, RelativeCertificatePathsAreRelativeToTheFile) {
  write("first/security.toml", "[grpc]\nca = \"pki/ca.crt\"\n[grpc.client]\ncert = \"c.crt\"\nkey = \"/abs/c.key\"\n");
  auto cfg = load();
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->grpc_ca, (root_ / "first/pki/ca.crt").string());
  EXPECT_EQ(cfg->grpc_client_cert, (root_ / "first/c.crt").string());
  EXPECT_EQ(cfg->grpc_client_key, "/abs/c.key");
}

TEST_F(SecurityConfigTest, DedicatedClientCertificateWinsWhenComplete) {
  write("first/security.toml",
        "[grpc]\nca = \"/ca\"\n[grpc.client]\ncert = \"/c.crt\"\nkey = \"/c.key\"\n"
        "client_cert = \"/cc.crt\"\nclient_key = \"/cc.key\"\n");
  auto cfg = load();
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->grpc_client_cert, "/cc.crt");
  EXPECT_EQ(cfg->grpc_client_key, "/cc.key");

  write("first/security.toml",
        "[grpc]\nca = \"/ca\"\n[grpc.client]\ncert = \"/c.crt\"\nkey = \"/c.key\"\nclient_cert = \"/cc.crt\"\n");
  cfg = load();
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->grpc_client_cert, "/c.crt");  // half a pair is ignored
}

TEST_F(SecurityConfigTest, PartialTlsSettingsAreReported) {
  write("first/security.toml", "[grpc]\nca = \"/ca\"\n");
  auto cfg = load();
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_FALSE(cfg->grpc_tls());
  EXPECT_TRUE(cfg->grpc_tls_partial());
}

TEST_F(SecurityConfigTest, UnreadableFileIsAnError) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads mode-000 files";
  std::string path = write("first/security.toml", kFull);
  fs::permissions(path, fs::perms::none);
  auto cfg = load();
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.error().code, EACCES);
  EXPECT_THAT(cfg.error().message, HasSubstr(path));
}

TEST(SecurityConfigSearchDirs, FollowsWeed) {
  auto dirs = security_config_search_dirs();
  ASSERT_GE(dirs.size(), 3u);
  EXPECT_EQ(dirs.front(), ".");
  EXPECT_EQ(dirs[dirs.size() - 2], "/usr/local/etc/seaweedfs");
  EXPECT_EQ(dirs.back(), "/etc/seaweedfs");
}

}  // namespace
}  // namespace seaweed
