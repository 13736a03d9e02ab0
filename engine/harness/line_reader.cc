#include "engine/harness/line_reader.h"

#include <algorithm>
#include <cstring>

namespace takt::sim {
namespace {

constexpr size_t kReadBytes = size_t{1} << 20;

}  // namespace

bool LineReader::Next(std::string_view& line, bool& unterminated) {
  unterminated = false;
  if (reads_ == Reads::kLineByLine) {
    if (!std::getline(in_, buffer_)) return false;
    line = buffer_;
    unterminated = in_.eof();
    return true;
  }
  for (;;) {
    const char* const from = buffer_.data() + begin_;
    if (const auto* newline = static_cast<const char*>(std::memchr(from, '\n', end_ - begin_))) {
      line = std::string_view(from, static_cast<size_t>(newline - from));
      begin_ += line.size() + 1;
      return true;
    }
    if (ended_) {
      if (begin_ == end_) return false;
      line = std::string_view(from, end_ - begin_);
      begin_ = end_;
      unterminated = true;
      return true;
    }
    // The part of a line read so far goes to the front, and the next read follows it, into
    // room for at least as much again (a long line doubles the buffer, not adds to it).
    const size_t held = end_ - begin_;
    std::memmove(&buffer_[0], from, held);
    begin_ = 0;
    end_ = held;
    buffer_.resize(std::max(buffer_.size(), held + std::max(held, kReadBytes)));
    in_.read(&buffer_[end_], static_cast<std::streamsize>(buffer_.size() - end_));
    const auto got = static_cast<size_t>(in_.gcount());
    end_ += got;
    if (got == 0 || !in_) ended_ = true;
  }
}

}  // namespace takt::sim
