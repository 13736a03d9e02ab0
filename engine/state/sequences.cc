// Sequence positions in memory, and moving them between memory and the store.
#include "engine/state/sequences.h"

#include <cstring>
#include <utility>

namespace takt {

void SequencePositions::Attach(store::Store* store, std::string where) {
  store_ = store;
  where_ = std::move(where);
}

const std::string& SequencePositions::KeyOf(std::string_view source, std::string_view key) {
  // Written in place: once key_ has room (after the first events) no call into the string's
  // code but a resize when the length changes. Every event comes here.
  const size_t size = source.size() + 1 + key.size();
  if (key_.size() != size) key_.resize(size);
  char* out = key_.data();
  if (!source.empty()) std::memcpy(out, source.data(), source.size());
  out[source.size()] = '\0';
  if (!key.empty()) std::memcpy(out + source.size() + 1, key.data(), key.size());
  return key_;
}

std::pair<std::string_view, std::string_view> SequencePositions::Split(std::string_view key) {
  const size_t split = key.find('\0');
  return {key.substr(0, split), key.substr(split + 1)};
}

void SequencePositions::MarkChanged(Position& p) {
  if (store_ == nullptr || p.changed) return;
  p.changed = true;
  changed_.push_back(key_);
}

Status SequencePositions::Load(std::string_view source, std::string_view key) {
  if (evicted_ == 0 || positions_.Lookup(KeyOf(source, key)) != nullptr) return Status();
  store::SequenceRow row;
  Result<bool> loaded = store_->LoadSequence(source, key, row);
  if (!loaded.ok()) {
    return Status::IoError("loading the sequence position of " + std::string(source) + "/" +
                           std::string(key) + " from " + where_ + ": " +
                           loaded.status().message());
  }
  if (!loaded.value()) return Status();
  positions_[key_] =
      Position{row.last_seq, row.gaps, row.late, row.last_pos, row.last_accepted, false};
  if (row.next_seq != 1) reorder_->SetNext(source, key, row.next_seq);
  --evicted_;
  loaded_.push_back(key_);
  return Status();
}

SequencePositions::Position& SequencePositions::Change(std::string_view source,
                                                       std::string_view key) {
  Position& p = positions_[KeyOf(source, key)];
  MarkChanged(p);
  return p;
}

Status SequencePositions::NextMoved(const std::string& key) {
  const auto [source, seq_key] = Split(key);
  // A key holding events stays in memory: reading it back is a safeguard.
  TAKT_RETURN_IF_ERROR(Load(source, seq_key));
  Change(source, seq_key);
  return Status();
}

const SequencePositions::Position* SequencePositions::Find(std::string_view source,
                                                           std::string_view key) {
  return positions_.Lookup(KeyOf(source, key));
}

Status SequencePositions::Write() {
  for (const std::string& key : changed_) {
    const Position& p = positions_[key];
    const auto [source, seq_key] = Split(key);
    TAKT_RETURN_IF_ERROR(store_->PutSequence(store::SequenceRow{
        source, seq_key, p.last_seq, p.gaps, p.late, reorder_->Next(source, seq_key), p.last_pos,
        p.last_accepted}));
  }
  return Status();
}

void SequencePositions::Evict(const InstanceCache& instances, const std::string& key) {
  const auto [source, seq_key] = Split(key);
  const std::string_view instance_key = seq_key;  // C++17 lambdas cannot capture a binding
  bool in_memory = false;
  instances.ForEachRunner([&](const WorkflowRunner& runner) {
    in_memory = in_memory || runner.Find(instance_key) != nullptr;
  });
  if (in_memory || !reorder_->Forget(source, seq_key)) return;
  if (positions_.Erase(key)) ++evicted_;
}

void SequencePositions::EvictCommitted(const InstanceCache& instances,
                                       const std::vector<std::string>& owners) {
  for (const std::string& key : changed_) Evict(instances, key);
  for (const std::string& key : loaded_) Evict(instances, key);
  loaded_.clear();
  // A finished order's positions that this batch did not touch: those of the other sources.
  for (const std::string& instance_key : instances.evicted_keys()) {
    for (const std::string& source : owners) {
      const std::string key = KeyOf(source, instance_key);
      if (positions_.Lookup(key) != nullptr) Evict(instances, key);
    }
  }
}

void SequencePositions::ForgetBatch() {
  for (const std::string& key : changed_) {
    if (Position* p = positions_.Lookup(key)) p->changed = false;
  }
  changed_.clear();
  loaded_.clear();
}

Result<store::Store::SequenceTotals> SequencePositions::Restore() {
  positions_.Clear();
  changed_.clear();
  loaded_.clear();
  Result<store::Store::SequenceTotals> totals = store_->SequenceTotalsOfAll();
  if (!totals.ok()) return totals.status();
  evicted_ = totals.value().count;
  return totals;
}

}  // namespace takt
