// What is thread-safe (docs/reliability.md, "Thread safety"): each thread records and
// differentiates its own graphs; leaves (parameters, inputs) may be shared between threads, and
// gradients that several threads' backward passes accumulate into one leaf's .grad() add up
// exactly as if the passes ran one after another. References are plain loops, never the engine.
#include <algorithm>
#include <cstddef>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <tapegrad/tapegrad.hpp>

#include "autograd/says.hpp"

namespace tg = tapegrad;
using tg::TensorD;

namespace {

constexpr std::size_t kN = 4;

/// W with small integers (every sum below is exact in float64).
TensorD small_matrix() {
    xt::xarray<double> w = xt::xarray<double>::from_shape({kN, kN});
    for (std::size_t i = 0; i < kN; ++i)
        for (std::size_t j = 0; j < kN; ++j) w(i, j) = double((i * 3 + j * 5) % 7) - 3.0;
    return TensorD(std::move(w), true);
}

/// d/dW sum(W W) = 1 W^T + W^T 1 (1 the all-ones matrix): entry (i, j) is the sum of row j of W
/// plus the sum of column i of W.
xt::xarray<double> closed_form_grad(const xt::xarray<double>& w) {
    xt::xarray<double> g = xt::xarray<double>::from_shape({kN, kN});
    for (std::size_t i = 0; i < kN; ++i) {
        for (std::size_t j = 0; j < kN; ++j) {
            double s = 0;
            for (std::size_t k = 0; k < kN; ++k) s += w(j, k) + w(k, i);
            g(i, j) = s;
        }
    }
    return g;
}

/// Bitwise equality of two arrays (every sum here is exact).
bool same_values(const xt::xarray<double>& a, const xt::xarray<double>& b) {
    return a.shape() == b.shape() && std::equal(a.begin(), a.end(), b.begin());
}

template <class F>
void on_threads(std::size_t threads, F f) {
    std::vector<std::thread> pool;
    for (std::size_t t = 0; t < threads; ++t) pool.emplace_back(f, t);
    for (auto& th : pool) th.join();
}

}  // namespace

TEST_CASE("concurrency: backward on two threads into one shared leaf accumulates every pass", "[concurrency]") {
    TensorD w = small_matrix();
    constexpr std::size_t kPasses = 2000;
    on_threads(2, [&](std::size_t) {
        for (std::size_t i = 0; i < kPasses; ++i) tg::sum(tg::matmul(w, w)).backward();
    });
    const xt::xarray<double> want = closed_form_grad(w.value()) * double(2 * kPasses);
    CHECK(same_values(w.grad().value(), want));
}

TEST_CASE("concurrency: create_graph backward on several threads into one shared leaf", "[concurrency]") {
    TensorD w = small_matrix();
    constexpr std::size_t kPasses = 200;
    on_threads(2, [&](std::size_t) {
        for (std::size_t i = 0; i < kPasses; ++i) tg::sum(tg::matmul(w, w)).backward({}, std::nullopt, true);
    });
    const xt::xarray<double> want = closed_form_grad(w.value()) * double(2 * kPasses);
    CHECK(same_values(w.grad().value(), want));
    w.zero_grad();  // drops the .grad() -> w reference cycle a create_graph backward leaves
}

TEST_CASE("concurrency: separate graphs over a shared read-only input match one thread's results", "[concurrency]") {
    const TensorD x = small_matrix().detach();  // shared, read by every thread, never written
    auto loss_grad = [&x](double scale) {
        TensorD w = tg::full<double>({kN, kN}, scale, true);
        tg::sum(tg::square(tg::matmul(x, w))).backward();
        return xt::xarray<double>(w.grad().value());
    };
    std::vector<xt::xarray<double>> alone;
    for (std::size_t t = 0; t < 4; ++t) alone.push_back(loss_grad(0.5 + double(t)));
    std::vector<xt::xarray<double>> together(4);
    on_threads(4, [&](std::size_t t) {
        for (int rep = 0; rep < 50; ++rep) together[t] = loss_grad(0.5 + double(t));
    });
    for (std::size_t t = 0; t < 4; ++t) CHECK(same_values(together[t], alone[t]));
}

TEST_CASE("concurrency: tapegrad::grad on several threads over a shared parameter leaves its .grad() alone",
          "[concurrency]") {
    TensorD w = small_matrix();
    const xt::xarray<double> want = closed_form_grad(w.value());
    std::vector<int> ok(2, 0);
    on_threads(2, [&](std::size_t t) {
        for (int i = 0; i < 500; ++i) {
            auto g = tg::grad<double>({tg::sum(tg::matmul(w, w))}, {w});
            ok[t] += same_values(g[0].value(), want);
        }
    });
    CHECK(ok[0] == 500);
    CHECK(ok[1] == 500);
    CHECK_FALSE(w.grad().defined());
}

TEST_CASE("concurrency: a graph is differentiated on the thread that recorded it", "[concurrency][errors]") {
    TensorD w = small_matrix();
    TensorD loss = tg::sum(tg::matmul(w, w));
    bool refused = false;
    std::thread other([&] {
        try {
            loss.backward();
        } catch (const tg::AutogradError& e) {
            refused = Says("thread").match(e);
        }
    });
    other.join();
    CHECK(refused);
    CHECK_FALSE(w.grad().defined());
    loss.backward();  // still intact on its own thread
    CHECK(same_values(w.grad().value(), closed_form_grad(w.value())));
}

TEST_CASE("concurrency: ops sharing work over tapegrad's threads, run on several threads at once, match one thread",
          "[concurrency]") {
    // Outer products past 1 MB (their rows shared over tapegrad's threads), a convolution (its
    // samples shared, each a one-thread GEMM) and a linear layer in forward mode (its value and
    // tangent computed at once, one thread each): callers that find the pool busy run alone, the
    // others take turns at it; either way each result is, bit for bit, what one thread computes.
    // Forward only: the backward's GEMMs would run OpenBLAS's own threads, which ThreadSanitizer
    // cannot see into (scripts/sanitize.sh).
    const std::size_t before = tg::get_num_threads();
    tg::set_num_threads(std::min<std::size_t>(2, tg::max_num_threads()));
    tg::Generator gen(3);
    const TensorD a = tg::randn<double>({8, 300, 1}, gen);
    const TensorD b = tg::randn<double>({8, 1, 400}, gen);     // the product: 7.7 MB
    const TensorD x = tg::randn<double>({8, 8, 32, 32}, gen);  // 17 MFLOP: samples shared out
    const TensorD w = tg::randn<double>({16, 8, 3, 3}, gen);
    const TensorD rows = tg::randn<double>({32, 128}, gen), tangent = tg::randn<double>({32, 128}, gen);
    const TensorD weight = tg::randn<double>({128, 128}, gen), bias = tg::randn<double>({128}, gen);  // 1 MFLOP
    auto run = [&] {
        tg::fwad::DualLevel level;  // per thread
        const TensorD y = tg::linear(tg::fwad::make_dual(rows, tangent), weight, bias);
        return std::vector<xt::xarray<double>>{tg::gemm(a, b).value(), tg::conv2d(x, w).value(), y.value(),
                                               tg::fwad::unpack_dual(y).tangent.value()};
    };
    const std::size_t shared = tg::get_num_threads();
    tg::set_num_threads(1);
    const auto alone = run();
    tg::set_num_threads(shared);
    std::vector<std::vector<xt::xarray<double>>> together(4);
    std::vector<int> same(4, 0);
    on_threads(4, [&](std::size_t t) {
        for (int rep = 0; rep < 10; ++rep) {
            together[t] = run();
            bool all = true;
            for (std::size_t k = 0; k < alone.size(); ++k) all = all && same_values(together[t][k], alone[k]);
            same[t] += all;
        }
    });
    tg::set_num_threads(before);
    for (std::size_t t = 0; t < 4; ++t) CHECK(same[t] == 10);
}
