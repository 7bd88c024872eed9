// The per-thread pool of freed tensor buffers: reuse by element count, bounds, and that a reused
// buffer never leaks its old values into a result.
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;

#if defined(__SANITIZE_ADDRESS__)
TEST_CASE("buffer pool: off under AddressSanitizer", "[autograd][pool]") {
    // ASan must see every free, so the pool keeps nothing in sanitizer builds.
    { const auto t = tg::zeros<float>({64}); }
    CHECK(tg::cached_buffer_bytes<float>() == 0);
}
#else
TEST_CASE("buffer pool: a freed buffer is reused for the same element count, in any shape", "[autograd][pool]") {
    tg::release_cached_buffers();
    const float* freed = nullptr;
    {
        const tg::TensorF t = tg::full<float>({3, 5}, 7.0f);
        freed = t.value().data();
    }
    CHECK(tg::cached_buffer_bytes<float>() == 15 * sizeof(float));
    const tg::TensorF again = tg::zeros<float>({5, 3});
    CHECK(again.value().data() == freed);
    CHECK(again.shape() == tg::Shape{5, 3});
    CHECK(again.value().shape()[0] == 5);
    CHECK(xt::all(xt::equal(again.value(), 0.0f)));  // the 7s are gone
    CHECK(tg::cached_buffer_bytes<float>() == 0);
    // A different element count does not take it.
    { const tg::TensorF t = tg::full<float>({4}, 1.0f); }
    const tg::TensorF other = tg::ones<float>({2, 3});
    CHECK(tg::cached_buffer_bytes<float>() == 4 * sizeof(float));
}

TEST_CASE("buffer pool: ops reuse buffers and still compute from scratch", "[autograd][pool]") {
    tg::release_cached_buffers();
    const tg::TensorD x({{-1.0, 2.0}, {3.0, -4.0}});
    { const auto junk = tg::full<double>({2, 2}, 99.0); }
    const auto y = tg::relu(x);  // takes the 99s' buffer and must overwrite every element
    CHECK(y.value() == xt::xarray<double>({{0.0, 2.0}, {3.0, 0.0}}));
    CHECK(tg::cached_buffer_bytes<double>() == 0);
}

TEST_CASE("buffer pool: at most kBuffersPerSize buffers of one size, and release empties it", "[autograd][pool]") {
    tg::release_cached_buffers();
    {
        std::vector<tg::TensorF> many;
        for (std::size_t i = 0; i < tg::kBuffersPerSize + 5; ++i) many.push_back(tg::zeros<float>({8}));
    }
    CHECK(tg::cached_buffer_bytes<float>() == tg::kBuffersPerSize * 8 * sizeof(float));
    tg::release_cached_buffers();
    CHECK(tg::cached_buffer_bytes<float>() == 0);
}

TEST_CASE("buffer pool: each thread has its own", "[autograd][pool]") {
    tg::release_cached_buffers();
    std::size_t seen_there = 1;
    std::thread([&] {
        { const auto t = tg::zeros<double>({10}); }
        seen_there = tg::cached_buffer_bytes<double>();
    }).join();
    CHECK(seen_there == 10 * sizeof(double));
    CHECK(tg::cached_buffer_bytes<double>() == 0);
}
#endif
