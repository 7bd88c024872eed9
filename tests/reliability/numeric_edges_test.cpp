// Zero-size dimensions give defined results (never a crash), and NaN / infinity inputs are
// propagated, never silently turned into a number (beware std::max(0, NaN)).
#include <cmath>
#include <functional>
#include <limits>

#include <catch2/catch.hpp>

#include "autograd/says.hpp"
#include "snapshot.hpp"

using tg::TensorD;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

bool is_nan_at(const TensorD& t, std::size_t i) {
    return std::isnan(t.value().data()[i]);
}

}  // namespace

TEST_CASE("reliability: zero-size batches give empty results and zero parameter gradients", "[reliability][empty]") {
    TensorD x = tg::zeros<double>({0, 3}, true);
    TensorD w = tg::ones<double>({2, 3}, true), b = tg::ones<double>({2}, true);
    TensorD y = tg::linear(x, w, b);
    CHECK(y.shape() == tg::Shape{0, 2});
    tg::sum(tg::relu(y)).backward();
    CHECK(x.grad().shape() == tg::Shape{0, 3});
    CHECK(w.grad().shape() == tg::Shape{2, 3});
    CHECK(tg::sum(tg::abs(w.grad())).item() == 0.0);  // no samples, no gradient
    CHECK(tg::sum(tg::abs(b.grad())).item() == 0.0);
    CHECK(tg::Tape::current().size() == 0);
}

TEST_CASE("reliability: reductions over nothing follow numpy", "[reliability][empty]") {
    TensorD e = tg::zeros<double>({0, 3});
    CHECK(tg::sum(e).item() == 0.0);
    CHECK(tg::sum(e, {0}).shape() == tg::Shape{3});
    CHECK(std::isnan(tg::mean(e).item()));                                // 0 / 0, as numpy and PyTorch
    CHECK(tg::logsumexp(tg::zeros<double>({2, 0})).value()(0) == -kInf);  // log of an empty sum
    CHECK_THROWS_MATCHES(tg::max(e), tg::ValueError, Says("max") && Says("[0, 3]"));
    CHECK(tg::amax(e, {1}).shape() == tg::Shape{0});
    CHECK(tg::prod(e).item() == 1.0);  // an empty product
    CHECK(tg::norm(e).item() == 0.0);
}

TEST_CASE("reliability: zero-size operands of matmul, softmax, shape ops and losses", "[reliability][empty]") {
    const TensorD m = tg::matmul(tg::zeros<double>({2, 0}), tg::zeros<double>({0, 3}));
    CHECK(m.shape() == tg::Shape{2, 3});
    CHECK(tg::sum(tg::abs(m)).item() == 0.0);  // an empty inner sum is 0
    CHECK(tg::softmax(tg::zeros<double>({0, 4})).shape() == tg::Shape{0, 4});
    CHECK(tg::softmax(tg::zeros<double>({2, 0})).shape() == tg::Shape{2, 0});
    CHECK(tg::reshape(tg::zeros<double>({0, 3}), {3, 0}).shape() == tg::Shape{3, 0});
    CHECK(tg::concat(std::vector<TensorD>{tg::zeros<double>({0, 3}), tg::ones<double>({2, 3})}, 0).shape() ==
          tg::Shape{2, 3});
    CHECK(std::isnan(tg::mse_loss(tg::zeros<double>({0, 3}), tg::zeros<double>({0, 3})).item()));
    CHECK(std::isnan(tg::cross_entropy(tg::zeros<double>({0, 3}), tg::Labels{}).item()));  // mean of nothing
    CHECK(tg::cross_entropy(tg::zeros<double>({0, 3}), tg::Labels{}, tg::Reduction::Sum).item() == 0.0);
}

TEST_CASE("reliability: a shape whose element count overflows is refused", "[reliability][errors][empty]") {
    const std::size_t big = std::size_t{1} << 33;
    CHECK_THROWS_MATCHES(tg::zeros<double>({big, big}), tg::ValueError, Says("[8589934592, 8589934592]"));
    tg::Generator gen(1);
    CHECK_THROWS_AS(tg::randn<double>({big, big, 4}, gen), tg::ValueError);
    CHECK_THROWS_AS(tg::reshape(tg::zeros<double>({0}), {big, big}), tg::ValueError);
    CHECK(tg::zeros<double>({big, big, 0}).numel() == 0);  // a zero dimension makes the product 0, legitimately
    // A leading zero does not help: xtensor's strides still multiply the trailing dimensions.
    CHECK_THROWS_MATCHES(tg::zeros<double>({0, big, big}), tg::ValueError, Says("[0, 8589934592, 8589934592]"));
}

TEST_CASE("reliability: NaN inputs give NaN outputs in every elementwise op", "[reliability][nan]") {
    const TensorD x({kNaN, -1.0, 2.0});
    const std::vector<std::pair<const char*, std::function<TensorD(const TensorD&)>>> ops = {
        {"relu", [](const TensorD& v) { return tg::relu(v); }},
        {"leaky_relu", [](const TensorD& v) { return tg::leaky_relu(v); }},
        {"sigmoid", [](const TensorD& v) { return tg::sigmoid(v); }},
        {"tanh", [](const TensorD& v) { return tg::tanh(v); }},
        {"softplus", [](const TensorD& v) { return tg::softplus(v); }},
        {"gelu", [](const TensorD& v) { return tg::gelu(v); }},
        {"abs", [](const TensorD& v) { return tg::abs(v); }},
        {"clamp", [](const TensorD& v) { return tg::clamp(v, -1.0, 1.0); }},
        {"exp", [](const TensorD& v) { return tg::exp(v); }},
        {"log", [](const TensorD& v) { return tg::log(v); }},
        {"sqrt", [](const TensorD& v) { return tg::sqrt(v); }},
        {"pow", [](const TensorD& v) { return tg::pow(v, 3.0); }},
        {"erf", [](const TensorD& v) { return tg::erf(v); }},
        {"square", [](const TensorD& v) { return tg::square(v); }},
        {"log1p", [](const TensorD& v) { return tg::log1p(v); }},
        {"expm1", [](const TensorD& v) { return tg::expm1(v); }},
        {"log2", [](const TensorD& v) { return tg::log2(v); }},
        {"log10", [](const TensorD& v) { return tg::log10(v); }},
        {"exp2", [](const TensorD& v) { return tg::exp2(v); }},
        {"reciprocal", [](const TensorD& v) { return tg::reciprocal(v); }},
        {"rsqrt", [](const TensorD& v) { return tg::rsqrt(v); }},
        {"sin", [](const TensorD& v) { return tg::sin(v); }},
        {"cos", [](const TensorD& v) { return tg::cos(v); }},
        {"tan", [](const TensorD& v) { return tg::tan(v); }},
        {"asin", [](const TensorD& v) { return tg::asin(v); }},
        {"acos", [](const TensorD& v) { return tg::acos(v); }},
        {"atan", [](const TensorD& v) { return tg::atan(v); }},
        {"sinh", [](const TensorD& v) { return tg::sinh(v); }},
        {"cosh", [](const TensorD& v) { return tg::cosh(v); }},
        {"sign (PyTorch gives 0)", [](const TensorD& v) { return tg::sign(v); }},
        {"floor", [](const TensorD& v) { return tg::floor(v); }},
        {"ceil", [](const TensorD& v) { return tg::ceil(v); }},
        {"round", [](const TensorD& v) { return tg::round(v); }},
        {"atan2", [](const TensorD& v) { return tg::atan2(v, v); }},
        {"hypot", [](const TensorD& v) { return tg::hypot(v, v); }},
        {"pow (tensor exponent)", [](const TensorD& v) { return tg::pow(v, v); }},
        {"softplus (beta 2)", [](const TensorD& v) { return tg::softplus(v, 2.0); }},
        {"gelu (tanh)", [](const TensorD& v) { return tg::gelu(v, tg::GeluApproximate::Tanh); }},
        {"silu", [](const TensorD& v) { return tg::silu(v); }},
        {"mish", [](const TensorD& v) { return tg::mish(v); }},
        {"elu", [](const TensorD& v) { return tg::elu(v); }},
        {"selu", [](const TensorD& v) { return tg::selu(v); }},
        {"celu", [](const TensorD& v) { return tg::celu(v); }},
        {"hardtanh", [](const TensorD& v) { return tg::hardtanh(v); }},
        {"hardsigmoid", [](const TensorD& v) { return tg::hardsigmoid(v); }},
        {"hardswish", [](const TensorD& v) { return tg::hardswish(v); }},
        {"softsign", [](const TensorD& v) { return tg::softsign(v); }},
        {"logsigmoid", [](const TensorD& v) { return tg::logsigmoid(v); }},
        {"neg", [](const TensorD& v) { return -v; }},
        {"add", [](const TensorD& v) { return v + 1.0; }},
        {"mul by 0", [](const TensorD& v) { return v * 0.0; }},
    };
    for (const auto& [name, f] : ops) {
        INFO(name);
        CHECK(is_nan_at(f(x), 0));
    }
}

TEST_CASE("reliability: a NaN anywhere poisons reductions, softmax, matmul and losses", "[reliability][nan]") {
    const TensorD x({1.0, kNaN, -2.0});
    CHECK(std::isnan(tg::max(x).item()));                          // not the max of the other two
    CHECK(std::isnan(tg::max(TensorD({kNaN, 1.0, 2.0})).item()));  // wherever it is
    CHECK(std::isnan(tg::sum(x).item()));
    CHECK(std::isnan(tg::mean(x).item()));
    CHECK(std::isnan(tg::logsumexp(x).item()));
    CHECK(is_nan_at(tg::softmax(x), 0));
    CHECK(is_nan_at(tg::log_softmax(x), 2));
    CHECK(std::isnan(tg::matmul(tg::reshape(x, {1, 3}), tg::ones<double>({3, 1})).item()));
    CHECK(std::isnan(tg::cross_entropy(tg::reshape(x, {1, 3}), tg::Labels{0}).item()));
    CHECK(std::isnan(tg::mse_loss(x, tg::zeros<double>({3})).item()));
    CHECK(std::isnan(tg::binary_cross_entropy_with_logits(x, tg::ones<double>({3})).item()));
    CHECK_THROWS_MATCHES(tg::binary_cross_entropy(x, tg::ones<double>({3})), tg::ValueError,
                         Says("binary_cross_entropy") && Says("element 1 is nan"));
}

TEST_CASE("reliability: a NaN loss gives NaN gradients, not zeros", "[reliability][nan]") {
    TensorD w({1.0, 2.0}, true);
    const TensorD x({kNaN, 1.0});
    tg::sum(tg::relu(w * x)).backward();  // relu's kink does not turn NaN into a zero gradient
    CHECK(std::isnan(w.grad().value()(0)));
    CHECK(w.grad().value()(1) == 1.0);
    w.zero_grad();
    tg::sum(tg::square(w * x)).backward();
    CHECK(std::isnan(w.grad().value()(0)));
    CHECK(w.grad().value()(1) == 4.0);  // and only where it belongs
}

TEST_CASE("reliability: infinities follow IEEE arithmetic", "[reliability][inf]") {
    const TensorD x({kInf, -kInf, 0.0});
    CHECK(tg::relu(x).value()(0) == kInf);
    CHECK(tg::relu(x).value()(1) == 0.0);
    CHECK(tg::exp(x).value()(0) == kInf);
    CHECK(tg::exp(x).value()(1) == 0.0);
    CHECK(tg::sigmoid(x).value()(0) == 1.0);
    CHECK(tg::sigmoid(x).value()(1) == 0.0);
    CHECK(tg::softplus(x).value()(0) == kInf);
    CHECK(tg::max(x).item() == kInf);
    CHECK(tg::logsumexp(TensorD({kInf, 0.0})).item() == kInf);
    CHECK(tg::logsumexp(TensorD({-kInf, -kInf})).item() == -kInf);
    CHECK(std::isnan(tg::sum(x).item()));  // inf + -inf
    CHECK(std::isnan(tg::log(TensorD({-1.0})).item()));
    CHECK(tg::log(TensorD({0.0})).item() == -kInf);
}
