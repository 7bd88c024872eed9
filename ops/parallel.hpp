/// \file
/// Internal: splitting an op's independent pieces of work across tapegrad's threads. Not installed.
#pragma once

#include <atomic>
#include <cstddef>

namespace tapegrad::detail {

/// Runs share(context, w) for every w in [0, workers): w = 0 on this thread, the others on
/// tapegrad's pool of threads, started once for the process and kept waiting between calls (so an
/// op neither pays for starting threads nor lands its work on a core where a new thread has to
/// wait its turn), and returns when all have. A caller that finds the pool busy (another thread's
/// op, or a call from inside a share) runs share(context, 0) alone: share must do all the work
/// whatever the number of workers it is called for. Fewer workers run where the system refuses a thread.
void run_shared(std::size_t workers, void (*share)(void*, std::size_t), void* context);

/// Calls f(worker, item) once for every item in [0, items), on up to `workers` threads (this one is
/// worker 0, the others come from run_shared's pool), each taking the next item from a shared
/// counter, so a thread the machine holds back takes fewer (a static split would wait for it).
/// Items run in no particular order and concurrently: f must not throw and two items must not
/// write the same memory, except through per-worker state indexed by `worker` (< workers).
template <class F>
void share_items(std::size_t workers, std::size_t items, F f) {
    struct Shared {
        F& f;
        std::size_t items;
        std::atomic<std::size_t> next{0};
    } shared{f, items};
    auto share = [](void* context, std::size_t worker) {
        auto& s = *static_cast<Shared*>(context);
        for (std::size_t i = s.next++; i < s.items; i = s.next++) s.f(worker, i);
    };
    if (workers <= 1 || items <= 1) {
        share(&shared, 0);
        return;
    }
    run_shared(workers < items ? workers : items, share, &shared);
}

}  // namespace tapegrad::detail
