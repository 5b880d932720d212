#pragma once
// The LLaMPS protocol: every message type and every actor interface, declared once.
//
// All actors talk only through these location-transparent CAF messages, so one process and
// many machines run the same code. Read it top to bottom as the protocol:
//
//   contributor --join/heartbeat--> registry        (a machine offers its leftover capacity)
//   shell/http  --plan-->           planner         (OPA over the registry's servers)
//   shell/http  --deploy-->         deployer --load--> contributor --spawns--> block_host
//   block_host  --fetch-->          deployer        (pulls its blocks' bytes when it has no copy)
//   session     --route-->          registry        (which hosts serve each block range)
//   session     --step-->           block_host -> block_host -> ... -> back to the session
//
// Hidden states cross the wire as raw little-endian float bytes (CAF serialises byte vectors
// with one memcpy, but float vectors element by element).
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/planner/opa.hpp"
#include "model/shapes/model_shape.hpp"
#include "model/tensor_data.hpp"
#include "model/text/chat_template.hpp"

namespace llamps {

// ---- atoms (CAF 0.17: at most 10 characters) ----
using join_atom = caf::atom_constant<caf::atom("join")>;           // a contributor joins the registry
using leave_atom = caf::atom_constant<caf::atom("leave")>;         // a node leaves the registry
using drain_atom = caf::atom_constant<caf::atom("drain")>;         // a contributor drains, then leaves
using contributor_atom = caf::atom_constant<caf::atom("contrib")>; // the contributor of a node id
using registry_atom = caf::atom_constant<caf::atom("registry")>;   // here is the registry (again)
using heartbeat_atom = caf::atom_constant<caf::atom("heartbeat")>;
using servers_atom = caf::atom_constant<caf::atom("servers")>;
using plan_atom = caf::atom_constant<caf::atom("plan")>;
using deploy_atom = caf::atom_constant<caf::atom("deploy")>;
using undeploy_atom = caf::atom_constant<caf::atom("undeploy")>;
using deployed_atom = caf::atom_constant<caf::atom("deployed")>;
using deployments_atom = caf::atom_constant<caf::atom("deploymnts")>;
using progress_atom = caf::atom_constant<caf::atom("progress")>;
using load_atom = caf::atom_constant<caf::atom("load")>;
using unload_atom = caf::atom_constant<caf::atom("unload")>;
using fetch_atom = caf::atom_constant<caf::atom("fetch")>;
using route_atom = caf::atom_constant<caf::atom("route")>;
using admit_atom = caf::atom_constant<caf::atom("admit")>;
using step_atom = caf::atom_constant<caf::atom("step")>;
using drop_atom = caf::atom_constant<caf::atom("drop")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using generate_atom = caf::atom_constant<caf::atom("generate")>;
using token_atom = caf::atom_constant<caf::atom("token")>;
using failed_atom = caf::atom_constant<caf::atom("failed")>;
using sessions_atom = caf::atom_constant<caf::atom("sessions")>; // the sessions a registry knows
using report_atom = caf::atom_constant<caf::atom("report")>;     // a session reports itself
using close_atom = caf::atom_constant<caf::atom("close")>;
using logits_atom = caf::atom_constant<caf::atom("logits")>;
using hello_atom = caf::atom_constant<caf::atom("hello")>;
using move_atom = caf::atom_constant<caf::atom("move")>;
using share_atom = caf::atom_constant<caf::atom("share")>;
using link_atom = caf::atom_constant<caf::atom("link")>;
using rank_atom = caf::atom_constant<caf::atom("rank")>;
using peers_atom = caf::atom_constant<caf::atom("peers")>;
using queued_atom = caf::atom_constant<caf::atom("queued")>;
using queue_atom = caf::atom_constant<caf::atom("queue")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using deadline_atom = caf::atom_constant<caf::atom("deadline")>; // is the step in flight overdue?

// ---- plain message types ----

// What a contributor offers: its leftover capacity after what it already hosts.
struct node_offer {
  std::string node_id;             // unique name, e.g. "gpu-box-3:4242"
  std::string address;             // host:port where its contributor actor is published
  uint64_t memory_bytes = 0;       // leftover memory it may still give
  uint64_t total_memory_bytes = 0; // its share limit (or what the machine has)
  int32_t cores = 0;
  double tokens_per_s = 0; // one session through one block, measured; 0 = unknown
  bool starved = false;    // the machine's own work leaves it no core: no new blocks or sessions
  std::string join_token;  // shared cluster secret ("" when the cluster uses none)
};

// One hosted block range of one model on one node.
struct hosted_range {
  std::string model;
  int32_t first = 0; // blocks [first, last)
  int32_t last = 0;
  uint64_t weight_bytes = 0;
  uint64_t kv_budget_bytes = 0;
  uint64_t kv_bytes = 0; // in use now
  int32_t sessions = 0;
  bool draining = false; // no new sessions are routed here
  uint64_t steps = 0;    // steps run (a batched call counts each session's step)
  uint64_t batches = 0;  // forward calls that ran them (steps / batches = mean batch)
  // Histogram of step latency on this host (forward time, microseconds): counts of steps
  // at or below each of step_latency_bounds_us, then the rest.
  std::vector<uint64_t> latency_counts;
  double latency_sum_us = 0;
};

// Upper bounds of the step latency histogram buckets, microseconds.
inline const std::vector<double>& step_latency_bounds_us() {
  static const std::vector<double> bounds{100,   250,   500,   1000,   2500,   5000,
                                          10000, 25000, 50000, 100000, 250000, 1000000};
  return bounds;
}

// A row of the registry's "available servers" list.
struct server_status {
  node_offer offer;
  bool healthy = true;
  int64_t last_seen_ms = 0; // since the registry saw its last heartbeat
  std::vector<hosted_range> hosting;
};

// A model as requests carry it: model_profile (model/shapes/model_shape.hpp). What to place
// and how: opa::plan_request, the one plan request (actors/planner/opa.hpp).
using opa::plan_request;
using opa::plan_request_problem;

// One server's share of a plan.
struct plan_entry {
  std::string node_id;
  std::string address;
  int32_t first = 0; // blocks [first, last)
  int32_t last = 0;
  uint64_t weight_bytes = 0;
  uint64_t kv_budget_bytes = 0;
  int32_t sessions_capacity = 0;
};

struct placement_plan {
  std::string model;
  std::vector<plan_entry> entries;
  int32_t replicas = 1;
  int32_t sessions_capacity = 0;     // for the chain as a whole
  double predicted_tokens_per_s = 0; // bottleneck stage
  std::string summary;               // one human line (objective, servers used)
};

// Order from the deployer to one contributor: load blocks [first, last) of a model.
struct load_order {
  std::string deployment_id;
  model_profile model;
  int32_t first = 0;
  int32_t last = 0;
  uint64_t kv_budget_bytes = 0;
  std::string local_path; // set by the contributor when it has a copy with the same
                          // identity; "" = fetch the blocks' bytes from the deployer
};

// A deployer's per-server progress (bytes loaded of total), for the shell and the web page.
struct load_progress {
  std::string deployment_id;
  std::string node_id;
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;
  std::string state; // "fetching", "loading", "ready", "failed: ...", "rolled back"
  int32_t first = 0; // the server's blocks [first, last), as the deployer planned them
  int32_t last = 0;
};

struct deploy_status {
  std::string model;
  std::string deployment_id;
  std::string state; // "deploying", "ready", "failed: ...", "undeployed"
  std::vector<load_progress> servers;
};

// Hidden states on the wire.
struct activations {
  std::vector<int64_t> shape; // {n_tokens, n_embd}
  std::vector<char> bytes;    // row-major little-endian float32
};
activations to_wire(const tensor_data& t);
tensor_data from_wire(const activations& a);

struct step_result {
  uint64_t session = 0;
  int32_t pos = 0;
  activations hidden; // the last host's output, all rows
  uint64_t batch = 0; // as in step_request: results the last host sent together
  int32_t batch_size = 1;
};

// What a session asks of its session actor: a prompt, or a conversation that the session
// renders with the model's chat template (model/text/chat_template.hpp) and tokenizes with its
// special tokens. Either way the session feeds only what its caches do not already hold (the
// longest common prefix with its previous generation is kept), so a chat that sends its whole
// conversation every turn pays only for the new tokens.
struct generation_order {
  std::string prompt;
  std::vector<chat_message> messages; // when not empty: a chat, and `prompt` is unused
  std::string chat_template;          // a family name overriding the model's template ("" = the model's)
  bool add_generation_prompt = true;  // end the rendered chat with the opening of the answer
  std::vector<std::string> stop;      // the generation ends once its text contains one of these
  int32_t steps = 256;                // positions in all (BOS + prompt + generated), as llama2.c -n
  int32_t max_new_tokens = 0;         // also stop after this many generated tokens (0 = no limit)
  float temperature = 0.8f;
  float top_p = 0.9f;
  int32_t top_k = 40;
  uint64_t seed = 42;
  caf::actor listener; // receives (token_atom, session, token id, text piece); may be null
};

struct generation_report {
  uint64_t session = 0;
  std::vector<int32_t> ids;       // BOS, prompt, generated (the whole conversation when chatting)
  std::vector<std::string> route; // node ids of the hosts used, in order
  int32_t prompt_tokens = 0;
  int32_t cached_tokens = 0; // of the prompt, already in the caches (not fed again)
  int32_t generated_tokens = 0;
  std::string stopped_by; // the stop string that ended the generation ("" = none did)
  double prefill_seconds = 0;
  double decode_seconds = 0;
  int32_t recoveries = 0; // times the session re-routed and replayed after a host failed
};

struct session_info {
  uint64_t session = 0;
  std::string model;
  int32_t tokens = 0;
  std::vector<std::string> route;
};

// One model's admission queue as the registry reports it (actors/cluster/admission_queue.hpp
// keeps it; its wait_bounds_s() are the histogram's bounds).
struct queue_status {
  std::string model;
  int32_t depth = 0;                 // requests waiting now
  uint64_t admitted = 0;             // requests admitted, those that waited no time included
  uint64_t rejected_full = 0;        // refused on arrival: the queue was full
  uint64_t rejected_deadline = 0;    // refused: their deadline passed while they waited
  uint64_t cancelled = 0;            // left the queue: their requester went away
  std::vector<uint64_t> wait_counts; // admitted requests' waits: at or below each bound, then the rest
  double wait_sum_s = 0;
};

// ---- actor interfaces (typed: each reads as the list of what it answers) ----

struct step_request;
struct host_ref;
struct deployment;
struct session_route;

using deployer_actor = caf::typed_actor<
    // Plan (through the planner) and load a model; answers when ready, or with the error
    // after rolling back whatever was loaded.
    caf::replies_to<deploy_atom, plan_request>::with<deploy_status>,
    caf::replies_to<undeploy_atom, std::string>::with<bool>, // model name
    caf::replies_to<progress_atom>::with<std::vector<deploy_status>>,
    caf::reacts_to<progress_atom, load_progress>, // from loading hosts
    // A host without its own copy pulls its blocks' bytes: (deployment, node, offset, length).
    caf::replies_to<fetch_atom, std::string, std::string, uint64_t, uint64_t>::with<std::vector<char>>,
    // From the node of a host it loaded, which drains that host (the node leaves, or its
    // leftover shrank): load the host's blocks on a spare server and publish the deployment
    // with the new host instead; answers true once new sessions are routed there, so the node
    // releases the blocks only when they are served elsewhere. (deployment id, host, whether
    // only a server whose owner's work leaves it a core may take them)
    caf::replies_to<move_atom, std::string, caf::actor_addr, bool>::with<bool>>;

using block_host_actor = caf::typed_actor<
    // Loads its blocks (from a local copy or by fetching from the deployer).
    caf::replies_to<load_atom, load_order, deployer_actor>::with<hosted_range>,
    // One step; the reply comes from the last host of the route.
    caf::replies_to<step_atom, step_request>::with<step_result>,
    // The registry admits a session before handing out a route through this host; a host
    // whose KV budget is full refuses with failure_kind::busy.
    caf::replies_to<admit_atom, uint64_t>::with<bool>,
    caf::reacts_to<drop_atom, uint64_t>, // free a session's caches
    caf::replies_to<status_atom>::with<hosted_range>,
    caf::reacts_to<flush_atom, uint64_t>, // internal: run queued decodes
    caf::reacts_to<tick_atom>>;           // internal: expire idle sessions

// A block host as the rest of the cluster knows it.
struct host_ref {
  std::string node_id;
  hosted_range range;
  block_host_actor host;
  std::string address; // where a session links to its node: set by the registry in
                       // routes ("" = no link needed, or unknown)
};

struct step_request {
  uint64_t session = 0;
  int32_t pos = 0;
  activations hidden;
  std::vector<block_host_actor> next; // hosts still to visit after the receiver
  int32_t hop = 0;                    // 0 at the first host of the route
  // Steps one host passes on together to the same next host share a batch id and say how
  // many they are, so that the next host runs them together too (0 = not part of a batch).
  uint64_t batch = 0;
  int32_t batch_size = 1;
};

struct deployment {
  std::string model;
  std::string deployment_id;
  model_profile profile;
  int32_t replicas = 1;
  std::vector<host_ref> hosts;
};

// A session's way through the blocks: one host per stage, covering [0, n_blocks).
struct session_route {
  uint64_t session = 0;
  std::string model;
  model_profile profile;
  std::vector<host_ref> hosts;
};

using contributor_actor =
    caf::typed_actor<caf::replies_to<load_atom, load_order, deployer_actor>::with<host_ref>,
                     caf::replies_to<unload_atom, std::string>::with<bool>, // deployment id
                     caf::replies_to<status_atom>::with<server_status>,
                     // From its own node only: drain (no new sessions), let the deployer move the blocks,
                     // wait for the sessions in flight (at most the given seconds), then release the blocks.
                     // Answers true when everything was released, false when the time ran out first.
                     caf::replies_to<drain_atom, double>::with<bool>,
                     // From its own node only: new share limits (memory bytes, cores; 0 = no limit) and how
                     // long the sessions in flight may take when hosts that no longer fit are drained (s).
                     caf::reacts_to<share_atom, uint64_t, int32_t, double>,
                     // From its own node only: the registry again, after its process restarted (untyped:
                     // registry_actor is declared below, and names this interface).
                     caf::reacts_to<registry_atom, caf::actor>,
                     // From the registry: every live contributor (node id -> host:port), so that the nodes
                     // link to each other (see link_keeper_actor).
                     caf::reacts_to<peers_atom, std::map<std::string, std::string>>,
                     caf::reacts_to<tick_atom>>; // internal: heartbeat

using registry_actor = caf::typed_actor<
    caf::replies_to<join_atom, node_offer, contributor_actor>::with<bool>,
    caf::reacts_to<heartbeat_atom, node_offer, std::vector<host_ref>>,
    caf::reacts_to<leave_atom, std::string>, // node id
    caf::replies_to<servers_atom>::with<std::vector<server_status>>,
    // For the deployer: the contributor handle of a node.
    caf::replies_to<contributor_atom, std::string>::with<contributor_actor>,
    caf::replies_to<deployed_atom, deployment>::with<bool>,
    caf::replies_to<undeploy_atom, std::string>::with<deployment>, // removes the record
    caf::replies_to<deployments_atom>::with<std::vector<deployment>>,
    // A route for a new session (or a re-route avoiding failed nodes); admits the session
    // on every host of the route. (model, nodes to avoid, the longest the requester waits
    // in the model's queue when its hosts are full, ms; the registry's queue-seconds may end
    // it sooner.) A request that waits tells its sender (queued_atom, its place in line);
    // one the queue cannot take, or whose wait runs out, fails with failure_kind::queue_full
    // or queue_deadline. A requester that goes away leaves the queue.
    caf::replies_to<route_atom, std::string, std::vector<std::string>, int32_t>::with<session_route>,
    caf::replies_to<queue_atom>::with<std::vector<queue_status>>, // every model's queue
    caf::reacts_to<failed_atom, std::string>,                     // a session saw a node fail
    caf::replies_to<sessions_atom>::with<std::vector<session_info>>,
    caf::reacts_to<report_atom, session_info>, // sessions report themselves
    caf::reacts_to<close_atom, uint64_t>,      // a session ended
    caf::reacts_to<expire_atom, std::string>,  // internal: a model's queue deadlines
    caf::reacts_to<tick_atom>>;                // internal: heartbeat timeouts

// The only actor a node publishes on its port (actors/cluster/gate.cpp): it hands out the registry
// to those who present the cluster's join token, so that a shell or node without it never
// gets a handle to act on. With TLS, the connection itself already needs a CA-signed
// certificate; the gate then checks the token on top (usually "").
using gate_actor =
    caf::typed_actor<caf::replies_to<hello_atom, std::string>::with<registry_actor>>; // join token

using planner_actor = caf::typed_actor<caf::replies_to<plan_atom, plan_request>::with<placement_plan>>;

using session_actor = caf::typed_actor<
    caf::replies_to<generate_atom, generation_order>::with<generation_report>,
    // Takes a place before generating: asks the registry for a route (waiting in the model's
    // queue while its hosts are full) and answers with the route's node ids once admitted. The
    // sender (as a generation's listener) gets (queued_atom, place in line) if it waits.
    caf::replies_to<route_atom>::with<std::vector<std::string>>,
    caf::reacts_to<queued_atom, int32_t>, // from the registry
    caf::reacts_to<close_atom>,
    caf::reacts_to<tick_atom>,      // internal: retry routing
    caf::reacts_to<deadline_atom>>; // internal: check the step in flight against step_timeout

// Process-local: this process's direct network links to other nodes (actors/cluster/link_keeper.cpp).
// CAF's automatic connections are off, so that every pair of nodes is linked once, by one
// side: processes without a contributor link to the nodes they use; of two contributors, the
// one whose node id sorts first links to the other.
using link_keeper_actor = caf::typed_actor<
    // Answers once this process has a direct link to the node (node id, host:port) or needs
    // none (the node links to this one, or is in this process).
    caf::replies_to<link_atom, std::string, std::string>::with<bool>,
    caf::reacts_to<rank_atom, std::string>>; // this process runs the contributor of this node id

// Process-local: the output head shared by every session of one model in this process. It
// batches the logits of sessions whose steps come back together, so the vocabulary matrix
// (hundreds of MB for a 7B model) is read once per round, not once per session.
using head_actor = caf::typed_actor<
    // A session's last hidden row, with the batch of the step result it came in (id, size).
    caf::replies_to<logits_atom, std::vector<float>, uint64_t, int32_t>::with<std::vector<float>>,
    caf::reacts_to<flush_atom, uint64_t>>; // internal: run the queue

// ---- serialisation (CAF inspectors) ----

// CAF 0.17 hangs forever serialising an infinite float or double (caf/detail/ieee_754.hpp's
// pack754 halves it until it drops below 2), and its decoder makes such values from a
// peer's bytes. So every floating-point field must be finite both ways: refuse to send one
// that is not (the send fails instead of hanging) and to accept one (the message is dropped).
template <class... Ts>
caf::error all_finite(const Ts&... xs) {
  return (std::isfinite(static_cast<double>(xs)) && ...) ? caf::error{}
                                                         : caf::make_error(caf::sec::invalid_argument);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_offer& x) {
  return f(caf::meta::type_name("node_offer"),
           caf::meta::save_callback([&] { return all_finite(x.tokens_per_s); }), x.node_id, x.address,
           x.memory_bytes, x.total_memory_bytes, x.cores, x.tokens_per_s, x.starved, x.join_token,
           caf::meta::load_callback([&] { return all_finite(x.tokens_per_s); }));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hosted_range& x) {
  return f(caf::meta::type_name("hosted_range"),
           caf::meta::save_callback([&] { return all_finite(x.latency_sum_us); }), x.model, x.first, x.last,
           x.weight_bytes, x.kv_budget_bytes, x.kv_bytes, x.sessions, x.draining, x.steps, x.batches,
           x.latency_counts, x.latency_sum_us,
           caf::meta::load_callback([&] { return all_finite(x.latency_sum_us); }));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, server_status& x) {
  return f(caf::meta::type_name("server_status"), x.offer, x.healthy, x.last_seen_ms, x.hosting);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, model_profile& x) {
  return f(caf::meta::type_name("model_profile"), x.name, x.architecture, x.n_vocab, x.n_ctx, x.n_embd,
           x.n_ff, x.n_head, x.n_head_kv, x.n_blocks, x.tied, x.block_bytes, x.head_bytes,
           x.kv_bytes_per_token_per_block, x.path, x.identity, x.file_size, x.data_offset);
}
namespace opa { // found by argument-dependent lookup
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, plan_request& x) {
  return f(caf::meta::type_name("plan_request"),
           caf::meta::save_callback([&] { return all_finite(x.core_bytes_per_s); }), x.model, x.goal,
           x.replicas, x.sessions, x.context, x.per_server_overhead_bytes, x.core_bytes_per_s,
           caf::meta::load_callback([&] { return all_finite(x.core_bytes_per_s); }));
}
} // namespace opa
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, plan_entry& x) {
  return f(caf::meta::type_name("plan_entry"), x.node_id, x.address, x.first, x.last, x.weight_bytes,
           x.kv_budget_bytes, x.sessions_capacity);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, placement_plan& x) {
  return f(caf::meta::type_name("placement_plan"),
           caf::meta::save_callback([&] { return all_finite(x.predicted_tokens_per_s); }), x.model, x.entries,
           x.replicas, x.sessions_capacity, x.predicted_tokens_per_s, x.summary,
           caf::meta::load_callback([&] { return all_finite(x.predicted_tokens_per_s); }));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, load_order& x) {
  return f(caf::meta::type_name("load_order"), x.deployment_id, x.model, x.first, x.last, x.kv_budget_bytes,
           x.local_path);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, load_progress& x) {
  return f(caf::meta::type_name("load_progress"), x.deployment_id, x.node_id, x.bytes_done, x.bytes_total,
           x.state, x.first, x.last);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, deploy_status& x) {
  return f(caf::meta::type_name("deploy_status"), x.model, x.deployment_id, x.state, x.servers);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, activations& x) {
  return f(caf::meta::type_name("activations"), x.shape, x.bytes);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, step_result& x) {
  return f(caf::meta::type_name("step_result"), x.session, x.pos, x.hidden, x.batch, x.batch_size);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chat_message& x) {
  return f(caf::meta::type_name("chat_message"), x.role, x.content);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, generation_order& x) {
  return f(caf::meta::type_name("generation_order"),
           caf::meta::save_callback([&] { return all_finite(x.temperature, x.top_p); }), x.prompt, x.messages,
           x.chat_template, x.add_generation_prompt, x.stop, x.steps, x.max_new_tokens, x.temperature,
           x.top_p, x.top_k, x.seed, x.listener,
           caf::meta::load_callback([&] { return all_finite(x.temperature, x.top_p); }));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, generation_report& x) {
  return f(caf::meta::type_name("generation_report"),
           caf::meta::save_callback([&] { return all_finite(x.prefill_seconds, x.decode_seconds); }),
           x.session, x.ids, x.route, x.prompt_tokens, x.cached_tokens, x.generated_tokens, x.stopped_by,
           x.prefill_seconds, x.decode_seconds, x.recoveries,
           caf::meta::load_callback([&] { return all_finite(x.prefill_seconds, x.decode_seconds); }));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_info& x) {
  return f(caf::meta::type_name("session_info"), x.session, x.model, x.tokens, x.route);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, queue_status& x) {
  return f(caf::meta::type_name("queue_status"),
           caf::meta::save_callback([&] { return all_finite(x.wait_sum_s); }), x.model, x.depth, x.admitted,
           x.rejected_full, x.rejected_deadline, x.cancelled, x.wait_counts, x.wait_sum_s,
           caf::meta::load_callback([&] { return all_finite(x.wait_sum_s); }));
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, host_ref& x) {
  return f(caf::meta::type_name("host_ref"), x.node_id, x.range, x.host, x.address);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, step_request& x) {
  return f(caf::meta::type_name("step_request"), x.session, x.pos, x.hidden, x.next, x.hop, x.batch,
           x.batch_size);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, deployment& x) {
  return f(caf::meta::type_name("deployment"), x.model, x.deployment_id, x.profile, x.replicas, x.hosts);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, session_route& x) {
  return f(caf::meta::type_name("session_route"), x.session, x.model, x.profile, x.hosts);
}

// Registers every message type and actor interface above with an actor system config;
// every llamps process calls it before starting its actor system.
void register_protocol(caf::actor_system_config& cfg);

// Errors travel as caf::error with a one-line human message; these make and read them. The
// error's code says what kind of failure it is, where someone acts on the kind: a busy host
// makes the registry queue the session; a full queue or a deadline makes the HTTP API answer
// 429. Everything else is `failed`.
enum class failure_kind : uint8_t {
  failed = 1,
  busy = 2,           // a block host's KV budget holds no more sessions
  queue_full = 3,     // the model's admission queue holds no more requests
  queue_deadline = 4, // the request waited in the queue until its deadline
};
// retry_after_s: for queue_full and queue_deadline, when trying again makes sense (0 = not said).
caf::error make_llamps_error(std::string message, failure_kind kind = failure_kind::failed,
                             int32_t retry_after_s = 0);
std::string error_text(const caf::error& e);
failure_kind kind_of(const caf::error& e);
int32_t retry_after_of(const caf::error& e);
// The same kind of failure (and retry time) with another message: a caller adds what it was doing.
caf::error reworded(const caf::error& e, std::string message);

} // namespace llamps
