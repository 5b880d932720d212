// llamps: run large language models on the leftover capacity of many machines.

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "llamps_version.hpp" // generated: LLAMPS_VERSION, LLAMPS_COMMIT
#include "runtime/cli/commands.hpp"

namespace {

struct command {
  const char* name;
  int (*run)(int, char**);
  const char* summary;
};

const command commands[] = {
    {"demo", llamps::cmd::demo, "one process: registry, three contributors, planner, deployer, a session"},
    {"generate", llamps::cmd::generate, "generate text with the whole model in this process"},
    {"node", llamps::cmd::node, "run a registry and/or contributor node (--config FILE)"},
    {"shell", llamps::cmd::shell, "interactive shell against a registry: servers, plan, deploy, generate"},
    {"plan", llamps::cmd::plan, "optimal placement (OPA) of a model's blocks over servers"},
    {"inspect", llamps::cmd::inspect, "show a GGUF model's hyper-parameters, block sizes and tensors"},
    {"tokenize", llamps::cmd::tokenize, "the token ids (and pieces) of a text under a GGUF tokenizer"},
    {"chat-prompt", llamps::cmd::chat_prompt,
     "the prompt text and ids a conversation becomes in a chat template"},
    {"make-model", llamps::cmd::make_model, "write a GGUF LLaMA with deterministic random weights"},
    {"bench", llamps::cmd::bench, "prefill/decode tokens/s and memory-bandwidth roofline"},
    {"bench-cluster", llamps::cmd::bench_cluster,
     "distributed speed on loopback: chain, sessions, hop cost, memory"},
    {"bench-registry", llamps::cmd::bench_registry,
     "registry at scale: N simulated contributors, CPU per heartbeat, route and plan latency"},
    {"ca", llamps::cmd::ca, "cluster CA for TLS between nodes: ca init, ca issue NODE"},
};

void usage(std::FILE* out) {
  std::fprintf(out, "usage: llamps <command> [options]   (llamps <command> --help for its options)\n"
                    "       llamps --version\n\n"
                    "commands:\n");
  for (const auto& c : commands)
    std::fprintf(out, "  %-11s %s\n", c.name, c.summary);
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    usage(stdout);
    return 0;
  }
  if (name == "--version" || name == "version") {
    std::printf("llamps %s (commit %s)\n", LLAMPS_VERSION, LLAMPS_COMMIT);
    return 0;
  }
  for (const auto& c : commands) {
    if (name == c.name) {
      try {
        return c.run(argc - 1, argv + 1);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "llamps %s: error: %s\n", c.name, e.what());
        return 1;
      }
    }
  }
  std::fprintf(stderr, "llamps: unknown command '%s'\n\n", name.c_str());
  usage(stderr);
  return 2;
}
