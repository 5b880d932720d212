#include "runtime/node/certificates.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace llamps {

namespace {

namespace fs = std::filesystem;

template <class T, void (*Free)(T*)>
struct deleter {
  void operator()(T* p) const { Free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, deleter<X509, X509_free>>;
using store_ptr = std::unique_ptr<X509_STORE, deleter<X509_STORE, X509_STORE_free>>;
using store_ctx_ptr = std::unique_ptr<X509_STORE_CTX, deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;
using ext_ptr = std::unique_ptr<X509_EXTENSION, deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using bn_ptr = std::unique_ptr<BIGNUM, deleter<BIGNUM, BN_free>>;
void free_chain(STACK_OF(X509) * chain) { sk_X509_pop_free(chain, X509_free); }
using chain_ptr = std::unique_ptr<STACK_OF(X509), deleter<STACK_OF(X509), free_chain>>;
using file_ptr = std::unique_ptr<FILE, int (*)(FILE*)>;

// OpenSSL's error queue as one line (and emptied, so the next error starts clean).
std::string openssl_reason() {
  std::string out;
  while (auto code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    out += out.empty() ? "" : "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + " (" + openssl_reason() + ")");
}

file_ptr open_for_reading(const std::string& path, const char* what) {
  file_ptr f(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!f)
    throw std::runtime_error("cannot read " + std::string(what) + " '" + path + "': " + std::strerror(errno));
  return f;
}

// Creates `path` (never overwrites) with the given mode: private keys get 0600 from the
// start, not after a window in which another user could read them.
file_ptr create_file(const std::string& path, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0)
    throw std::runtime_error("cannot create '" + path + "': " + std::strerror(errno) +
                             (errno == EEXIST ? " (remove it first to replace it)" : ""));
  file_ptr f(::fdopen(fd, "wb"), std::fclose);
  if (!f) {
    ::close(fd);
    throw std::runtime_error("cannot open '" + path + "': " + std::strerror(errno));
  }
  return f;
}

pkey_ptr read_key(const std::string& path) {
  auto f = open_for_reading(path, "private key");
  pkey_ptr key(PEM_read_PrivateKey(f.get(), nullptr, nullptr, nullptr));
  if (!key)
    fail("'" + path + "' is not a PEM private key (or it is encrypted)");
  return key;
}

x509_ptr read_certificate(const std::string& path, const char* what) {
  auto f = open_for_reading(path, what);
  x509_ptr cert(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
  if (!cert)
    fail("'" + path + "' is not a PEM certificate");
  return cert;
}

void write_key(const EVP_PKEY* key, const std::string& path) {
  auto f = create_file(path, 0600);
  if (PEM_write_PrivateKey(f.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    fail("cannot write the key to '" + path + "'");
}

void write_certificate(X509* cert, const std::string& path) {
  auto f = create_file(path, 0644);
  if (PEM_write_X509(f.get(), cert) != 1)
    fail("cannot write the certificate to '" + path + "'");
}

pkey_ptr new_key() {
  pkey_ptr key(EVP_EC_gen("P-256"));
  if (!key)
    fail("cannot generate an EC P-256 key");
  return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ext_ptr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1)
    fail(std::string("cannot add the certificate extension ") + OBJ_nid2sn(nid));
}

// A certificate for `key` named CN=`name`, not yet signed. Valid from a few minutes ago
// (clocks of a cluster's machines differ a little) for `days`.
x509_ptr new_certificate(EVP_PKEY* key, const std::string& name, int days) {
  x509_ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1) // 2 = X.509 v3 (extensions)
    fail("cannot create a certificate");
  // A random 127-bit serial: unique without keeping a serial file next to the CA.
  bn_ptr serial(BN_new());
  if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())))
    fail("cannot make a serial number");
  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400L * days))
    fail("cannot set the validity period");
  auto subject = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0) != 1)
    fail("cannot set the common name '" + name + "'");
  if (X509_set_pubkey(cert.get(), key) != 1)
    fail("cannot set the public key");
  return cert;
}

void sign(X509* cert, X509* issuer, EVP_PKEY* issuer_key) {
  if (X509_set_issuer_name(cert, X509_get_subject_name(issuer)) != 1 ||
      X509_sign(cert, issuer_key, EVP_sha256()) == 0)
    fail("cannot sign the certificate");
}

void check_days(int days) {
  if (days < 1 || days > 36500)
    throw std::runtime_error("--days must be between 1 and 36500, not " + std::to_string(days));
}

void make_dir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    throw std::runtime_error("cannot create directory '" + dir + "': " + ec.message());
}

std::string join(const std::string& dir, const std::string& file) { return (fs::path(dir) / file).string(); }

void check_node_name(const std::string& node) {
  bool ok = !node.empty() && node.size() <= 64 && node[0] != '.' && node[0] != '-';
  for (char c : node)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == ':' || c == '-');
  if (!ok)
    throw std::runtime_error("node name '" + node +
                             "' must be 1-64 letters, digits, '.', '_', ':' or '-' "
                             "and not start with '.' or '-'");
}

} // namespace

ca_files create_ca(const std::string& dir, int days) {
  check_days(days);
  make_dir(dir);
  ca_files files{join(dir, "ca.key"), join(dir, "ca.crt")};
  if (fs::exists(files.key) || fs::exists(files.certificate))
    throw std::runtime_error("a CA already exists in '" + dir +
                             "'; a new one would orphan every certificate it issued");
  auto key = new_key();
  auto cert = new_certificate(key.get(), "llamps cluster CA", days);
  add_extension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  add_extension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  sign(cert.get(), cert.get(), key.get());
  write_key(key.get(), files.key);
  write_certificate(cert.get(), files.certificate);
  return files;
}

node_files issue_certificate(const std::string& ca_dir, const std::string& node, const std::string& out_dir,
                             int days) {
  check_days(days);
  check_node_name(node);
  auto ca_key = read_key(join(ca_dir, "ca.key"));
  auto ca_cert = read_certificate(join(ca_dir, "ca.crt"), "CA certificate");
  if (X509_check_private_key(ca_cert.get(), ca_key.get()) != 1)
    fail(join(ca_dir, "ca.key") + " does not belong to " + join(ca_dir, "ca.crt"));
  make_dir(out_dir);
  node_files files{join(out_dir, node + ".key"), join(out_dir, node + ".crt")};
  if (fs::exists(files.key) || fs::exists(files.certificate))
    throw std::runtime_error("'" + files.key + "' or '" + files.certificate +
                             "' exists already; remove both to issue a new certificate");
  auto key = new_key();
  auto cert = new_certificate(key.get(), node, days);
  add_extension(cert.get(), ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), ca_cert.get(), NID_key_usage, "critical,digitalSignature,keyAgreement");
  add_extension(cert.get(), ca_cert.get(), NID_ext_key_usage, "serverAuth,clientAuth");
  add_extension(cert.get(), ca_cert.get(), NID_subject_key_identifier, "hash");
  add_extension(cert.get(), ca_cert.get(), NID_authority_key_identifier, "keyid:always");
  sign(cert.get(), ca_cert.get(), ca_key.get());
  write_key(key.get(), files.key);
  write_certificate(cert.get(), files.certificate);
  return files;
}

std::optional<std::string> verify_certificate(const std::string& ca_file,
                                              const std::string& certificate_file) {
  auto ca = read_certificate(ca_file, "CA certificate");
  auto cert = read_certificate(certificate_file, "certificate");
  // Further certificates in the file are the chain a TLS peer would send with it (CAF loads
  // the file with SSL_CTX_use_certificate_chain_file): untrusted intermediates.
  chain_ptr chain(sk_X509_new_null());
  {
    auto f = open_for_reading(certificate_file, "certificate");
    x509_ptr leaf(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
    while (X509* next = PEM_read_X509(f.get(), nullptr, nullptr, nullptr))
      sk_X509_push(chain.get(), next);
    ERR_clear_error(); // the end of the file reads as an error
  }
  store_ptr store(X509_STORE_new());
  store_ctx_ptr ctx(X509_STORE_CTX_new());
  if (!store || !ctx || !chain || X509_STORE_add_cert(store.get(), ca.get()) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), chain.get()) != 1)
    fail("cannot set up certificate verification");
  if (X509_verify_cert(ctx.get()) == 1)
    return std::nullopt;
  return std::string(X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
}

std::string certificate_common_name(const std::string& certificate_file) {
  auto cert = read_certificate(certificate_file, "certificate");
  char name[256] = {0};
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, name, sizeof(name)) < 0)
    return "";
  return name;
}

void check_tls_files(const std::string& ca_file, const std::string& certificate_file,
                     const std::string& key_file) {
  if (ca_file.empty() || certificate_file.empty() || key_file.empty())
    throw std::runtime_error("TLS needs all three of --tls-ca, --tls-cert and --tls-key");
  auto key = read_key(key_file);
  auto cert = read_certificate(certificate_file, "certificate");
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    throw std::runtime_error("the key '" + key_file + "' does not belong to the certificate '" +
                             certificate_file + "'");
  }
  if (auto problem = verify_certificate(ca_file, certificate_file))
    throw std::runtime_error("the certificate '" + certificate_file + "' does not verify against the CA '" +
                             ca_file + "': " + *problem);
}

} // namespace llamps
