// The `reorder` ordering policy: per (source, key), events whose seq is ahead of the next one
// expected wait here until the missing ones arrive, or until a limit of the source's policy is
// reached (too many waiting, or waiting too long in event time), and then leave in seq order.
#ifndef TAKT_ENGINE_EVENT_REORDER_H_
#define TAKT_ENGINE_EVENT_REORDER_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "takt/engine.h"

namespace takt {

// An event held back, with what it takes to apply it later.
struct HeldEvent {
  uint64_t pos = 0;  // where it was submitted
  std::string source, key, id, body;
  int64_t seq = 0, ts = 0;
};

class ReorderBuffer {
 public:
  explicit ReorderBuffer(std::vector<ReorderPolicy> policies) : policies_(std::move(policies)) {}

  // The policy of `source`, or null when it is strict.
  const ReorderPolicy* PolicyFor(std::string_view source) const;
  // An event of (source, key) with `seq` arrives. In turn (or late), it is to be applied now,
  // and the next expected seq moves past it: true. Ahead of the next expected (sequences start
  // at 1), it must be held: false, with that next expected seq in `next`.
  bool Arrive(std::string_view source, std::string_view key, int64_t seq, int64_t& next);
  void Hold(HeldEvent event);
  // Appends to `out`, in the order to apply them, the held events whose turn has come and those
  // whose limits are reached at event time `now` (the gap before them is then given up); `keys`
  // gets the (source, key)s whose next expected seq moved, as "source\0key".
  void TakeReady(int64_t now, std::vector<HeldEvent>& out, std::vector<std::string>& keys);
  size_t held() const { return held_count_; }

  // For the store: the next expected seq of (source, key), 1 when nothing was seen.
  int64_t Next(std::string_view source, std::string_view key) const;
  void SetNext(std::string_view source, std::string_view key, int64_t next);
  // Forgets (source, key), whose next expected seq the store keeps, unless it holds events:
  // false then.
  bool Forget(std::string_view source, std::string_view key);
  void Clear();

 private:
  struct KeyState {
    int64_t next = 1;
    std::map<int64_t, HeldEvent> held;  // by seq
  };
  static std::string KeyOf(std::string_view source, std::string_view key);
  // The state of (source, key), created when new; looked up through a reused key buffer.
  KeyState& StateOf(std::string_view source, std::string_view key);
  // Moves the events of `state` that are next in turn (or all, when `all`) into `out`.
  void Release(KeyState& state, bool all, std::vector<HeldEvent>& out);

  std::vector<ReorderPolicy> policies_;
  std::unordered_map<std::string, KeyState> keys_;  // "source\0key"
  std::set<std::string> waiting_;                   // keys with held events
  size_t held_count_ = 0;
  std::string key_;  // reused by StateOf()
};

}  // namespace takt

#endif  // TAKT_ENGINE_EVENT_REORDER_H_
