// libFuzzer target: the decoding of what a peer sends over the network. The first byte picks
// one of our message types (or a whole caf::message, as BASP delivers it: type names, then
// each element through the registered inspectors); the rest is fed to CAF's
// binary_deserializer. A decoded value is used the way our handlers use it (from_wire on
// hidden states) and serialised again. Nothing may crash, leak, or read out of bounds.
//
// CAF 0.17's deserializer resizes a std::string or std::vector<char> to the length the bytes
// claim *before* checking that many bytes follow (data_processor.hpp, apply_sequence for byte
// sequences): 5 bytes make it allocate and zero up to 4 GiB. That is CAF's, not ours, and the
// network path cannot swap the deserializer, so docs/security.md lists it as a limit. Here
// sequences longer than the remaining input are refused up front (bounded_deserializer), so
// the fuzzer explores our inspectors instead of stopping at that one known finding; set
// LLAMPS_FUZZ_RAW_CAF=1 to fuzz CAF's deserializer unchanged and reproduce it. The same goes
// for CAF's exception on a malformed builtin config_value (see decode below).
// FUZZ_SOURCES: actors/protocol/protocol.cpp
// FUZZ_LIBS: -lcaf_core -lcrypto
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <type_traits>
#include <vector>

#include "actors/protocol/protocol.hpp"

using namespace llamps;

namespace {

struct fuzz_config : caf::actor_system_config {
  fuzz_config() {
    register_protocol(*this);
    set("logger.verbosity", caf::atom("quiet"));
    set("scheduler.max-threads", 1);
  }
};

// Never destroyed: tearing an actor system down from exit handlers crashes in CAF 0.17
// (libFuzzer leaves through exit()), and the process ends right after anyway.
caf::actor_system& fuzz_system() {
  static auto* sys = new caf::actor_system(*new fuzz_config);
  return *sys;
}

// Every element of our types takes at least one byte, so a sequence claiming more elements
// than bytes remain is malformed: refuse it before anything is allocated for it. CAF's
// binary_deserializer is final, so this one wraps it and forwards everything else.
class bounded_deserializer : public caf::deserializer {
public:
  bounded_deserializer(caf::actor_system& sys, const char* data, size_t size)
      : caf::deserializer(sys), inner_(sys, data, size) {}

  caf::error begin_sequence(size_t& size) override {
    if (auto err = inner_.begin_sequence(size))
      return err;
    return size > inner_.remaining() ? caf::error(caf::sec::end_of_stream) : caf::error();
  }
  caf::error begin_object(uint16_t& nr, std::string& name) override { return inner_.begin_object(nr, name); }
  caf::error end_object() override { return inner_.end_object(); }
  caf::error end_sequence() override { return inner_.end_sequence(); }
  caf::error apply_raw(size_t n, void* data) override { return inner_.apply_raw(n, data); }

protected:
  caf::error apply_impl(int8_t& x) override { return inner_(x); }
  caf::error apply_impl(uint8_t& x) override { return inner_(x); }
  caf::error apply_impl(int16_t& x) override { return inner_(x); }
  caf::error apply_impl(uint16_t& x) override { return inner_(x); }
  caf::error apply_impl(int32_t& x) override { return inner_(x); }
  caf::error apply_impl(uint32_t& x) override { return inner_(x); }
  caf::error apply_impl(int64_t& x) override { return inner_(x); }
  caf::error apply_impl(uint64_t& x) override { return inner_(x); }
  caf::error apply_impl(float& x) override { return inner_(x); }
  caf::error apply_impl(double& x) override { return inner_(x); }
  caf::error apply_impl(long double& x) override { return inner_(x); }
  caf::error apply_impl(std::string& x) override { return inner_(x); }
  caf::error apply_impl(std::u16string& x) override { return inner_(x); }
  caf::error apply_impl(std::u32string& x) override { return inner_(x); }

private:
  caf::binary_deserializer inner_;
};

const bool raw_caf = std::getenv("LLAMPS_FUZZ_RAW_CAF") != nullptr;

// How our handlers consume what they decode.
void use(const activations& a) {
  auto t = from_wire(a);
  volatile float sink = 0;
  for (float v : t.values)
    sink = sink + v;
}
void use(const step_request& r) { use(r.hidden); }
void use(const step_result& r) { use(r.hidden); }
template <class T>
void use(const T&) {}

template <class T>
void decode(const char* data, size_t size) {
  T x;
  caf::error err;
  if (raw_caf) {
    caf::binary_deserializer source{fuzz_system(), data, size};
    err = source(x);
  } else if constexpr (std::is_same_v<T, caf::message>) {
    // CAF 0.17 decodes a builtin config_value whose variant index is out of range by throwing
    // (caf/variant.hpp: "invalid type found"); docs/security.md lists it with the other
    // findings in CAF itself. Counted as a refusal here, like the oversized sequences above.
    try {
      bounded_deserializer source{fuzz_system(), data, size};
      err = source(x);
    } catch (const std::exception&) {
      return;
    }
  } else {
    bounded_deserializer source{fuzz_system(), data, size};
    err = source(x);
  }
  if (err)
    return; // refused: what the node does with a malformed message
  use(x);
  // Encoding again must work too, except for a message of arbitrary builtin types: CAF 0.17
  // encodes floats with a loop that never ends for infinity (detail/ieee_754.hpp, pack754),
  // and a peer can send one. Our own types refuse non-finite floats when they are decoded;
  // and a node never sends a peer's unexpected message back (CAF answers with an error that
  // does not carry it), so that loop is only reachable from this harness.
  if constexpr (!std::is_same_v<T, caf::message>) {
    std::vector<char> again;
    caf::binary_serializer sink{fuzz_system(), again};
    (void)sink(x);
  }
}

// The types a peer can put in a message to one of our actors, in a fixed order: the first
// input byte picks one (so a saved crash input keeps meaning the same type).
template <class... Ts>
struct type_list {
  static constexpr size_t size = sizeof...(Ts);
  static void decode_nth(size_t n, const char* data, size_t size) {
    size_t i = 0;
    ((i++ == n ? decode<Ts>(data, size) : void()), ...);
  }
};
using wire_types =
    type_list<caf::message, node_offer, hosted_range, server_status, std::vector<server_status>,
              model_profile, plan_request, plan_entry, placement_plan, load_order, load_progress,
              deploy_status, activations, step_result, step_request, generation_order, generation_report,
              session_info, host_ref, deployment, session_route, std::vector<host_ref>, std::vector<char>,
              std::vector<std::string>, std::map<std::string, std::string>, queue_status,
              std::vector<queue_status>>;

template <class T>
std::vector<char> encode(const T& x) {
  std::vector<char> out;
  caf::binary_serializer sink{fuzz_system(), out};
  (void)sink(x);
  return out;
}

// Seeds: one valid encoding per interesting type, written into the corpus directory so the
// fuzzer starts from well-formed messages and mutates from there.
void write_seeds(const std::string& dir) {
  activations a{{2, 4}, std::vector<char>(2 * 4 * sizeof(float), 1)};
  step_request step{42, 3, a, {}};
  node_offer offer{"c0", "127.0.0.1:4243", 1u << 20, 1u << 21, 2, 10.5, false, "token"};
  model_profile profile;
  profile.name = "m";
  profile.path = "/m.gguf";
  profile.identity = "abc";
  profile.file_size = 1000;
  profile.data_offset = 100;
  profile.n_blocks = 5;
  profile.n_embd = 64;
  profile.n_ctx = 256;
  profile.block_bytes = 4096;
  profile.head_bytes = 8192;
  profile.kv_bytes_per_token_per_block = 128;
  load_order order{"d1", profile, 0, 3, 1u << 16, ""};
  auto write = [&](size_t index, const std::string& name, const std::vector<char>& bytes) {
    std::ofstream out(dir + "/seed-" + name, std::ios::binary);
    out.put(static_cast<char>(index));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  };
  write(0, "message-step", encode(caf::make_message(step_atom::value, step)));
  write(0, "message-join", encode(caf::make_message(hello_atom::value, std::string("token"))));
  write(1, "node_offer", encode(offer));
  write(5, "model_profile", encode(profile));
  write(9, "load_order", encode(order));
  write(12, "activations", encode(a));
  write(13, "step_result", encode(step_result{42, 3, a}));
  write(14, "step_request", encode(step));
  write(15, "generation_order", encode(generation_order{}));
  write(25, "queue_status", encode(queue_status{"m", 3, 10, 1, 2, 1, {4, 3, 2, 1}, 1.5}));
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  // The first argument that is not a flag is the corpus directory (see run_fuzz.sh).
  for (int i = 1; i < *argc; ++i)
    if ((*argv)[i][0] != '-') {
      write_seeds((*argv)[i]);
      break;
    }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  wire_types::decode_nth(data[0] % wire_types::size, reinterpret_cast<const char*>(data) + 1, size - 1);
  return 0;
}
