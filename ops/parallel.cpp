#include <tapegrad/ops/parallel.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include <unistd.h>

namespace tapegrad::detail {

namespace {

/// The helper threads: each waits for a new round (briefly awake, then asleep on a condition
/// variable), runs its share if the round wants it, and reports back. One round at a time; the
/// caller of a round is its worker 0.
class Pool {
public:
    /// Runs a round on up to `workers` threads; false (nothing run) when a round is already on.
    bool run(std::size_t workers, void (*share)(void*, std::size_t), void* context) {
        std::unique_lock lock(mutex_);
        if (busy_) return false;
        while (helpers_.size() + 1 < workers) {
            try {
                helpers_.emplace_back([this, index = helpers_.size() + 1] { serve(index); });
            } catch (const std::system_error&) {
                workers = helpers_.size() + 1;
            }
        }
        busy_ = true;
        share_ = share;
        context_ = context;
        wanted_ = workers;
        pending_ = workers - 1;
        ++round_;
        lock.unlock();
        wake_.notify_all();
        share(context, 0);
        lock.lock();
        done_.wait(lock, [this] { return pending_ == 0; });
        busy_ = false;
        return true;
    }

private:
    void serve(std::size_t index) {
        std::uint64_t seen = 0;
        std::unique_lock lock(mutex_);
        for (;;) {
            if (round_ == seen) {
                lock.unlock();
                await_briefly(seen);
                lock.lock();
            }
            wake_.wait(lock, [&] { return round_ != seen; });
            seen = round_;
            if (index >= wanted_) continue;
            lock.unlock();
            share_(context_, index);
            lock.lock();
            if (--pending_ == 0) done_.notify_one();
        }
    }

    /// Waits up to kSpin for a round after `seen` without sleeping: ops often hand out work again
    /// within microseconds (the next layer's products), and a sleeping thread takes ~15-20 us to
    /// wake on these machines, as long as a small product (bench/RESULTS.md, "jvp: the value's and
    /// the tangent's products at once"). Yielding while it waits, so a thread with work on this core
    /// (an OpenBLAS worker) runs first; OpenMP runtimes and OpenBLAS wait the same way, longer.
    void await_briefly(std::uint64_t seen) const {
        constexpr auto kSpin = std::chrono::microseconds(50);
        const auto until = std::chrono::steady_clock::now() + kSpin;
        while (round_.load(std::memory_order_relaxed) == seen && std::chrono::steady_clock::now() < until) {
            std::this_thread::yield();
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_, done_;
    std::vector<std::thread> helpers_;  // never joined: they live as long as the process
    bool busy_ = false;
    std::atomic<std::uint64_t> round_ = 0;  // written under mutex_, also read without it by await_briefly
    std::size_t wanted_ = 0, pending_ = 0;
    void (*share_)(void*, std::size_t) = nullptr;
    void* context_ = nullptr;
};

/// The process's pool, made at first use and never destroyed (its threads wait until the process
/// ends; destroying it at exit would have to stop them first). A child made by fork() has none of
/// its parent's threads, so it makes a pool of its own.
Pool& pool() {
    static std::atomic<Pool*> current{nullptr};
    static std::atomic<pid_t> owner{0};
    static std::mutex making;
    const pid_t self = ::getpid();
    if (Pool* p = current.load(std::memory_order_acquire); p != nullptr && owner.load() == self) return *p;
    std::lock_guard lock(making);
    if (current.load() == nullptr || owner.load() != self) {
        owner.store(self);
        current.store(new Pool, std::memory_order_release);  // the parent's, if any, is left as it is
    }
    return *current.load();
}

}  // namespace

void run_shared(std::size_t workers, void (*share)(void*, std::size_t), void* context) {
    if (workers <= 1 || !pool().run(workers, share, context)) share(context, 0);
}

}  // namespace tapegrad::detail
