// Counts heap allocations (global operator new) per MLP train step after warm-up, and checks
// that the tape stays empty over 10,000 steps: the memory side of bench/RESULTS.md.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>

#include "tapegrad_mlp.hpp"

namespace {
std::atomic<std::size_t> g_count{0};
std::atomic<std::size_t> g_bytes{0};
}  // namespace

void* operator new(std::size_t n) {
    g_count.fetch_add(1, std::memory_order_relaxed);
    g_bytes.fetch_add(n, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}

int main() {
    namespace wl = workloads;
    constexpr int kSteps = 10000;
    std::printf("| batch | heap allocations per step | bytes allocated per step | tape entries after %d steps |\n",
                kSteps);
    std::printf("|---|---|---|---|\n");
    for (std::size_t batch : {std::size_t(1), std::size_t(32)}) {
        tgbench::Mlp mlp;
        const auto x = tgbench::make({batch, wl::kIn}, 1.0F, 1);
        const auto y = wl::labels(batch, wl::kClasses);
        for (int i = 0; i < 10; ++i) mlp.step(x, y);  // warm-up
        const std::size_t c0 = g_count, b0 = g_bytes;
        for (int i = 0; i < 100; ++i) mlp.step(x, y);
        const double count = double(g_count - c0) / 100, bytes = double(g_bytes - b0) / 100;
        for (int i = 0; i < kSteps; ++i) mlp.step(x, y);
        std::printf("| %zu | %.0f | %.0f | %zu |\n", batch, count, bytes, tapegrad::Tape::current().size());
    }
}
