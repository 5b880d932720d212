// llamps inspect: a GGUF model's hyper-parameters, per-block sizes, tokenizer and (optionally)
// tensors; of a vocabulary-only file (no tensors), its tokenizer. Reads the header only: no
// tensor data is touched.
#include <cstdio>

#include "model/gguf/gguf.hpp"
#include "model/decoder/llama_config.hpp"
#include "model/text/tokenizer.hpp"
#include "runtime/cli/cli.hpp"
#include "runtime/cli/commands.hpp"

namespace {

std::string human_bytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = double(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

std::string dims_string(const std::vector<uint64_t>& dims) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i)
    s += (i ? " x " : "") + std::to_string(dims[i]);
  return s;
}

void print_config(const llamps::gguf::file& f, const llamps::llama_config& c) {
  std::printf("model        %s\n", c.name.c_str());
  std::printf("file         %s (%s, GGUF v%u, %zu tensors)\n", f.path().c_str(),
              human_bytes(f.file_size()).c_str(), f.version(), f.tensors().size());
  std::printf("architecture %s\n", c.architecture.c_str());
  std::printf("weights      %s (computed on in these types)\n", f.type_summary().c_str());
  std::printf("vocab        %d\ncontext      %d\nembedding    %d\nfeed-forward %d\n", c.n_vocab, c.n_ctx,
              c.n_embd, c.n_ff);
  std::printf("heads        %d (KV heads %d, head size %d)\n", c.n_head, c.n_head_kv, c.head_dim());
  std::printf("rope         dimension %d, freq base %g, %s pairs%s\n", c.n_rot, c.rope_base,
              c.rope == llamps::rope_pairs::adjacent ? "adjacent" : "NEOX (half-split)",
              c.rope_freqs ? ", frequency factors (rope_freqs.weight)" : "");
  std::printf("attention    %s%s%s%s\n", c.fused_qkv ? "fused QKV" : "separate Q, K, V",
              c.qkv_bias ? " with biases" : "",
              c.n_swa > 0 ? (", sliding window " + std::to_string(c.n_swa)).c_str() : "",
              c.fused_gate_up ? "; fused gate/up" : "");
  std::printf("rms eps      %g\nblocks       %d\n", c.rms_eps, c.n_blocks);
}

void print_profile(const llamps::block_profile& p) {
  // A host computes on the weights in their file types: memory is the file's bytes.
  std::printf("\n%-6s %14s %14s\n", "block", "file bytes", "memory bytes");
  for (int b = 0; b < p.n_blocks; ++b)
    std::printf("%-6d %14llu %14llu\n", b, (unsigned long long)p.bytes_per_block[size_t(b)],
                (unsigned long long)p.bytes_per_block[size_t(b)]);
  std::printf("%-6s %14llu %14llu\n", "head", (unsigned long long)p.head_bytes,
              (unsigned long long)p.head_bytes);
  std::printf("\nKV cache     %llu bytes per token per block (f16 K and V; twice that with an f32 cache)\n",
              (unsigned long long)p.kv_bytes_per_token_per_block);
  std::printf("identity     %s\n", p.identity.c_str());
}

std::string token_named(const llamps::tokenizer& tok, int32_t id) {
  return std::to_string(id) + " " + tok.token_text(id);
}

void print_tokenizer(const llamps::tokenizer& tok) {
  using kind = llamps::tokenizer::kind;
  if (tok.model_kind() == kind::spm)
    std::printf("tokenizer    llama (SentencePiece), %d tokens\n", tok.vocab_size());
  else
    std::printf("tokenizer    gpt2 (byte-level BPE), pre-tokenizer %s, %d tokens\n", tok.pre_name().c_str(),
                tok.vocab_size());
  std::printf("special      bos %s, eos %s", token_named(tok, tok.bos()).c_str(),
              token_named(tok, tok.eos()).c_str());
  if (tok.eot())
    std::printf(", eot %s", token_named(tok, *tok.eot()).c_str());
  if (tok.eom())
    std::printf(", eom %s", token_named(tok, *tok.eom()).c_str());
  std::printf("; BOS added by default: %s\n", tok.add_bos_by_default() ? "yes" : "no");
  std::string eog;
  for (int32_t id : tok.end_of_generation())
    eog += (eog.empty() ? "" : ", ") + token_named(tok, id);
  std::printf("end of generation  %s\n", eog.c_str());
}

void print_tensors(const llamps::gguf::file& f) {
  std::printf("\n%-28s %-6s %-16s %12s\n", "tensor", "type", "dims", "bytes");
  for (const auto& t : f.tensors())
    std::printf("%-28s %-6s %-16s %12llu\n", t.name.c_str(), llamps::gguf::type_name(t.type),
                dims_string(t.dims).c_str(), (unsigned long long)t.n_bytes());
}

} // namespace

int llamps::cmd::inspect(int argc, char** argv) {
  namespace po = cli::po;
  po::options_description options("options");
  options.add_options()("model", po::value<std::string>()->required(), "GGUF model file")(
      "tensors", po::bool_switch(), "also list every tensor (name, type, dims, bytes)");
  po::positional_options_description positional;
  positional.add("model", 1);
  auto args = cli::parse(argc, argv, "llamps inspect --model PATH [--tensors]", options, &positional);
  if (args.exit_code)
    return *args.exit_code;

  const auto f = gguf::file::open(args.vars["model"].as<std::string>());
  if (f.tensors().empty()) {
    std::printf("file         %s (%s, GGUF v%u): vocabulary only, no tensors\n", f.path().c_str(),
                human_bytes(f.file_size()).c_str(), f.version());
    std::printf("architecture %s\n", f.get_string("general.architecture").value_or("(none)").c_str());
    print_tokenizer(tokenizer::from_gguf(f));
    return 0;
  }
  const auto config = read_llama_config(f);
  print_config(f, config);
  print_tokenizer(tokenizer::from_gguf(f));
  print_profile(read_block_profile(f));
  if (args.vars["tensors"].as<bool>())
    print_tensors(f);
  return 0;
}
