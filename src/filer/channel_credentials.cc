#include "filer/channel_credentials.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <netdb.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>

namespace seaweed::filer {
namespace {

// Certificates are re-read this often, so renewed files are picked up without a restart.
constexpr unsigned kCertificateRefreshSeconds = 600;

template <class T, void (*Free)(T*)>
struct OpenSslFree {
  void operator()(T* p) const { Free(p); }
};
using Bio = std::unique_ptr<BIO, OpenSslFree<BIO, BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, OpenSslFree<X509, X509_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, OpenSslFree<EVP_PKEY, EVP_PKEY_free>>;
using SslCtx = std::unique_ptr<SSL_CTX, OpenSslFree<SSL_CTX, SSL_CTX_free>>;
using Ssl = std::unique_ptr<SSL, OpenSslFree<SSL, SSL_free>>;

Result<std::string> read_pem(const std::string& what, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno != 0 ? errno : EIO;
    return make_error(err, "security config: " + what + " " + path + ": " + std::strerror(err));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().find("-----BEGIN ") == std::string::npos)
    return make_error(EINVAL, "security config: " + what + " " + path + " holds no PEM data");
  return text.str();
}

Bio memory_bio(const std::string& pem) { return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))); }

// The key must belong to the certificate, or every handshake fails later with a vague error.
Status check_pair(const SecurityConfig& c, const std::string& cert_pem, const std::string& key_pem) {
  X509Ptr cert(PEM_read_bio_X509(memory_bio(cert_pem).get(), nullptr, nullptr, nullptr));
  if (!cert)
    return make_error(EINVAL, "security config: [grpc.client] cert " + c.grpc_client_cert + " is no certificate");
  KeyPtr key(PEM_read_bio_PrivateKey(memory_bio(key_pem).get(), nullptr, nullptr, nullptr));
  if (!key) return make_error(EINVAL, "security config: [grpc.client] key " + c.grpc_client_key + " is no private key");
  if (X509_check_private_key(cert.get(), key.get()) != 1)
    return make_error(EINVAL, "security config: [grpc.client] key " + c.grpc_client_key + " does not belong to cert " +
                                  c.grpc_client_cert);
  return {};
}

}  // namespace

Result<std::shared_ptr<grpc::ChannelCredentials>> filer_channel_credentials(const SecurityConfig& config) {
  if (!config.grpc_tls()) return std::shared_ptr<grpc::ChannelCredentials>();
  auto ca = read_pem("[grpc] ca", config.grpc_ca);
  if (!ca.ok()) return ca.error();
  auto cert = read_pem("[grpc.client] cert", config.grpc_client_cert);
  if (!cert.ok()) return cert.error();
  auto key = read_pem("[grpc.client] key", config.grpc_client_key);
  if (!key.ok()) return key.error();
  if (auto s = check_pair(config, *cert, *key); !s) return s.error();

  namespace gx = grpc::experimental;
  auto provider = std::make_shared<gx::FileWatcherCertificateProvider>(config.grpc_client_key, config.grpc_client_cert,
                                                                       config.grpc_ca, kCertificateRefreshSeconds);
  gx::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(provider);
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_verify_server_certs(true);  // the chain up to [grpc] ca is checked...
  options.set_check_call_host(false);     // ...the host name is not (as weed does)
  options.set_certificate_verifier(std::make_shared<gx::NoOpCertificateVerifier>());
  auto credentials = gx::TlsCredentials(options);
  if (!credentials) return make_error(EINVAL, "security config: gRPC TLS credentials could not be created");
  return credentials;
}

PortSpeaks probe_tls(const std::string& host, uint16_t port, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 || found == nullptr)
    return PortSpeaks::kNothing;
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, ::freeaddrinfo);
  const int fd = ::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, found->ai_protocol);
  if (fd < 0) return PortSpeaks::kNothing;
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);  // also bounds connect()
  if (::connect(fd, found->ai_addr, found->ai_addrlen) != 0) return PortSpeaks::kNothing;

  // A plain server closes the connection on us: keep the resulting SIGPIPE from the process.
  struct SigpipeBlock {
    sigset_t pipe{}, old{};
    SigpipeBlock() {
      sigemptyset(&pipe);
      sigaddset(&pipe, SIGPIPE);
      pthread_sigmask(SIG_BLOCK, &pipe, &old);
    }
    ~SigpipeBlock() {
      const timespec zero{};
      while (sigtimedwait(&pipe, nullptr, &zero) > 0) {
      }
      pthread_sigmask(SIG_SETMASK, &old, nullptr);
    }
  } sigpipe_block;
  SslCtx ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return PortSpeaks::kNothing;
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  Ssl ssl(SSL_new(ctx.get()));
  if (!ssl || SSL_set_fd(ssl.get(), fd) != 1) return PortSpeaks::kNothing;
  const int rc = SSL_connect(ssl.get());
  // A TLS server has sent its certificate by the time it asks for ours (or refuses our lack of
  // one); a plain gRPC server closes the connection on the unexpected bytes.
  const bool tls = rc == 1 || SSL_get0_peer_certificate(ssl.get()) != nullptr;
  return tls ? PortSpeaks::kTls : PortSpeaks::kPlain;
}

}  // namespace seaweed::filer
