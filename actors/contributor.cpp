// The contributor: one per machine that shares its leftover capacity. It offers what it can
// spare (capped by the admin's share limits) to the registry, keeps it informed with
// heartbeats, and spawns or stops block hosts when the deployer says so.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "actors/actors.hpp"
#include "model/gguf.hpp"
#include "runtime/logging.hpp"

namespace llamps {

namespace {

constexpr auto join_timeout = std::chrono::seconds(10);
// Loading a 70B range from a slow disk or over the network takes a while (an hour; CAF 0.17's
// durations stop at minutes).
constexpr auto load_timeout = std::chrono::minutes(60);

// A "Key:   1234 kB" line of /proc/meminfo, in bytes (0 when absent, e.g. not on Linux).
uint64_t meminfo_bytes(const std::string& key) {
  std::ifstream in("/proc/meminfo");
  std::string name, unit;
  uint64_t kib = 0;
  while (in >> name >> kib) {
    std::getline(in, unit);
    if (name == key + ":")
      return kib * 1024;
  }
  return 0;
}

uint64_t cap(uint64_t value, uint64_t limit) { return limit > 0 ? std::min(value, limit) : value; }

// A block host this node runs (or is starting) for one deployment.
struct hosted_blocks {
  block_host_actor host;
  hosted_range range;   // the order's range and budgets until loaded, then the host's report
  bool ready = false;
};

// What a scanned model file is, remembered until the file changes.
struct scanned_file {
  int64_t mtime_ns = -1;
  uint64_t size = 0;
  std::string identity; // "" = not a readable GGUF
};

struct contributor_state {
  contributor_options opts;
  registry_actor registry;
  bool joined = false;
  bool join_pending = false;
  std::string last_join_error; // so a registry that keeps refusing does not flood the log
  std::map<std::string, std::vector<hosted_blocks>> hosts; // by deployment id
  std::map<std::string, scanned_file> scanned;              // by path
  std::shared_ptr<spdlog::logger> log = logger("contributor");
  const char* name = "contributor";

  // Weights plus KV budgets promised to the hosts (loading ones included, so two orders
  // arriving together cannot both take the same memory).
  uint64_t committed_bytes() const {
    uint64_t total = 0;
    for (const auto& [id, list] : hosts)
      for (const auto& h : list)
        total += h.range.weight_bytes + h.range.kv_budget_bytes;
    return total;
  }

  uint64_t hosted_weight_bytes() const {
    uint64_t total = 0;
    for (const auto& [id, list] : hosts)
      for (const auto& h : list)
        total += h.range.weight_bytes;
    return total;
  }

  // Leftover = what this node may give minus what it already promised. MemAvailable already
  // excludes the weights our hosts hold, so they are added back before capping: otherwise
  // they would count twice.
  node_offer offer() const {
    node_offer o;
    o.node_id = opts.node_id;
    o.address = opts.address;
    o.join_token = opts.join_token;
    const uint64_t machine = meminfo_bytes("MemTotal");
    o.total_memory_bytes = cap(machine, opts.share_memory_bytes);
    const uint64_t usable = cap(meminfo_bytes("MemAvailable") + hosted_weight_bytes(),
                                opts.share_memory_bytes);
    const uint64_t promised = committed_bytes();
    o.memory_bytes = usable > promised ? usable - promised : 0;
    const auto cores = static_cast<int32_t>(std::max(1u, std::thread::hardware_concurrency()));
    o.cores = opts.share_cores > 0 ? std::min(cores, opts.share_cores) : cores;
    return o;
  }

  std::vector<host_ref> host_refs() const {
    std::vector<host_ref> refs;
    for (const auto& [id, list] : hosts)
      for (const auto& h : list)
        if (h.ready)
          refs.push_back(host_ref{opts.node_id, h.range, h.host});
    return refs;
  }

  std::vector<hosted_range> hosting() const {
    std::vector<hosted_range> ranges;
    for (const auto& [id, list] : hosts)
      for (const auto& h : list)
        ranges.push_back(h.range);
    return ranges;
  }

  // The identity of a GGUF file, from the cache while its size and mtime are unchanged.
  std::string identity_of(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
      return "";
    const int64_t mtime = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    scanned_file& entry = scanned[path];
    if (entry.mtime_ns != mtime || entry.size != uint64_t(st.st_size)) {
      entry = scanned_file{mtime, uint64_t(st.st_size), ""};
      try {
        entry.identity = gguf::file::open(path).identity();
      } catch (const std::exception& e) {
        log->debug("{} is not a usable GGUF: {}", path, e.what());
      }
    }
    return entry.identity;
  }

  // A local copy of the model with the same identity: the deployer's path if this machine
  // has the same file there, else any *.gguf of the model directory. "" = none.
  std::string find_local_copy(const model_profile& model) {
    if (!opts.use_local_copies)
      return ""; // this node pulls every block from the deployer
    if (!model.path.empty() && identity_of(model.path) == model.identity)
      return model.path;
    if (opts.model_dir.empty())
      return "";
    // Fetched block files in the cache carry the model's identity but only some blocks'
    // bytes: a model directory that is also the cache is not searched.
    std::error_code ec;
    if (!opts.cache_dir.empty() && std::filesystem::equivalent(opts.model_dir, opts.cache_dir, ec))
      return "";
    for (const auto& item : std::filesystem::directory_iterator(opts.model_dir, ec))
      if (item.path().extension() == ".gguf" && identity_of(item.path().string()) == model.identity)
        return item.path().string();
    return "";
  }

  hosted_blocks* find(const std::string& deployment_id, const block_host_actor& host) {
    auto list = hosts.find(deployment_id);
    if (list == hosts.end())
      return nullptr;
    for (auto& h : list->second)
      if (h.host == host)
        return &h;
    return nullptr;
  }

  // Forgets one host; false if it was not (or no longer) known.
  bool forget(const caf::actor_addr& who) {
    for (auto it = hosts.begin(); it != hosts.end(); ++it) {
      auto& list = it->second;
      auto found = std::find_if(list.begin(), list.end(), [&](const hosted_blocks& h) {
        return caf::actor_cast<caf::actor_addr>(h.host) == who;
      });
      if (found != list.end()) {
        list.erase(found);
        if (list.empty())
          hosts.erase(it);
        return true;
      }
    }
    return false;
  }
};

using contributor_pointer = contributor_actor::stateful_pointer<contributor_state>;

void try_join(contributor_pointer self) {
  auto& st = self->state;
  if (st.joined || st.join_pending)
    return;
  st.join_pending = true;
  self->request(st.registry, join_timeout, join_atom::value, st.offer(),
               caf::actor_cast<contributor_actor>(self))
      .then(
          [=](bool accepted) {
            self->state.join_pending = false;
            self->state.joined = accepted;
            self->state.last_join_error.clear();
            if (accepted)
              self->state.log->info("{} joined the registry offering {} and {} cores",
                                    self->state.opts.node_id,
                                    format_bytes(self->state.offer().memory_bytes),
                                    self->state.offer().cores);
            else
              self->state.log->error("the registry refused {} (wrong join token?); retrying",
                                     self->state.opts.node_id);
          },
          [=](caf::error& err) {
            auto& st = self->state;
            st.join_pending = false;
            // Said loudly once, then quietly on every retry until the reason changes.
            const std::string why = error_text(err);
            st.log->log(why == st.last_join_error ? spdlog::level::debug : spdlog::level::err,
                        "{} cannot join the registry: {}; retrying every {} ms", st.opts.node_id,
                        why, st.opts.heartbeat_interval.count());
            st.last_join_error = why;
          });
}

// Tells the registry what this node offers now and what it hosts (so a restarted registry
// can rebuild its deployments from the reports).
void send_heartbeat(contributor_pointer self) {
  if (self->state.joined)
    self->send(self->state.registry, heartbeat_atom::value, self->state.offer(),
               self->state.host_refs());
}

caf::result<host_ref> load(contributor_pointer self, load_order order, deployer_actor deployer) {
  auto& st = self->state;
  const std::string blocks =
      "blocks [" + std::to_string(order.first) + ", " + std::to_string(order.last) + ")";
  if (order.first < 0 || order.last <= order.first || order.last > order.model.n_blocks)
    return make_llamps_error("node " + st.opts.node_id + ": " + blocks + " are not blocks of " +
                             order.model.name);
  const uint64_t weights = order.model.block_bytes * uint64_t(order.last - order.first);
  const uint64_t needed = weights + order.kv_budget_bytes;
  const uint64_t left = st.offer().memory_bytes;
  if (left < needed)
    return make_llamps_error("node " + st.opts.node_id + " has only " + format_bytes(left) +
                             " left but " + blocks + " of " + order.model.name + " need " +
                             format_bytes(needed));
  order.local_path = st.find_local_copy(order.model);
  block_host_options host_opts;
  host_opts.node_id = st.opts.node_id;
  host_opts.compute_threads = st.opts.share_cores;
  host_opts.owner = self->address();
  if (!st.opts.cache_dir.empty())
    host_opts.cache_dir = st.opts.cache_dir;
  auto host = spawn_block_host(self->system(), host_opts);
  self->monitor(host);
  hosted_range planned;
  planned.model = order.model.name;
  planned.first = order.first;
  planned.last = order.last;
  planned.weight_bytes = weights;
  planned.kv_budget_bytes = order.kv_budget_bytes;
  st.hosts[order.deployment_id].push_back(hosted_blocks{host, planned, false});
  st.log->info("loading {} of {} for {} ({})", blocks, order.model.name, order.deployment_id,
               order.local_path.empty() ? "fetching from the deployer"
                                        : "from local copy " + order.local_path);
  auto promise = self->make_response_promise<host_ref>();
  const std::string deployment_id = order.deployment_id;
  self->request(host, load_timeout, load_atom::value, std::move(order), std::move(deployer))
      .then(
          [=](hosted_range& loaded) mutable {
            // The deployment may have been unloaded while its host was loading.
            hosted_blocks* mine = self->state.find(deployment_id, host);
            if (!mine) {
              promise.deliver(make_llamps_error("node " + self->state.opts.node_id + ": " +
                                                deployment_id + " was unloaded while loading"));
              return;
            }
            mine->range = loaded;
            mine->ready = true;
            self->state.log->info("{} of {} ready for {}", blocks, loaded.model, deployment_id);
            send_heartbeat(self);
            promise.deliver(host_ref{self->state.opts.node_id, loaded, host});
          },
          [=](caf::error& err) mutable {
            // A host that failed to load holds nothing useful: stop it and free its share.
            self->state.forget(caf::actor_cast<caf::actor_addr>(host));
            self->send_exit(host, caf::exit_reason::kill);
            self->state.log->error("loading {} for {} failed: {}", blocks, deployment_id,
                                   error_text(err));
            promise.deliver(make_llamps_error("node " + self->state.opts.node_id + ": loading " +
                                              blocks + " failed: " + error_text(err)));
          });
  return promise;
}

contributor_actor::behavior_type contributor(contributor_pointer self,
                                             contributor_options opts, registry_actor registry) {
  self->state.opts = std::move(opts);
  self->state.registry = std::move(registry);
  self->monitor(self->state.registry);
  self->set_down_handler([=](caf::down_msg& down) {
    auto& st = self->state;
    if (down.source == caf::actor_cast<caf::actor_addr>(st.registry)) {
      st.log->error("lost the registry ({}); rejoining every {} ms", error_text(down.reason),
                    st.opts.heartbeat_interval.count());
      st.joined = false;
    } else if (st.forget(down.source)) {
      st.log->warn("a block host stopped ({}); its blocks are released", error_text(down.reason));
      send_heartbeat(self);
    }
  });
  self->send(self, tick_atom::value); // the first tick joins
  return {
      [=](load_atom, load_order& order, deployer_actor& deployer) -> caf::result<host_ref> {
        return load(self, std::move(order), std::move(deployer));
      },
      [=](unload_atom, const std::string& deployment_id) -> bool {
        auto found = self->state.hosts.find(deployment_id);
        if (found != self->state.hosts.end()) {
          for (auto& h : found->second) {
            self->demonitor(h.host.address());
            self->send_exit(h.host, caf::exit_reason::user_shutdown);
          }
          self->state.hosts.erase(found);
          self->state.log->info("unloaded {}", deployment_id);
          send_heartbeat(self);
        }
        return true; // nothing of that deployment is hosted here any more
      },
      [=](status_atom) -> server_status {
        server_status s;
        s.offer = self->state.offer();
        s.hosting = self->state.hosting();
        return s;
      },
      [=](tick_atom) {
        if (self->state.joined)
          send_heartbeat(self);
        else
          try_join(self);
        self->delayed_send(self, self->state.opts.heartbeat_interval, tick_atom::value);
      },
  };
}

} // namespace

contributor_actor spawn_contributor(caf::actor_system& sys, const contributor_options& opts,
                                    registry_actor registry) {
  contributor_options named = opts;
  if (named.node_id.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    auto port = named.address.rfind(':');
    named.node_id = std::string(host) + (port == std::string::npos ? "" : named.address.substr(port));
  }
  return sys.spawn(contributor, std::move(named), std::move(registry));
}

} // namespace llamps
