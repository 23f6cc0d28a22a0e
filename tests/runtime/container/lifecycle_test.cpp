#include "runtime/container/lifecycle.hpp"

#include <gtest/gtest.h>

namespace {

using namespace sb::container;
using S = RunState;
using E = RunEvent;

std::optional<S> run(std::initializer_list<E> events, S from = S::pending) {
  std::optional<S> s = from;
  for (E e : events) {
    s = next_state(*s, e);
    if (!s) return std::nullopt;
  }
  return s;
}

TEST(Lifecycle, HappyPathThroughATurnToExited) {
  EXPECT_EQ(run({E::prepare, E::prepared, E::started, E::turn_begin, E::turn_done, E::stop, E::exited}), S::exited);
}

TEST(Lifecycle, CleanExitWhileIdleIsExited) {
  EXPECT_EQ(run({E::prepare, E::prepared, E::started, E::exited}), S::exited);
}

TEST(Lifecycle, ExitDuringATurnIsACrash) {
  EXPECT_EQ(run({E::prepare, E::prepared, E::started, E::turn_begin, E::exited}), S::failed);
  EXPECT_EQ(run({E::prepare, E::prepared, E::started, E::turn_begin, E::crashed}), S::failed);
}

TEST(Lifecycle, CrashRestartsThroughBackoff) {
  EXPECT_EQ(run({E::crashed, E::retry, E::retry_due, E::started}, S::running), S::idle);
}

TEST(Lifecycle, BudgetSpentEndsDead) {
  EXPECT_EQ(run({E::crashed, E::give_up}, S::idle), S::dead);
}

TEST(Lifecycle, AnExitAfterAStopIsAStopEvenIfKilled) {
  EXPECT_EQ(run({E::stop, E::crashed}, S::running), S::exited);
  EXPECT_EQ(run({E::stop, E::exited}, S::idle), S::exited);
}

TEST(Lifecycle, StopBeforeAnyContainerEndsWithoutOne) {
  EXPECT_EQ(run({E::stop}, S::pending), S::exited);
  EXPECT_EQ(run({E::stop}, S::backoff), S::exited);
  EXPECT_EQ(run({E::stop}, S::failed), S::exited);
}

TEST(Lifecycle, TerminalStatesAcceptNothing) {
  for (S t : {S::exited, S::dead})
    for (int e = 0; e <= static_cast<int>(E::give_up); ++e)
      EXPECT_FALSE(next_state(t, static_cast<E>(e)).has_value()) << to_string(t) << " " << to_string(static_cast<E>(e));
}

TEST(Lifecycle, InvalidTransitionsAreRefused) {
  EXPECT_FALSE(next_state(S::pending, E::started));
  EXPECT_FALSE(next_state(S::idle, E::retry_due));
  EXPECT_FALSE(next_state(S::backoff, E::turn_begin));
  EXPECT_FALSE(next_state(S::failed, E::started));
}

TEST(Lifecycle, NamesRoundTrip) {
  for (int i = 0; i <= static_cast<int>(S::dead); ++i) {
    auto s = static_cast<S>(i);
    EXPECT_EQ(parse_run_state(to_string(s)), s);
  }
  EXPECT_FALSE(parse_run_state("sleeping"));
  EXPECT_TRUE(container_alive(S::idle));
  EXPECT_FALSE(container_alive(S::backoff));
  EXPECT_TRUE(is_terminal(S::dead));
}

}  // namespace
