// The sequence position of each (source, key): the last seq seen, its gaps and late arrivals,
// the highest seq applied (the `monotonic` policy's bar), and the last event of the key in the
// store's log (the chain that takt trace follows). With a store, the positions of keys with
// nothing in memory (a finished order's, an asset's) are evicted after a commit and read back
// when an event needs them, as instances are (instance_cache.h).
#ifndef TAKT_ENGINE_STATE_SEQUENCES_H_
#define TAKT_ENGINE_STATE_SEQUENCES_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/event/flat_string_map.h"
#include "engine/event/reorder.h"
#include "engine/state/instance_cache.h"
#include "engine/store/store.h"
#include "takt/status.h"

namespace takt {

class SequencePositions {
 public:
  struct Position {
    int64_t last_seq = 0, gaps = 0, late = 0;
    int64_t last_pos = 0;       // with a store: the key's last event in the log, any outcome
    int64_t last_accepted = 0;  // the highest seq applied
    bool changed = false;       // to be written at the end of the batch
  };

  // The reorder policy's next expected seq of each key is stored with its position.
  explicit SequencePositions(ReorderBuffer* reorder) : reorder_(reorder) {}
  // From now on positions are kept in `store` (not owned), named `where` in errors.
  void Attach(store::Store* store, std::string where);

  // Reads the position of (source, key) back from the store when it was evicted.
  Status Load(std::string_view source, std::string_view key);
  // The position of (source, key), made when new; marked changed when there is a store. Valid
  // until the next call.
  Position& Change(std::string_view source, std::string_view key);
  // A reorder policy moved the key's next expected seq (a key "source\0key").
  Status NextMoved(const std::string& key);
  const Position* Find(std::string_view source, std::string_view key);

  // The end of a batch: the changed positions, with their next expected seq.
  Status Write();
  // After the commit: forgets the positions whose key has no instance in `instances` and no
  // held event, among those the batch changed or read back, and those of the sources in
  // `owners` for each instance key that `instances` just evicted; the store holds them.
  void EvictCommitted(const InstanceCache& instances, const std::vector<std::string>& owners);
  void ForgetBatch();
  // Forgets every position: they are read back as events need them. Returns the gaps and late
  // arrivals of all of them, for the engine's counts.
  Result<store::Store::SequenceTotals> Restore();

 private:
  const std::string& KeyOf(std::string_view source, std::string_view key);
  static std::pair<std::string_view, std::string_view> Split(std::string_view key);
  void MarkChanged(Position& p);
  void Evict(const InstanceCache& instances, const std::string& key);

  ReorderBuffer* reorder_;
  store::Store* store_ = nullptr;
  std::string where_;
  FlatStringMap<Position> positions_;  // by "source\0key"
  std::string key_;  // reused: the key of the last KeyOf()
  uint64_t evicted_ = 0;  // positions in the store and not in memory
  std::vector<std::string> changed_;  // in the batch
  std::vector<std::string> loaded_;   // read back since the last batch
};

}  // namespace takt

#endif  // TAKT_ENGINE_STATE_SEQUENCES_H_
