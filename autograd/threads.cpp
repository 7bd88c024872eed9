#include <tapegrad/autograd/threads.hpp>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>

#include <tapegrad/autograd/errors.hpp>

namespace tapegrad {

namespace {

/// A positive integer from the environment, or 0 when unset or unreadable.
std::size_t from_env(const char* name) {
    const char* text = std::getenv(name);
    if (text == nullptr) return 0;
    char* end = nullptr;
    const long long n = std::strtoll(text, &end, 10);
    return end != text && *end == '\0' && n > 0 ? static_cast<std::size_t>(n) : 0;
}

std::size_t default_threads() {
    for (const char* name : {"OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"}) {
        if (const std::size_t n = from_env(name)) return std::min(n, max_num_threads());
    }
    return max_num_threads();
}

std::atomic<std::size_t>& setting() {
    static std::atomic<std::size_t> threads{default_threads()};
    return threads;
}

}  // namespace

std::size_t max_num_threads() {
    return std::max<std::size_t>(1, std::thread::hardware_concurrency());
}

void set_num_threads(std::size_t n) {
    if (n == 0) fail<ValueError>("set_num_threads: n is 0; at least one thread is needed");
    if (n > max_num_threads()) {
        fail<ValueError>("set_num_threads: n is {}, but this machine has {} hardware threads", n, max_num_threads());
    }
    setting().store(n, std::memory_order_relaxed);
}

std::size_t get_num_threads() {
    return setting().load(std::memory_order_relaxed);
}

}  // namespace tapegrad
