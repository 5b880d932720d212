#pragma once
// The one blocking request-and-wait, for code that is not an actor (commands, the block-file
// fetch, embedding programs): asks `dest` and returns its answer of type T, or throws
// std::runtime_error with the error's one-line text (a timeout included).
#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>

#include <caf/all.hpp>

#include "actors/protocol/protocol.hpp"

namespace llamps {

// From an existing scoped actor (a loop of asks reuses one).
template <class T, class Handle, class Rep, class Period, class... Ts>
T blocking_ask(caf::scoped_actor& self, const Handle& dest, std::chrono::duration<Rep, Period> timeout,
               Ts&&... xs) {
  T out{};
  std::string failure;
  self->request(dest, timeout, std::forward<Ts>(xs)...)
      .receive([&](T& x) { out = std::move(x); }, [&](caf::error& e) { failure = error_text(e); });
  if (!failure.empty())
    throw std::runtime_error(failure);
  return out;
}

template <class T, class Handle, class Rep, class Period, class... Ts>
T blocking_ask(caf::actor_system& sys, const Handle& dest, std::chrono::duration<Rep, Period> timeout,
               Ts&&... xs) {
  caf::scoped_actor self{sys};
  return blocking_ask<T>(self, dest, timeout, std::forward<Ts>(xs)...);
}

} // namespace llamps
