#include "engine/event/reorder.h"

#include <algorithm>

namespace takt {

std::string ReorderBuffer::KeyOf(std::string_view source, std::string_view key) {
  std::string k(source);
  k += '\0';
  k.append(key.data(), key.size());
  return k;
}

const ReorderPolicy* ReorderBuffer::PolicyFor(std::string_view source) const {
  for (const ReorderPolicy& p : policies_) {
    if (p.source == source) return &p;
  }
  return nullptr;
}

ReorderBuffer::KeyState& ReorderBuffer::StateOf(std::string_view source, std::string_view key) {
  key_.assign(source.data(), source.size());
  key_ += '\0';
  key_.append(key.data(), key.size());
  return keys_[key_];
}

bool ReorderBuffer::Arrive(std::string_view source, std::string_view key, int64_t seq,
                           int64_t& next) {
  KeyState& state = StateOf(source, key);
  next = state.next;
  if (seq > state.next) return false;
  if (seq == state.next) state.next = seq + 1;
  return true;
}

void ReorderBuffer::Hold(HeldEvent event) {
  const std::string k = KeyOf(event.source, event.key);
  KeyState& state = keys_[k];
  const int64_t seq = event.seq;
  // A second copy of a held seq under another id: both are kept, the later one just after.
  int64_t slot = seq;
  while (state.held.count(slot) != 0) ++slot;
  state.held.emplace(slot, std::move(event));
  waiting_.insert(k);
  ++held_count_;
}

void ReorderBuffer::Release(KeyState& state, bool all, std::vector<HeldEvent>& out) {
  while (!state.held.empty()) {
    auto first = state.held.begin();
    if (!all && first->second.seq > state.next) break;
    state.next = std::max(state.next, first->second.seq + 1);
    out.push_back(std::move(first->second));
    state.held.erase(first);
    --held_count_;
  }
}

void ReorderBuffer::TakeReady(int64_t now, std::vector<HeldEvent>& out,
                              std::vector<std::string>& keys) {
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    KeyState& state = keys_[*it];
    const int64_t before = state.next;
    Release(state, /*all=*/false, out);
    if (!state.held.empty()) {
      const ReorderPolicy* policy = PolicyFor(state.held.begin()->second.source);
      int64_t oldest = state.held.begin()->second.ts;
      for (const auto& [seq, held] : state.held) oldest = std::min(oldest, held.ts);
      if (state.held.size() > policy->max_held || now - oldest >= policy->max_wait_ms) {
        Release(state, /*all=*/true, out);  // the missing ones are given up on
      }
    }
    if (state.next != before) keys.push_back(*it);
    it = state.held.empty() ? waiting_.erase(it) : std::next(it);
  }
}

int64_t ReorderBuffer::Next(std::string_view source, std::string_view key) const {
  auto it = keys_.find(KeyOf(source, key));
  return it == keys_.end() ? 1 : it->second.next;
}

void ReorderBuffer::SetNext(std::string_view source, std::string_view key, int64_t next) {
  StateOf(source, key).next = next;
}

bool ReorderBuffer::Forget(std::string_view source, std::string_view key) {
  auto it = keys_.find(KeyOf(source, key));
  if (it == keys_.end()) return true;
  if (!it->second.held.empty()) return false;
  keys_.erase(it);
  return true;
}

void ReorderBuffer::Clear() {
  keys_.clear();
  waiting_.clear();
  held_count_ = 0;
}

}  // namespace takt
