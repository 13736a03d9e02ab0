// When the server began waiting for the request a worker thread is reading, so that a read
// that failed can be told apart: one that gave up after read_timeout_ms (408) from a request
// that was broken (400). cpp-httplib 0.11 answers 400 to both and has no hook where a request
// begins; its task queue (where a connection begins) and its logger (where an answer ends) are
// the two places we can see, and a request begins at the later of the two.
#ifndef TAKT_ENGINE_SERVE_READ_CLOCK_H_
#define TAKT_ENGINE_SERVE_READ_CLOCK_H_

#include <httplib.h>

#include <chrono>
#include <cstddef>

namespace takt::serve {

// The worker threads of the server: httplib's pool, with each connection's start noted on the
// thread that serves it.
class TimedThreadPool final : public httplib::TaskQueue {
 public:
  explicit TimedThreadPool(size_t threads) : pool_(threads) {}
  void enqueue(std::function<void()> fn) override;
  void shutdown() override { pool_.shutdown(); }

 private:
  httplib::ThreadPool pool_;
};

// Notes, on the calling worker thread, that an answer was written (the logger calls it).
void NoteAnswerWritten();

// How long the calling worker thread has been waiting for its current request: since its
// connection began or its last answer was written, whichever is later.
std::chrono::steady_clock::duration TimeSinceRequestBegan();

}  // namespace takt::serve

#endif  // TAKT_ENGINE_SERVE_READ_CLOCK_H_
