#pragma once
// The cluster's certificate authority, made with OpenSSL's libcrypto: `llamps ca init` makes
// the CA, `llamps ca issue NODE` a node's key and certificate, and every TLS node checks its
// files here before CAF reads them (CAF 0.17 reads them only at the first connection, and a
// bad file then aborts the process from inside the network thread).
//
// Keys are ECDSA P-256. The CA certificate says CA:TRUE; node certificates say CA:FALSE, so a
// stolen node key cannot mint further node certificates. Every node is both a TLS client and
// a TLS server, so node certificates carry both extended key usages.
#include <optional>
#include <string>

namespace llamps {

struct ca_files {
  std::string key;         // DIR/ca.key (mode 0600)
  std::string certificate; // DIR/ca.crt: give it to every node and shell as --tls-ca
};
// Makes a new CA in `dir` (created if needed), valid for `days`. Refuses to overwrite an
// existing CA: that would orphan every certificate it issued. Throws std::runtime_error.
ca_files create_ca(const std::string& dir, int days);

struct node_files {
  std::string key;         // OUT/NODE.key (mode 0600)
  std::string certificate; // OUT/NODE.crt, CN=NODE, signed by the CA
};
// Issues a key and certificate for `node` with the CA in `ca_dir`, written to `out_dir`
// (created if needed). `node` must be a plain name: letters, digits, '.', '_', ':' or '-'
// (it becomes a file name). Refuses to overwrite existing files. Throws std::runtime_error.
node_files issue_certificate(const std::string& ca_dir, const std::string& node, const std::string& out_dir,
                             int days);

// Checks what a TLS node needs before CAF uses the files: each is readable PEM, the key
// belongs to the certificate, and the certificate is signed by the CA and valid now. Throws
// std::runtime_error with one line naming the file and the problem.
void check_tls_files(const std::string& ca_file, const std::string& certificate_file,
                     const std::string& key_file);

// Verifies `certificate_file` against the CA certificate in `ca_file` (signature, validity
// period, CA constraints); nullopt when it verifies, else OpenSSL's reason.
std::optional<std::string> verify_certificate(const std::string& ca_file,
                                              const std::string& certificate_file);

// The subject common name of a PEM certificate file.
std::string certificate_common_name(const std::string& certificate_file);

} // namespace llamps
