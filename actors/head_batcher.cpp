// head_batcher: the client side's output head, shared by the sessions of one model in one
// process. Sessions whose steps come back at about the same time ask for their logits
// together; the batcher waits for what is already in its mailbox (the same flush trick as
// the block hosts) and runs one batched product over the vocabulary matrix for all of them.
#include <map>
#include <mutex>

#include "actors/actors.hpp"
#include "model/client_model.hpp"

namespace llamps {

namespace {

struct pending_logits {
  std::vector<float> hidden;
  caf::typed_response_promise<std::vector<float>> promise;
};

struct head_batcher_state {
  const char* name = "head_batcher";
  std::shared_ptr<const client_model> model;
  std::vector<pending_logits> queue;
  bool flush_pending = false;
};

using batcher_pointer = head_actor::stateful_pointer<head_batcher_state>;

void flush(batcher_pointer self) {
  auto& st = self->state;
  st.flush_pending = false;
  auto queue = std::move(st.queue);
  st.queue.clear();
  std::vector<const float*> rows;
  for (auto& q : queue)
    rows.push_back(q.hidden.data());
  try {
    auto logits = st.model->head.logits(rows);
    for (size_t i = 0; i < queue.size(); ++i)
      queue[i].promise.deliver(std::move(logits[i]));
  } catch (const std::exception& e) {
    for (auto& q : queue)
      q.promise.deliver(make_llamps_error(std::string("output head: ") + e.what()));
  }
}

head_actor::behavior_type head_batcher(batcher_pointer self, std::shared_ptr<const client_model> model) {
  self->state.model = std::move(model);
  return {
    [=](logits_atom, std::vector<float>& hidden) -> caf::result<std::vector<float>> {
      auto& st = self->state;
      if (hidden.size() != static_cast<size_t>(st.model->config.n_embd))
        return make_llamps_error("output head: a row of " + std::to_string(hidden.size()) +
                                 " values, the model is " + std::to_string(st.model->config.n_embd) + " wide");
      auto promise = self->make_response_promise<std::vector<float>>();
      st.queue.push_back({std::move(hidden), promise});
      if (!st.flush_pending) {
        st.flush_pending = true;
        self->send(self, flush_atom::value);
      }
      return promise;
    },
    [=](flush_atom) { flush(self); },
  };
}

} // namespace

head_actor head_batcher_for(caf::actor_system& sys, std::shared_ptr<const client_model> model) {
  // One batcher per model and actor system. The map only remembers addresses: the sessions
  // hold the batcher alive, and it goes away with the last of them.
  static std::mutex mutex;
  static std::map<std::pair<caf::actor_system*, std::string>, caf::actor_addr> batchers;
  std::lock_guard<std::mutex> guard{mutex};
  auto& addr = batchers[{&sys, model->path}];
  if (auto existing = caf::actor_cast<head_actor>(addr))
    return existing;
  auto spawned = sys.spawn(head_batcher, std::move(model));
  addr = spawned.address();
  return spawned;
}

} // namespace llamps
