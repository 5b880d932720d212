// llamps ca: the cluster's certificate authority for TLS between nodes.
//   llamps ca init --dir DIR [--days N]               DIR/ca.key and DIR/ca.crt
//   llamps ca issue NODE --dir DIR [--out DIR] [--days N]   OUT/NODE.key and OUT/NODE.crt
// Keep ca.key off the cluster's machines: only ca.crt and each node's own pair go there.
#include <cstring>
#include <iostream>

#include "runtime/node/certificates.hpp"
#include "runtime/cli/cli.hpp"
#include "runtime/cli/commands.hpp"

namespace llamps {

namespace {

const char* ca_usage = "usage: llamps ca init --dir DIR [--days N]\n"
                       "       llamps ca issue NODE --dir DIR [--out DIR] [--days N]\n";

int ca_init(int argc, char** argv) {
  namespace po = cli::po;
  std::string dir;
  int days = 3650;
  po::options_description options("llamps ca init options");
  options.add_options()("dir", po::value(&dir)->required(),
                        "directory for ca.key and ca.crt (created if needed)")(
      "days", po::value(&days)->default_value(days), "validity of the CA certificate, days");
  auto parsed = cli::parse(argc, argv, "llamps ca init --dir DIR [--days N]", options);
  if (parsed.exit_code)
    return *parsed.exit_code;
  auto files = create_ca(dir, days);
  std::cout << "CA key:         " << files.key << " (keep it secret and off the cluster)\n"
            << "CA certificate: " << files.certificate << " (give it to every node and shell as --tls-ca)\n";
  return 0;
}

int ca_issue(int argc, char** argv) {
  namespace po = cli::po;
  std::string node, dir, out;
  int days = 825;
  po::options_description options("llamps ca issue options");
  options.add_options()("node", po::value(&node)->required(),
                        "the node's name: the certificate's CN and the file names")(
      "dir", po::value(&dir)->required(), "the CA's directory (from llamps ca init)")(
      "out", po::value(&out), "where to write NODE.key and NODE.crt (default: --dir)")(
      "days", po::value(&days)->default_value(days), "validity of the certificate, days");
  po::positional_options_description positional;
  positional.add("node", 1);
  auto parsed =
      cli::parse(argc, argv, "llamps ca issue NODE --dir DIR [--out DIR] [--days N]", options, &positional);
  if (parsed.exit_code)
    return *parsed.exit_code;
  auto files = issue_certificate(dir, node, out.empty() ? dir : out, days);
  std::cout << "key:         " << files.key << "\n"
            << "certificate: " << files.certificate << " (CN=" << node << ")\n"
            << "use: --tls-ca " << dir << "/ca.crt --tls-cert " << files.certificate << " --tls-key "
            << files.key << "\n";
  return 0;
}

} // namespace

int cmd::ca(int argc, char** argv) {
  // argv[0] is "ca"; argv[1] the subcommand, which becomes argv[0] of its own parser.
  if (argc >= 2 && std::strcmp(argv[1], "init") == 0)
    return ca_init(argc - 1, argv + 1);
  if (argc >= 2 && std::strcmp(argv[1], "issue") == 0)
    return ca_issue(argc - 1, argv + 1);
  bool help = argc >= 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0);
  (help ? std::cout : std::cerr) << ca_usage;
  return help ? 0 : 2;
}

} // namespace llamps
