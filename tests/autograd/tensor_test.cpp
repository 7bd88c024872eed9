// Tensor handles: construction, factories, conversion, printing, item().
#include <catch2/catch.hpp>

#include <limits>
#include <sstream>

#include <tapegrad/autograd/autograd.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include "says.hpp"

namespace tg = tapegrad;
using Catch::Matchers::Contains;
using tg::Shape;
using tg::TensorD;
using tg::TensorF;

TEST_CASE("tensor: initializer lists give the nested shape", "[autograd][tensor]") {
    TensorD v = {1.0, 2.0, 3.0};
    TensorD m = {{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}};
    TensorF c = {{{1.f, 2.f}}, {{3.f, 4.f}}};
    TensorD s(2.5);
    CHECK(v.shape() == Shape{3});
    CHECK(m.shape() == Shape{3, 2});
    CHECK(m.value()(2, 1) == 6.0);
    CHECK(c.shape() == Shape{2, 1, 2});
    CHECK(c.value()(1, 0, 0) == 3.f);
    CHECK(s.shape() == Shape{});
    CHECK(s.numel() == 1);
    CHECK(s.ndim() == 0);
    CHECK(v.is_leaf());
    CHECK_FALSE(v.requires_grad());
}

TEST_CASE("tensor: copies share value and gradient", "[autograd][tensor]") {
    TensorD a({1.0, 2.0}, true);
    TensorD b = a;
    CHECK(b.same(a));
    tg::sum_to(b * b, Shape{}).backward();
    CHECK(a.grad().value()(1) == 4.0);
}

TEST_CASE("tensor: zeros, ones, full, arange", "[autograd][factories]") {
    auto z = tg::zeros<double>({2, 3});
    auto o = tg::ones<float>({4});
    auto f = tg::full<double>({2, 2}, 7.5, true);
    CHECK(z.shape() == Shape{2, 3});
    for (double v : z.value()) CHECK(v == 0.0);
    for (float v : o.value()) CHECK(v == 1.f);
    for (double v : f.value()) CHECK(v == 7.5);
    CHECK(f.requires_grad());
    CHECK(tg::zeros_like(f).shape() == Shape{2, 2});
    auto r = tg::arange<double>(1.0, 2.0, 0.25);
    REQUIRE(r.shape() == Shape{4});
    for (std::size_t i = 0; i < 4; ++i) CHECK(r.value()(i) == 1.0 + 0.25 * static_cast<double>(i));
    CHECK(tg::arange<double>(3.0, 0.0, -1.0).numel() == 3);
    CHECK(tg::arange<double>(0.0, 0.0).numel() == 0);
    CHECK_THROWS_MATCHES(tg::arange<double>(0.0, 1.0, 0.0), tg::ValueError, Says("arange") && Says("step"));
}

TEST_CASE("tensor: rand and randn are reproducible from the seed", "[autograd][factories]") {
    tg::Generator g1(42), g2(42), g3(43);
    auto a = tg::rand<double>({3, 4}, g1, -2.0, 3.0);
    auto b = tg::rand<double>({3, 4}, g2, -2.0, 3.0);
    auto c = tg::rand<double>({3, 4}, g3, -2.0, 3.0);
    CHECK(a.value() == b.value());
    CHECK(a.value() != c.value());
    for (double v : a.value()) CHECK((v >= -2.0 && v < 3.0));
    auto n1 = tg::randn<float>({50}, g1, 1.f, 2.f);
    auto n2 = tg::randn<float>({50}, g2, 1.f, 2.f);
    auto n3 = tg::randn<float>({50}, g3, 1.f, 2.f);
    CHECK(n1.value() == n2.value());
    CHECK(n1.value() != n3.value());
    CHECK_THROWS_AS(tg::rand<double>({2}, g1, 1.0, 0.0), tg::ValueError);
    CHECK_THROWS_AS(tg::randn<double>({2}, g1, 0.0, -1.0), tg::ValueError);
}

TEST_CASE("Generator: below(0) and uniform bounds that are no interval are refused, drawing nothing",
          "[autograd][random][errors]") {
    const double inf = std::numeric_limits<double>::infinity();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    tg::Generator gen(7), fresh(7);
    CHECK_THROWS_MATCHES(gen.below(0), tg::ValueError, Says("Generator::below: n is 0"));
    CHECK_THROWS_MATCHES(gen.uniform(1.0, 0.5), tg::ValueError,
                         Says("Generator::uniform: low is 1 and high is 0.5") && Says("low <= high"));
    CHECK_THROWS_MATCHES(gen.uniform(nan, 1.0), tg::ValueError, Says("Generator::uniform: low is nan"));
    CHECK_THROWS_MATCHES(gen.uniform(-inf, 0.0), tg::ValueError, Says("low is -inf"));
    CHECK_THROWS_MATCHES(gen.uniform(-1e308, 1e308), tg::ValueError, Says("both finite"));  // high - low overflows
    CHECK_THROWS_MATCHES(tg::rand<double>({2}, gen, 0.0, inf), tg::ValueError, Says("rand: low is 0 and high is inf"));
    CHECK_THROWS_MATCHES(tg::rand<double>({2}, gen, 1.0, 0.0), tg::ValueError, Says("rand: low is 1 and high is 0"));
    // Nothing was drawn: the stream continues where a fresh generator starts.
    CHECK(gen.below(1000) == fresh.below(1000));
    // Degenerate but meaningful: one integer to choose from, an interval of one point.
    CHECK(gen.below(1) == 0);
    CHECK(gen.uniform(2.5, 2.5) == 2.5);
    fresh.below(1);
    fresh.uniform();
    CHECK(gen.uniform() == fresh.uniform());
}

TEST_CASE("tensor: printing with fmt and operator<<", "[autograd][tensor]") {
    TensorD x({{1.5, -2.0}, {3.0, 4.0}}, true);
    const std::string text = fmt::format("{}", x);
    CHECK_THAT(text, Contains("float64") && Contains("shape=[2, 2]") && Contains("requires_grad") && Contains("1.5") &&
                         Contains("-2"));
    std::ostringstream os;
    os << x;
    CHECK(os.str() == text);
    TensorF y = TensorF({1.f, 2.f}, true) * 2.f;
    CHECK_THAT(y.to_string(), Contains("float32") && Contains("grad_fn=mul") && Contains("[2]"));
}

TEST_CASE("tensor: to<double> and to<float> copy into a new leaf", "[autograd][tensor]") {
    TensorF f({0.1f, -3.0f}, true);
    TensorD d = f.to<double>(true);
    CHECK(d.value()(0) == static_cast<double>(0.1f));
    CHECK(d.value()(1) == -3.0);
    CHECK(d.is_leaf());
    CHECK(d.requires_grad());
    TensorF back = (d * 2.0).to<float>();
    CHECK(back.is_leaf());
    CHECK_FALSE(back.requires_grad());
    CHECK(back.value()(1) == -6.f);
    d.mutable_value()(0) = 9.0;  // a copy: the source is untouched
    CHECK(f.value()(0) == 0.1f);
}

TEST_CASE("tensor: item() needs exactly one element", "[autograd][tensor][errors]") {
    CHECK(TensorD(4.25).item() == 4.25);
    CHECK(tg::full<double>({1, 1}, 7.0).item() == 7.0);
    CHECK_THROWS_MATCHES(TensorD({1.0, 2.0}).item(), tg::ValueError, Says("item") && Says("[2]") && Says("2 elements"));
    CHECK_THROWS_MATCHES(TensorD().item(), tg::ValueError, Says("undefined"));
}
