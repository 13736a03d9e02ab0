#include "engine/serve/read_clock.h"

#include <utility>

namespace takt::serve {
namespace {

thread_local std::chrono::steady_clock::time_point t_request_began;

}  // namespace

void TimedThreadPool::enqueue(std::function<void()> fn) {
  pool_.enqueue([fn = std::move(fn)] {
    t_request_began = std::chrono::steady_clock::now();
    fn();
  });
}

void NoteAnswerWritten() { t_request_began = std::chrono::steady_clock::now(); }

std::chrono::steady_clock::duration TimeSinceRequestBegan() {
  return std::chrono::steady_clock::now() - t_request_began;
}

}  // namespace takt::serve
