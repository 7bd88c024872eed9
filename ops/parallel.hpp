/// \file
/// Internal: splitting an op's independent pieces of work across tapegrad's threads. Not installed.
#pragma once

#include <atomic>
#include <cstddef>
#include <system_error>
#include <thread>
#include <vector>

namespace tapegrad::detail {

/// Calls f(worker, item) once for every item in [0, items), on `workers` threads: this one is
/// worker 0, the others are started here and joined before returning, and each takes the next item
/// from a shared counter, so a thread the machine holds back takes fewer (a static split would wait
/// for it). Items run in no particular order and concurrently: f must not throw and two items must
/// not write the same memory, except through per-worker state indexed by `worker` (< workers).
/// Where the system refuses a thread, the ones started and this one share the items all the same.
template <class F>
void share_items(std::size_t workers, std::size_t items, F f) {
    std::atomic<std::size_t> next{0};
    auto share = [&f, &next, items](std::size_t worker) {
        for (std::size_t i = next++; i < items; i = next++) f(worker, i);
    };
    std::vector<std::thread> helpers;
    try {
        for (std::size_t w = 1; w < workers; ++w) helpers.emplace_back(share, w);
    } catch (const std::system_error&) {
    }
    share(0);
    for (auto& h : helpers) h.join();
}

}  // namespace tapegrad::detail
