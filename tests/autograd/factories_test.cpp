// Factories: the default generator and manual_seed, the *_like family, linspace, eye, bernoulli, and
// the Indices factories randint, randperm and one_hot.
// References are hand-computed values and a separately seeded Generator's own stream.
#include <catch2/catch.hpp>

#include <algorithm>
#include <climits>
#include <cmath>
#include <map>
#include <set>
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

TEST_CASE("autograd: randint covers low to high - 1 evenly and nothing outside", "[autograd][factories][indices]") {
    tg::Generator gen(5);
    const tg::Indices draws = tg::randint(-3, 4, {70000}, gen);
    CHECK(draws.shape() == tg::Shape{70000});
    std::vector<std::size_t> counts(7, 0);
    std::size_t outside = 0;  // below low, or high itself (excluded) and above
    for (const std::int64_t v : draws) {
        if (v < -3 || v >= 4) {
            ++outside;
        } else {
            ++counts[static_cast<std::size_t>(v + 3)];
        }
    }
    CHECK(outside == 0);
    // Each of the 7 values 10,000 times in expectation; 5 binomial standard deviations is 414.
    for (const std::size_t c : counts)
        CHECK(std::abs(static_cast<double>(c) - 10000.0) < 5 * std::sqrt(70000 / 7.0 * 6 / 7));
    CHECK(tg::randint(2, {3, 4}, gen).shape() == tg::Shape{3, 4});  // randint(high, shape): low 0
    const tg::Indices zeros = tg::randint(1, {50}, gen);
    CHECK(std::all_of(zeros.begin(), zeros.end(), [](std::int64_t v) { return v == 0; }));
    CHECK(tg::randint(5, 6, {}, gen).item() == 5);  // a 0-d draw from a one-value range
    // The widest range: every int64 is possible and high - low does not overflow.
    const tg::Indices wide = tg::randint(INT64_MIN, INT64_MAX, {4}, gen);
    CHECK(std::set<std::int64_t>(wide.begin(), wide.end()).size() == 4);
    CHECK_THROWS_MATCHES(tg::randint(3, 3, {2}, gen), tg::ValueError, Says("randint") && Says("low is 3"));
    CHECK_THROWS_MATCHES(tg::randint(0, {2}, gen), tg::ValueError, Says("randint") && Says("high is 0"));
}

TEST_CASE("autograd: randint and randperm repeat with the seed, and draw from the default generator",
          "[autograd][factories][indices]") {
    tg::Generator a(9), b(9);
    CHECK(tg::equal(tg::randint(0, 100, {20}, a), tg::randint(0, 100, {20}, b)));
    CHECK(tg::equal(tg::randperm(30, a), tg::randperm(30, b)));
    tg::manual_seed(21);
    const tg::Indices r = tg::randint(-5, 5, {10});
    const tg::Indices p = tg::randperm(12);
    const tg::Indices h = tg::randint(7, {6});
    tg::Generator same(21);
    CHECK(tg::equal(r, tg::randint(-5, 5, {10}, same)));
    CHECK(tg::equal(p, tg::randperm(12, same)));
    CHECK(tg::equal(h, tg::randint(7, {6}, same)));
    CHECK_FALSE(tg::equal(tg::randperm(12), p));  // the stream goes on (equal with probability 1/12!)
}

TEST_CASE("autograd: randperm is a permutation, each one equally likely", "[autograd][factories][indices]") {
    tg::Generator gen(3);
    tg::Indices p = tg::randperm(50, gen);
    CHECK(p.shape() == tg::Shape{50});
    std::vector<std::int64_t> sorted(p.begin(), p.end());
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 0; i < sorted.size(); ++i) CHECK(sorted[i] == static_cast<std::int64_t>(i));
    CHECK(tg::randperm(0, gen).shape() == tg::Shape{0});
    CHECK(tg::equal(tg::randperm(1, gen), tg::Indices{0}));
    // 6,000 permutations of 3: each of the 6 about 1,000 times (5 standard deviations: 144).
    std::map<std::vector<std::int64_t>, int> seen;
    for (int k = 0; k < 6000; ++k) {
        const tg::Indices q = tg::randperm(3, gen);
        ++seen[std::vector<std::int64_t>(q.begin(), q.end())];
    }
    CHECK(seen.size() == 6);
    for (const auto& [perm, count] : seen) CHECK(std::abs(count - 1000) < 5 * std::sqrt(6000 / 6.0 * 5 / 6));
    CHECK_THROWS_MATCHES(tg::randperm(-1, gen), tg::ValueError, Says("randperm") && Says("-1"));
}

TEST_CASE("autograd: one_hot as PyTorch's, int64 with one more dim, and .to<float>()",
          "[autograd][factories][indices]") {
    const tg::Indices y = {2, 0, 1, 2};
    const tg::Indices h = tg::one_hot(y, 4);
    CHECK(h.shape() == tg::Shape{4, 4});
    CHECK(tg::equal(h, tg::Indices{{0, 0, 1, 0}, {1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}}));
    CHECK(tg::one_hot(y).shape() == tg::Shape{4, 3});  // -1: max + 1 classes
    const tg::Indices grid = {{1, 0}, {0, 0}};
    CHECK(tg::equal(tg::one_hot(grid), tg::Indices{{{0, 1}, {1, 0}}, {{1, 0}, {1, 0}}}));
    CHECK(tg::one_hot(tg::Indices::full({}, 3), 5).shape() == tg::Shape{5});  // 0-d: [num_classes]
    CHECK(tg::one_hot(tg::Indices(), 3).shape() == tg::Shape{0, 3});
    const tg::TensorF f = tg::one_hot(y, 3).to<float>();
    CHECK(f.shape() == tg::Shape{4, 3});
    CHECK(f.value()(0, 2) == 1.0F);
    CHECK(f.value()(0, 0) == 0.0F);
    CHECK_THROWS_MATCHES(tg::one_hot(y, 2), tg::IndexError, Says("one_hot") && Says("class 2") && Says("2 classes"));
    CHECK_THROWS_MATCHES(tg::one_hot(tg::Indices{1, -1}, 3), tg::IndexError,
                         Says("one_hot") && Says("class -1") && Says("never negative"));
    CHECK_THROWS_MATCHES(tg::one_hot(tg::Indices{-2}), tg::IndexError, Says("class -2"));
    CHECK_THROWS_MATCHES(tg::one_hot(tg::Indices()), tg::ValueError, Says("one_hot") && Says("inferred"));
    CHECK_THROWS_MATCHES(tg::one_hot(y, -2), tg::ValueError, Says("one_hot") && Says("num_classes is -2"));
}
