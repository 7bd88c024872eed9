// gradcheck_module / gradgradcheck_module: a whole module against central differences, with
// respect to its parameters and inputs, and the refusals (randomness, no float64 copy).
#include <algorithm>

#include <xtensor/xmath.hpp>

#include <catch2/catch.hpp>
#include <tapegrad/ops/extension.hpp>
#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
namespace nn = tapegrad::nn;
using TensorD = tg::Tensor<double>;

namespace {

/// x * w, elementwise with broadcasting, whose backward for w is deliberately twice the truth
/// (d/dw should be grad * x); d/dx = grad * w is right.
TensorD wrong_scale(const TensorD& x, const TensorD& w) {
    tg::check_broadcast("wrong_scale", x, w);
    xt::xarray<double> value = x.value() * w.value();
    return tg::record<double>("wrong_scale", {x, w}, std::move(value), [](const tg::Backward<double>& ctx) {
        return tg::Grads<double>{ctx.grad() * ctx.input(1), 2.0 * ctx.grad() * ctx.input(0)};
    });
}

/// y = wrong_scale(x, weight) + bias: a layer written against the extension API with a bug in
/// one parameter's gradient.
class WrongScale : public nn::Module<double> {
public:
    WrongScale()
        : weight_(register_parameter("weight", TensorD({0.5, -1.5, 2.0}))),
          bias_(register_parameter("bias", TensorD({0.1, 0.2, -0.3}))) {}
    TensorD forward(const TensorD& x) override { return wrong_scale(x, weight_) + bias_; }
    std::string name() const override { return "WrongScale"; }
    std::shared_ptr<nn::Module<double>> to_float64() const override {
        return copy_state_to(std::make_shared<WrongScale>());
    }

private:
    TensorD weight_;
    TensorD bias_;
};

/// y = x * weight with a backward that is right to first order but computes the weight's gradient
/// with raw xtensor, off the tape, so that it has no gradient of its own.
class OffTape : public nn::Module<double> {
public:
    OffTape() : weight_(register_parameter("weight", TensorD({0.5, -1.5, 2.0}))) {}
    TensorD forward(const TensorD& x) override {
        xt::xarray<double> value = x.value() * weight_.value();
        return tg::record<double>("off_tape", {x, weight_}, std::move(value), [](const tg::Backward<double>& ctx) {
            const xt::xarray<double> dw = xt::sum(ctx.grad().value() * ctx.input(0).value(), {0});
            return tg::Grads<double>{ctx.grad() * ctx.input(1), TensorD(dw)};
        });
    }
    std::string name() const override { return "OffTape"; }
    std::shared_ptr<nn::Module<double>> to_float64() const override {
        return copy_state_to(std::make_shared<OffTape>());
    }

private:
    TensorD weight_;
};

/// tanh(x * w) applied twice with one weight: an encoder and a decoder tied together.
class Scale : public nn::Module<double> {
public:
    explicit Scale(TensorD w) : w_(register_parameter("weight", std::move(w))) {}
    TensorD forward(const TensorD& x) override { return tg::tanh(x * w_); }
    std::string name() const override { return "Scale"; }

private:
    TensorD w_;
};

class Tied : public nn::Module<double> {
public:
    explicit Tied(const TensorD& w)
        : encoder_(register_module("encoder", std::make_shared<Scale>(w))),
          decoder_(register_module("decoder", std::make_shared<Scale>(w))) {}
    TensorD forward(const TensorD& x) override { return (*decoder_)((*encoder_)(x)); }
    std::string name() const override { return "Tied"; }
    std::shared_ptr<nn::Module<double>> to_float64() const override {
        return copy_state_to(std::make_shared<Tied>(TensorD(xt::xarray<double>::from_shape({3}))));
    }

private:
    ModulePtr encoder_;
    ModulePtr decoder_;
};

/// y = (a W^T) * b: a module of two inputs, with its own forward.
class Gate : public nn::Module<double> {
public:
    explicit Gate(tg::Generator& gen) : weight_(register_parameter("weight", tg::randn<double>({2, 3}, gen))) {}
    TensorD forward(const TensorD& a, const TensorD& b) { return tg::linear(a, weight_) * b; }
    std::string name() const override { return "Gate"; }
    std::shared_ptr<nn::Module<double>> to_float64() const override {
        tg::Generator unused(0);
        return copy_state_to(std::make_shared<Gate>(unused));
    }

private:
    TensorD weight_;
};

/// x * w plus noise while training, drawn from a generator shared by every copy (as a dropout
/// layer's would be).
class Noisy : public nn::Module<double> {
public:
    explicit Noisy(tg::Generator& gen) : gen_(gen), w_(register_parameter("weight", TensorD({1.0, 2.0}))) {}
    TensorD forward(const TensorD& x) override {
        return is_training() ? x * w_ + tg::randn<double>(x.shape(), gen_) : x * w_;
    }
    std::string name() const override { return "Noisy"; }
    std::shared_ptr<nn::Module<double>> to_float64() const override {
        return copy_state_to(std::make_shared<Noisy>(gen_));
    }

private:
    tg::Generator& gen_;
    TensorD w_;
};

/// A custom module with no float64 copy.
class Opaque : public nn::Module<double> {
public:
    Opaque() : w_(register_parameter("weight", TensorD({1.0}))) {}
    TensorD forward(const TensorD& x) override { return x * w_; }
    std::string name() const override { return "Opaque"; }

private:
    TensorD w_;
};

/// A Dense subclass that does not override to_float64: its copy would be a plain Dense.
class Doubled : public nn::Dense<double> {
public:
    using nn::Dense<double>::Dense;
    TensorD forward(const TensorD& x) override { return 2.0 * nn::Dense<double>::forward(x); }
    std::string name() const override { return "Doubled"; }
};

}  // namespace

TEST_CASE("gradcheck_module: a Dense layer against finite differences, parameters and input", "[nn][gradcheck]") {
    tg::Generator gen(1);
    nn::Dense<double> dense(3, 2, gen);
    const auto x = tg::randn<double>({4, 3}, gen, 0.0, 1.0, true);
    const auto result = nn::gradcheck_module(dense, x);
    INFO(result.report());
    CHECK(result.ok);
    CHECK(result.names == std::vector<std::string>{"input 0", "parameter 'weight'", "parameter 'bias'"});
    // Every output element (4 x 2) against every element of x (12), weight (6) and bias (2).
    CHECK(result.checked == 8 * (12 + 6 + 2));
    CHECK_THAT(result.report(), Catch::Matchers::StartsWith("gradcheck_module of Dense passed"));
}

TEST_CASE("gradcheck_module: an MLP passes and is left exactly as it was, gradients too", "[nn][gradcheck]") {
    tg::Generator gen(2);
    auto net = nn::mlp<double>({3, 4, 2}, nn::Activation::Tanh, gen);
    const auto x = tg::randn<double>({5, 3}, gen);  // not requiring grad: only the parameters are checked
    tg::sum(net(x)).backward();
    const auto params = net.named_parameters();
    std::vector<xt::xarray<double>> values, grads;
    std::vector<std::uint64_t> versions;
    for (const auto& [name, p] : params) {
        values.push_back(p.value());
        grads.push_back(p.grad().value());
        versions.push_back(p.version());
    }
    net.eval();
    const auto result = nn::gradcheck_module(net, x);
    INFO(result.report());
    CHECK(result.ok);
    CHECK(result.checked == 10 * net.num_parameters());
    CHECK_FALSE(net.is_training());
    const auto after = net.named_parameters();
    REQUIRE(after.size() == params.size());
    for (std::size_t i = 0; i < after.size(); ++i) {
        const auto& p = after[i].second;
        CHECK(p.same(params[i].second));
        CHECK(p.is_leaf());
        CHECK(p.requires_grad());
        CHECK(p.version() == versions[i]);
        const xt::xarray<double>& value = p.value();
        const xt::xarray<double>& grad = p.grad().value();
        CHECK(value == values[i]);
        CHECK(grad == grads[i]);
    }
}

TEST_CASE("gradcheck_module: a weight tied between two modules is one parameter, its gradient summed",
          "[nn][gradcheck]") {
    Tied tied(TensorD(xt::xarray<double>{0.7, -1.2, 0.4}));
    const TensorD x(xt::xarray<double>{{0.3, -0.8, 1.1}, {-0.5, 0.9, 0.2}}, true);
    const auto result = nn::gradcheck_module(tied, x);
    INFO(result.report());
    CHECK(result.ok);
    CHECK(result.names == std::vector<std::string>{"input 0", "parameter 'encoder.weight'"});
}

TEST_CASE("gradcheck_module: a wrong backward fails and names the parameter, element and both values",
          "[nn][gradcheck]") {
    WrongScale layer;
    const TensorD x(xt::xarray<double>{{0.3, -0.8, 1.1}, {-0.5, 0.9, 0.2}}, true);
    const auto result = nn::gradcheck_module(layer, x);
    INFO(result.report());
    CHECK_FALSE(result.ok);
    // d y[i, j] / d weight[j] = x[i, j]: the 6 nonzero entries are wrong (twice the truth), the
    // zeros agree; x's and bias's gradients are right.
    CHECK(result.mismatches == 6);
    REQUIRE(!result.reported.empty());
    for (const auto& m : result.reported) {
        CHECK(m.input_name == "parameter 'weight'");
        CHECK(m.analytic == Approx(2 * m.numeric).epsilon(1e-6));
    }
    const auto& first = result.reported.front();
    CHECK(first.element == "[0]");
    CHECK(first.output_element == "[0, 0]");
    CHECK(first.numeric == Approx(0.3).epsilon(1e-6));
    CHECK_THAT(result.report(), Catch::Matchers::Contains("gradcheck_module of WrongScale failed") &&
                                    Catch::Matchers::Contains("parameter 'weight' element [0], output [0, 0]: "
                                                              "analytic 0.6"));
}

TEST_CASE("gradcheck_module: a module of two inputs through the callable form", "[nn][gradcheck]") {
    tg::Generator gen(3);
    Gate gate(gen);
    const auto a = tg::randn<double>({4, 3}, gen, 0.0, 1.0, true);
    const auto b = tg::randn<double>({4, 2}, gen, 0.0, 1.0, true);
    const auto result = nn::gradcheck_module(gate,
                                             [](nn::Module<double>& m, const std::vector<TensorD>& in) {
                                                 return static_cast<Gate&>(m).forward(in[0], in[1]);
                                             },
                                             {a, b});
    INFO(result.report());
    CHECK(result.ok);
    CHECK(result.names == std::vector<std::string>{"input 0", "input 1", "parameter 'weight'"});
    CHECK(result.checked == 8 * (12 + 8 + 6));
}

TEST_CASE("gradcheck_module: a float32 module is checked in one call through its float64 copy", "[nn][gradcheck]") {
    tg::Generator gen(4);
    auto net = nn::mlp<float>({3, 5, 2}, nn::Activation::Tanh, gen);
    const auto before = net.parameters()[0].value();
    const auto x = tg::randn<float>({2, 3}, gen, 0.0, 1.0, true);
    const auto result = nn::gradcheck_module(net, x);
    INFO(result.report());
    CHECK(result.ok);
    CHECK(result.module == "Sequential (its float64 copy: the module is float32)");
    CHECK_THAT(result.report(), Catch::Matchers::Contains("float64 copy"));
    const xt::xarray<float>& after = net.parameters()[0].value();
    CHECK(after == before);
}

TEST_CASE("gradgradcheck_module: an MLP with tanh, second order in parameters, input and u", "[nn][gradcheck]") {
    tg::Generator gen(5);
    auto net = nn::mlp<double>({3, 4, 2}, nn::Activation::Tanh, gen);
    const auto x = tg::randn<double>({2, 3}, gen, 0.0, 1.0, true);
    const auto result = nn::gradgradcheck_module(net, x);
    INFO(result.report());
    CHECK(result.ok);
    // The vector-Jacobian product has one output per checked element (x: 6, parameters: 26),
    // differentiated with respect to those and u (2 x 2).
    CHECK(result.checked == (6 + 26) * (6 + 26 + 4));
}

TEST_CASE("gradgradcheck_module: a backward computed off the tape passes first order and fails second order",
          "[nn][gradcheck]") {
    OffTape layer;
    const TensorD x(xt::xarray<double>{{0.3, -0.8, 1.1}}, true);
    const auto first = nn::gradcheck_module(layer, x);
    INFO(first.report());
    CHECK(first.ok);
    const auto second = nn::gradgradcheck_module(layer, x);
    INFO(second.report());
    CHECK_FALSE(second.ok);
    // The weight's gradient sum(u x) should vary with x and u; computed off the tape it is a
    // constant to the second-order check.
    const auto named = [&](const std::string& name) {
        return std::any_of(second.reported.begin(), second.reported.end(),
                           [&](const tg::GradcheckMismatch& m) { return m.input_name == name; });
    };
    CHECK(named("input 0"));
    CHECK(std::none_of(second.reported.begin(), second.reported.end(),
                       [](const tg::GradcheckMismatch& m) { return m.input_name == "parameter 'weight'"; }));
}

TEST_CASE("gradcheck_module: a module that is random in training mode is refused, and passes in eval mode",
          "[nn][gradcheck][errors]") {
    tg::Generator gen(6);
    Noisy noisy(gen);
    const TensorD x(xt::xarray<double>{{0.5, -1.0}}, true);
    CHECK_THROWS_AS(nn::gradcheck_module(noisy, x), tg::ValueError);
    CHECK_THROWS_WITH(nn::gradcheck_module(noisy, x),
                      Catch::Matchers::Contains("Noisy gives different outputs for the same inputs") &&
                          Catch::Matchers::Contains("training mode") && Catch::Matchers::Contains("eval()"));
    noisy.eval();
    CHECK(nn::gradcheck_module(noisy, x).ok);
}

TEST_CASE("gradcheck_module: refuses what it cannot check, naming the module", "[nn][gradcheck][errors]") {
    tg::Generator gen(7);
    const TensorD x(xt::xarray<double>{{0.5, -1.0}}, true);
    Opaque opaque;
    CHECK_THROWS_WITH(nn::gradcheck_module(opaque, tg::Tensor<double>({2.0})),
                      Catch::Matchers::Contains("gradcheck_module") && Catch::Matchers::Contains("Opaque") &&
                          Catch::Matchers::Contains("to_float64"));
    Doubled doubled(2, 2, gen);
    CHECK_THROWS_WITH(nn::gradcheck_module(doubled, x),
                      Catch::Matchers::Contains("Doubled") && Catch::Matchers::Contains("another type"));
    // A function that calls the original instead of the copy it is given would compare zeros.
    nn::Dense<double> dense(2, 2, gen);
    CHECK_THROWS_WITH(
        nn::gradcheck_module(dense, [&](nn::Module<double>&, const std::vector<TensorD>& in) { return dense(in[0]); },
                             {x}),
        Catch::Matchers::Contains("depends on none of the parameters of Dense"));
    nn::Dense<double> frozen(2, 2, gen);
    for (auto& p : frozen.parameters()) p.requires_grad_(false);
    CHECK_THROWS_WITH(nn::gradcheck_module(frozen, x.detach()), Catch::Matchers::Contains("nothing to check"));
    // A frozen parameter is left out, the others still checked.
    frozen.parameters()[0].requires_grad_(true);
    const auto result = nn::gradcheck_module(frozen, x.detach());
    CHECK(result.ok);
    CHECK(result.checked == 2 * 4);
}
