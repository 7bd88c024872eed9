// Steady memory: 10,000 training steps of a small MLP leave the tape empty after every backward
// and the number of live heap allocations the same as after the first steps. This program
// replaces the global operator new/delete to count live allocations.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>

#include <catch2/catch.hpp>
#include <tapegrad/tapegrad.hpp>

namespace {
std::atomic<long> live{0};
std::atomic<long> made{0};  // allocations ever made

void* counted(std::size_t n) {
    void* p = std::malloc(n == 0 ? 1 : n);
    if (!p) throw std::bad_alloc();
    live.fetch_add(1, std::memory_order_relaxed);
    made.fetch_add(1, std::memory_order_relaxed);
    return p;
}
void* counted_aligned(std::size_t n, std::align_val_t al) {
    const auto a = static_cast<std::size_t>(al);
    void* p = std::aligned_alloc(a, (n + a - 1) / a * a);
    if (!p) throw std::bad_alloc();
    live.fetch_add(1, std::memory_order_relaxed);
    made.fetch_add(1, std::memory_order_relaxed);
    return p;
}
void release(void* p) noexcept {
    if (!p) return;
    live.fetch_sub(1, std::memory_order_relaxed);
    std::free(p);
}
}  // namespace

void* operator new(std::size_t n) {
    return counted(n);
}
void* operator new[](std::size_t n) {
    return counted(n);
}
void* operator new(std::size_t n, std::align_val_t a) {
    return counted_aligned(n, a);
}
void* operator new[](std::size_t n, std::align_val_t a) {
    return counted_aligned(n, a);
}
// The nothrow forms too (Catch2 uses them): every allocation must come from this set.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    void* p = std::malloc(n == 0 ? 1 : n);
    if (p) {
        live.fetch_add(1, std::memory_order_relaxed);
        made.fetch_add(1, std::memory_order_relaxed);
    }
    return p;
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept {
    return operator new(n, t);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
    release(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
    release(p);
}
void operator delete(void* p) noexcept {
    release(p);
}
void operator delete[](void* p) noexcept {
    release(p);
}
void operator delete(void* p, std::size_t) noexcept {
    release(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    release(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
    release(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
    release(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
    release(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
    release(p);
}

namespace tg = tapegrad;

TEST_CASE("memory: 10,000 training steps keep the tape empty and live allocations flat", "[reliability][memory]") {
    tg::Generator gen(4);
    auto net = tg::nn::mlp<float>({4, 8, 3}, tg::nn::Activation::ReLU, gen);
    tg::optim::Adam<float> opt(net.parameters(), {.lr = 1e-3});
    const tg::TensorF x = tg::randn<float>({8, 4}, gen);
    const tg::Labels y = {0, 1, 2, 0, 1, 2, 0, 1};
    std::size_t nonempty_tapes = 0;
    long after_warmup = 0, low = 0, high = 0;
    const int steps = 10000, warmup = 50;
    for (int s = 0; s < steps; ++s) {
        opt.zero_grad();
        tg::TensorF loss = tg::cross_entropy(net(x), y);
        loss.backward();
        if (tg::Tape::current().size() != 0) ++nonempty_tapes;
        opt.step();
        // Counted at the same point of every step (the loss still alive).
        const long now = live.load();
        if (s == warmup) after_warmup = low = high = now;
        if (s > warmup) {
            low = std::min(low, now);
            high = std::max(high, now);
        }
    }
    INFO("live allocations after warm-up: " << after_warmup << "; over the next " << steps - warmup - 1
                                            << " steps between " << low << " and " << high);
    CHECK(nonempty_tapes == 0);
    CHECK(after_warmup > 100);  // the counter sees the library's allocations (model, optimiser state)
    CHECK(low == after_warmup);
    CHECK(high == after_warmup);
    CHECK(tg::detail::TapeAccess::entries(tg::Tape::current()).empty());
}

// A step's tensors, nodes, closures and work lists come from per-thread pools once the first steps
// have filled them: a steady training step calls operator new not at all.
TEST_CASE("memory: a training step allocates nothing after warm-up (modules, Adam, create_graph)",
          "[reliability][memory]") {
#if defined(__SANITIZE_ADDRESS__)
    WARN("skipped under AddressSanitizer: the pools are off there so that ASan sees every free");
    return;
#endif
    tg::Generator gen(5);
    auto net = tg::nn::mlp<float>({6, 16, 16, 4}, tg::nn::Activation::ReLU, gen);
    auto params = net.parameters();
    tg::optim::Adam<float> opt(params, {.lr = 1e-3});
    const tg::TensorF x = tg::randn<float>({5, 6}, gen);
    const tg::Labels y = {0, 1, 2, 3, 0};
    std::vector<tg::TensorF> outputs(1);
    auto step = [&](bool penalty) {
        opt.zero_grad();
        outputs[0] = tg::cross_entropy(net(x), y);
        tg::TensorF total = outputs[0];
        if (penalty) {  // a gradient penalty: the first backward is recorded and differentiated again
            const auto grads = tg::grad<float>(outputs, params, {}, std::nullopt, /*create_graph=*/true);
            for (const auto& g : grads) total = total + tg::sum(tg::square(g)) * 1e-3F;
        }
        total.backward();
        opt.step();
    };
    for (bool penalty : {false, true}) {
        for (int s = 0; s < 20; ++s) step(penalty);
        const long before = made.load();
        for (int s = 0; s < 50; ++s) step(penalty);
        const long count = made.load() - before;  // read before INFO, which allocates its message
        INFO((penalty ? "with" : "without") << " a create_graph penalty: " << count << " allocations in 50 steps");
        CHECK(count == 0);
    }
}
