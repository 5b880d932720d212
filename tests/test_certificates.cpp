// The cluster CA (runtime/node/certificates.hpp): what `llamps ca init` and `llamps ca issue` make,
// and what a TLS node checks before it starts.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "runtime/node/certificates.hpp"
#include "runtime/node/system.hpp"

using namespace llamps;
namespace fs = std::filesystem;

namespace {

// A fresh directory per test case, under the build's test-tmp.
std::string fresh_dir(const std::string& name) {
  auto dir = fs::path(LLAMPS_TEST_TMP) / ("certificates-" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

} // namespace

TEST_CASE("ca init makes a private key and a self-signed CA certificate", "[certificates]") {
  auto dir = fresh_dir("init");
  auto ca = create_ca(dir + "/ca", 30);
  CHECK(fs::exists(ca.key));
  CHECK(fs::exists(ca.certificate));
  CHECK(mode_of(ca.key) == 0600);
  CHECK(certificate_common_name(ca.certificate) == "llamps cluster CA");
  CHECK_FALSE(verify_certificate(ca.certificate, ca.certificate)); // self-signed, a CA
  // A second init would orphan every issued certificate: refused, the old CA untouched.
  std::ifstream before(ca.certificate);
  std::string old_pem((std::istreambuf_iterator<char>(before)), {});
  CHECK_THROWS_WITH(create_ca(dir + "/ca", 30), Catch::Contains("already exists"));
  std::ifstream after(ca.certificate);
  CHECK(std::string((std::istreambuf_iterator<char>(after)), {}) == old_pem);
}

TEST_CASE("ca issue makes a node certificate that verifies against its CA only", "[certificates]") {
  auto dir = fresh_dir("issue");
  auto ca = create_ca(dir + "/ca", 30);
  auto node = issue_certificate(dir + "/ca", "c0", dir + "/nodes", 30);
  CHECK(node.key == dir + "/nodes/c0.key");
  CHECK(node.certificate == dir + "/nodes/c0.crt");
  CHECK(mode_of(node.key) == 0600);
  CHECK(certificate_common_name(node.certificate) == "c0");
  CHECK_FALSE(verify_certificate(ca.certificate, node.certificate));
  CHECK_NOTHROW(check_tls_files(ca.certificate, node.certificate, node.key));

  // Another CA's certificate does not verify against ours, and ours not against theirs.
  auto rogue = create_ca(dir + "/rogue", 30);
  auto stranger = issue_certificate(dir + "/rogue", "c0", dir + "/stranger", 30);
  CHECK(verify_certificate(ca.certificate, stranger.certificate).has_value());
  CHECK(verify_certificate(rogue.certificate, node.certificate).has_value());
  CHECK_THROWS_WITH(check_tls_files(ca.certificate, stranger.certificate, stranger.key),
                    Catch::Contains("does not verify against the CA"));
}

TEST_CASE("a node certificate cannot sign further certificates", "[certificates]") {
  // A stolen node key must not mint node certificates: CA:FALSE is enforced by verification.
  auto dir = fresh_dir("no-sub-ca");
  auto ca = create_ca(dir + "/ca", 30);
  auto node = issue_certificate(dir + "/ca", "n1", dir + "/ca", 30);
  // Pretend n1 is a CA: its key and certificate in a CA directory's places.
  fs::create_directories(dir + "/fake");
  fs::copy_file(node.key, dir + "/fake/ca.key");
  fs::copy_file(node.certificate, dir + "/fake/ca.crt");
  auto minted = issue_certificate(dir + "/fake", "evil", dir + "/fake", 30);
  // Even with n1 sent along as the chain (as a TLS peer would), CA:FALSE stops it.
  std::ofstream(dir + "/chain.crt") << std::ifstream(minted.certificate).rdbuf()
                                    << std::ifstream(node.certificate).rdbuf();
  auto problem = verify_certificate(ca.certificate, dir + "/chain.crt");
  REQUIRE(problem.has_value());
  CHECK_THAT(*problem, Catch::Contains("CA"));
  CHECK(verify_certificate(ca.certificate, minted.certificate).has_value());
}

TEST_CASE("ca issue refuses bad names, overwrites and a missing CA", "[certificates]") {
  auto dir = fresh_dir("refuse");
  create_ca(dir, 30);
  CHECK_THROWS_WITH(issue_certificate(dir, "../escape", dir, 30), Catch::Contains("node name"));
  CHECK_THROWS_WITH(issue_certificate(dir, "", dir, 30), Catch::Contains("node name"));
  CHECK_THROWS_WITH(issue_certificate(dir, "a/b", dir, 30), Catch::Contains("node name"));
  CHECK_NOTHROW(issue_certificate(dir, "gpu-box-3:4242", dir, 30));
  CHECK_THROWS_WITH(issue_certificate(dir, "gpu-box-3:4242", dir, 30), Catch::Contains("exists already"));
  CHECK_THROWS_WITH(issue_certificate(dir + "/nowhere", "n", dir, 30), Catch::Contains("cannot read"));
  CHECK_THROWS_WITH(create_ca(dir + "/short", 0), Catch::Contains("--days"));
}

TEST_CASE("TLS files are checked with one clear line before the node starts", "[certificates]") {
  auto dir = fresh_dir("check");
  auto ca = create_ca(dir, 30);
  auto a = issue_certificate(dir, "a", dir, 30);
  auto b = issue_certificate(dir, "b", dir, 30);
  CHECK_THROWS_WITH(check_tls_files(ca.certificate, a.certificate, dir + "/missing.key"),
                    Catch::Contains("cannot read private key") && Catch::Contains("missing.key"));
  CHECK_THROWS_WITH(check_tls_files(dir + "/missing.crt", a.certificate, a.key),
                    Catch::Contains("cannot read CA certificate"));
  CHECK_THROWS_WITH(check_tls_files(ca.certificate, a.certificate, b.key),
                    Catch::Contains("does not belong to the certificate"));
  write_text(dir + "/garbage.crt", "not a certificate\n");
  CHECK_THROWS_WITH(check_tls_files(ca.certificate, dir + "/garbage.crt", a.key),
                    Catch::Contains("is not a PEM certificate"));
  CHECK_THROWS_WITH(check_tls_files(ca.certificate, "", a.key), Catch::Contains("all three"));
  // The actor system's config refuses to start with half a TLS setup instead of falling
  // back to plain TCP.
  CHECK_THROWS_WITH(system_config(tls_files{"", a.certificate, a.key}), Catch::Contains("all three"));
  CHECK_NOTHROW(system_config(tls_files{ca.certificate, a.certificate, a.key}));
}
