// Lathe: a minimal hls::stream for g++ C-simulation of HLS C++ (the subset Lathe's
// generated code uses). A stream is a FIFO; `depth` 0 means unbounded, as in C-simulation.
// A blocking read of an empty stream would hang real C-simulation; here it aborts loudly.
#pragma once
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <deque>

namespace hls {

template <typename T>
class stream {
 public:
  explicit stream(const char* name = "stream", std::size_t depth = 0) : name_(name), depth_(depth) {}
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;

  bool empty() const { return q_.empty(); }
  bool full() const { return depth_ != 0 && q_.size() >= depth_; }
  std::size_t size() const { return q_.size(); }

  void write(const T& v) {
    if (full()) { std::fprintf(stderr, "hls::stream %s: write to a full stream\n", name_); std::abort(); }
    q_.push_back(v);
  }
  T read() {
    if (q_.empty()) { std::fprintf(stderr, "hls::stream %s: read from an empty stream\n", name_); std::abort(); }
    T v = q_.front();
    q_.pop_front();
    return v;
  }
  bool read_nb(T& v) {
    if (q_.empty()) return false;
    v = read();
    return true;
  }
  bool write_nb(const T& v) {
    if (full()) return false;
    q_.push_back(v);
    return true;
  }
  void operator<<(const T& v) { write(v); }
  void operator>>(T& v) { v = read(); }

 private:
  const char* name_;
  std::size_t depth_;
  std::deque<T> q_;
};

}  // namespace hls
