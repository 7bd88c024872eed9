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

// Allocations per call of `step` after warm-up, and the tape's size after many more steps.
template <class Step>
void row(const char* name, std::size_t batch, Step step) {
    namespace wl = workloads;
    constexpr int kSteps = 10000;
    tgbench::Mlp mlp;
    const auto x = tgbench::make({batch, wl::kIn}, 1.0F, 1);
    const tapegrad::Labels y(wl::labels(batch, wl::kClasses));
    for (int i = 0; i < 10; ++i) step(mlp, x, y);  // warm-up
    const std::size_t c0 = g_count, b0 = g_bytes;
    for (int i = 0; i < 100; ++i) step(mlp, x, y);
    const double count = double(g_count - c0) / 100, bytes = double(g_bytes - b0) / 100;
    for (int i = 0; i < kSteps; ++i) step(mlp, x, y);
    std::printf("| %s | %zu | %.0f | %.0f | %zu |\n", name, batch, count, bytes, tapegrad::Tape::current().size());
}

int main() {
    std::printf(
        "| step | batch | heap allocations per step | bytes allocated per step | tape entries after 10000 steps |\n");
    std::printf("|---|---|---|---|---|\n");
    const auto plain = [](auto& mlp, const auto& x, const auto& y) { mlp.step(x, y); };
    const auto penalty = [](auto& mlp, const auto& x, const auto& y) { mlp.penalty_step(x, y); };
    for (std::size_t batch : {std::size_t(1), std::size_t(32)}) row("MLP step", batch, plain);
    for (std::size_t batch : {std::size_t(1), std::size_t(32)})
        row("with a create_graph gradient penalty", batch, penalty);
}
