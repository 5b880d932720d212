// head_batcher: the client side's output head, shared by the sessions of one model in one
// process. Sessions whose steps came back in one batch from the last host ask for their
// logits with that batch's id and size; the batcher waits (briefly) until every member of
// the batch has asked, and runs one batched product over the vocabulary matrix for them all.
// So the sessions' next steps leave together, and the first host need not wait for them.
#include <map>

#include "actors/protocol/actors.hpp"
#include "actors/support/batch_assembler.hpp"
#include "model/decoder/client_model.hpp"

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
  batch_assembler arriving;
  flush_timer flush;
};

using batcher_pointer = head_actor::stateful_pointer<head_batcher_state>;

void flush(batcher_pointer self) {
  auto& st = self->state;
  st.arriving.clear();
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
      [=](logits_atom, std::vector<float>& hidden, uint64_t batch,
          int32_t batch_size) -> caf::result<std::vector<float>> {
        auto& st = self->state;
        if (hidden.size() != static_cast<size_t>(st.model->config.n_embd))
          return make_llamps_error("output head: a row of " + std::to_string(hidden.size()) +
                                   " values, the model is " + std::to_string(st.model->config.n_embd) +
                                   " wide");
        auto promise = self->make_response_promise<std::vector<float>>();
        st.queue.push_back({std::move(hidden), promise});
        st.arriving.arrived(batch, batch_size);
        // Now (once the mailbox's other requests are in) or when the rest had time to come.
        if (st.arriving.complete())
          st.flush.now(self, [=] { flush(self); });
        else
          st.flush.schedule(self, max_batch_rest_wait);
        return promise;
      },
      [=](flush_atom, uint64_t round) {
        if (self->state.flush.take(round))
          flush(self);
      },
  };
}

} // namespace

head_actor head_batcher_for(caf::actor_system& sys, std::shared_ptr<const client_model> model) {
  // One batcher per model and actor system; the sessions hold it alive.
  const std::string path = model->path;
  return process_local<head_actor>(sys, path, [&] { return sys.spawn(head_batcher, std::move(model)); });
}

} // namespace llamps
