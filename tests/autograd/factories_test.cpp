// Factories: the default generator and manual_seed, the *_like family, linspace, eye, bernoulli.
// References are hand-computed values and a separately seeded Generator's own stream.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <thread>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "says.hpp"

namespace tg = tapegrad;
using tg::TensorD;

namespace {
const xt::xarray<double>& vals(const TensorD& t) {
    return t.value();  // by reference: see inplace_ops_test.cpp
}
}  // namespace

TEST_CASE("autograd: factories without a Generator draw from the default one, which manual_seed reseeds",
          "[autograd][factories]") {
    tg::manual_seed(42);
    const TensorD a = tg::rand<double>({2, 3});
    const TensorD b = tg::randn<double>({4}, 1.0, 2.0);
    tg::Generator same(42);
    const TensorD a_ref = tg::rand<double>({2, 3}, same);
    const TensorD b_ref = tg::randn<double>({4}, same, 1.0, 2.0);
    CHECK(vals(a) == vals(a_ref));
    CHECK(vals(b) == vals(b_ref));
    tg::manual_seed(42);
    CHECK(vals(tg::rand<double>({2, 3})) == vals(a));  // the same seed, the same numbers
    CHECK(vals(tg::rand<double>({2, 3})) != vals(a));  // and the stream goes on
}

TEST_CASE("autograd: threads drawing from the default generator share one stream without a race",
          "[autograd][factories]") {
    tg::manual_seed(7);
    std::vector<double> drawn(4 * 1000);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < 4; ++t) {
        threads.emplace_back([&drawn, t] {
            for (std::size_t i = 0; i < 1000; ++i) drawn[t * 1000 + i] = tg::rand<double>({}).item();
        });
    }
    for (auto& th : threads) th.join();
    tg::Generator ref(7);  // the union of what the threads drew is the stream's first 4000 numbers
    std::vector<double> expected(drawn.size());
    for (auto& v : expected) v = ref.uniform(0.0, 1.0);
    std::sort(drawn.begin(), drawn.end());
    std::sort(expected.begin(), expected.end());
    CHECK(drawn == expected);
}

TEST_CASE("autograd: *_like factories take the shape and dtype of their argument", "[autograd][factories]") {
    const TensorD x = {{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}};
    const TensorD z = tg::zeros_like(x, true);
    CHECK(z.shape() == x.shape());
    CHECK(z.requires_grad());
    CHECK(vals(tg::ones_like(x)) == xt::xarray<double>{{1.0, 1.0, 1.0}, {1.0, 1.0, 1.0}});
    CHECK(vals(tg::full_like(x, 2.5)) == xt::xarray<double>{{2.5, 2.5, 2.5}, {2.5, 2.5, 2.5}});
    tg::Generator g1(3), g2(3);
    CHECK(vals(tg::rand_like(x, g1)) == vals(tg::rand<double>({2, 3}, g2)));
    CHECK(vals(tg::randn_like(x, g1)) == vals(tg::randn<double>({2, 3}, g2)));
    tg::manual_seed(9);
    const TensorD r = tg::rand_like(x);
    tg::Generator g3(9);
    CHECK(vals(r) == vals(tg::rand<double>({2, 3}, g3)));
}

TEST_CASE("autograd: linspace and eye as PyTorch's", "[autograd][factories]") {
    CHECK(vals(tg::linspace<double>(0.0, 1.0, 5)) == xt::xarray<double>{0.0, 0.25, 0.5, 0.75, 1.0});
    CHECK(vals(tg::linspace<double>(-1.0, 2.0, 4)) == xt::xarray<double>{-1.0, 0.0, 1.0, 2.0});
    CHECK(vals(tg::linspace<double>(3.0, 7.0, 1)) == xt::xarray<double>{3.0});
    CHECK(tg::linspace<double>(3.0, 7.0, 0).numel() == 0);
    // The last value is exactly `end` even when the step is not representable.
    const TensorD third = tg::linspace<double>(0.0, 1.0, 4);
    CHECK(third.value()(3) == 1.0);
    CHECK(third.value()(1) == Approx(1.0 / 3.0).epsilon(1e-15));
    CHECK_THROWS_MATCHES(tg::linspace<double>(0.0, 1.0, -1), tg::ValueError, Says("linspace") && Says("-1"));
    CHECK_THROWS_MATCHES(tg::linspace<double>(0.0, INFINITY, 3), tg::ValueError, Says("linspace"));
    CHECK(vals(tg::eye<double>(2, 3)) == xt::xarray<double>{{1.0, 0.0, 0.0}, {0.0, 1.0, 0.0}});
    CHECK(vals(tg::eye<double>(2)) == xt::xarray<double>{{1.0, 0.0}, {0.0, 1.0}});
}

TEST_CASE("autograd: bernoulli draws 1 with probability p, refuses p outside [0, 1]", "[autograd][factories]") {
    tg::Generator gen(11);
    const TensorD p = {0.0, 1.0, 0.0, 1.0};
    CHECK(vals(tg::bernoulli(p, gen)) == xt::xarray<double>{0.0, 1.0, 0.0, 1.0});
    // 20,000 draws at p = 0.3: the mean is within 5 standard errors (0.016) of 0.3.
    const TensorD many = tg::bernoulli(tg::full<double>({20000}, 0.3), gen);
    const double mean = tg::mean(many).item();
    CHECK(std::abs(mean - 0.3) < 5 * std::sqrt(0.3 * 0.7 / 20000));
    CHECK(std::all_of(many.value().begin(), many.value().end(), [](double v) { return v == 0.0 || v == 1.0; }));
    const TensorD bad = {0.5, 1.5};
    CHECK_THROWS_MATCHES(tg::bernoulli(bad, gen), tg::ValueError,
                         Says("bernoulli") && Says("element 1") && Says("1.5"));
    const TensorD nan = {std::nan("")};
    CHECK_THROWS_MATCHES(tg::bernoulli(nan), tg::ValueError, Says("bernoulli"));
}
