// Embedding LLaMPS actors in your own CAF application.
//
// This program starts its own actor system and, without any llamps runtime around it,
// spawns a registry, two block hosts that split a model between them, and a session — then
// generates text. The same actors could sit on different machines: only the handles would
// come from the network instead of from spawn.
//
//   embedded_host_and_session MODEL.gguf ["prompt"]
#include <iostream>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/protocol/actors.hpp"
#include "actors/support/blocking_ask.hpp"
#include "actors/support/logging.hpp"
#include "actors/server/model_files.hpp"

using namespace llamps;

namespace {

// Loads blocks [first, last) of the model into a fresh block host, from the local file.
host_ref load_host(caf::actor_system& sys, const model_profile& model, int first, int last,
                   const std::string& name) {
  block_host_options opts;
  opts.node_id = name;
  auto host = spawn_block_host(sys, opts);
  load_order order;
  order.deployment_id = "example";
  order.model = model;
  order.first = first;
  order.last = last;
  order.local_path = model.path; // no deployer needed: the file is here
  host_ref ref{name, {}, host};
  ref.range = blocking_ask<hosted_range>(sys, host, std::chrono::minutes(5), load_atom::value, order,
                                         deployer_actor{});
  return ref;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: " << argv[0] << " MODEL.gguf [prompt]\n";
    return 2;
  }
  set_log_level("warn");
  caf::actor_system_config cfg;
  register_protocol(cfg);
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  try {
    auto model = profile_of(argv[1]);
    auto registry = spawn_registry(sys, registry_options{});
    int middle = model.n_blocks / 2;
    deployment d{model.name,
                 "example",
                 model,
                 1,
                 {load_host(sys, model, 0, middle, "host-a"),
                  load_host(sys, model, middle, model.n_blocks, "host-b")}};
    caf::scoped_actor self{sys};
    blocking_ask<bool>(self, registry, std::chrono::seconds(5), deployed_atom::value, d);

    session_options so;
    so.model = model.name;
    auto session = spawn_session(sys, registry, so);
    generation_order order;
    order.prompt = argc > 2 ? argv[2] : "Once upon a time";
    order.steps = 64;
    order.temperature = 0;
    order.listener = caf::actor_cast<caf::actor>(self);
    self->send(session, generate_atom::value, order);
    bool done = false;
    self->receive_while([&] { return !done; })(
        [&](token_atom, uint64_t, int32_t, const std::string& piece) { std::cout << piece << std::flush; },
        [&](generation_report& r) {
          std::cout << "\n(" << r.generated_tokens << " tokens through host-a -> host-b)\n";
          done = true;
        },
        [&](caf::error& e) {
          std::cerr << "error: " << error_text(e) << "\n";
          done = true;
        });
    self->send(session, close_atom::value);
    for (auto& h : d.hosts)
      self->send_exit(h.host, caf::exit_reason::user_shutdown);
    self->send_exit(registry, caf::exit_reason::user_shutdown);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
