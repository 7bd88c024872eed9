// The module tree: children, named_modules, buffers, the float64 copy, the default forward.
#include <catch2/catch.hpp>
#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
namespace nn = tapegrad::nn;

namespace {

/// A parameter-free module holding a running count in a buffer, as batch norm holds statistics.
template <class T>
class Counter : public nn::Module<T> {
public:
    Counter() : count_(this->register_buffer("count", tg::zeros<T>({1}))) {}
    tg::Tensor<T> forward(const tg::Tensor<T>& x) override {
        count_ += T(1);
        return x;
    }
    std::string name() const override { return "Counter"; }
    std::shared_ptr<nn::Module<double>> to_float64() const override {
        return this->copy_state_to(std::make_shared<Counter<double>>());
    }

private:
    tg::Tensor<T> count_;
};

/// A module that does not override to_float64.
class Opaque : public nn::Module<float> {
public:
    std::string name() const override { return "Opaque"; }
};

}  // namespace

TEST_CASE("Module: children and named_modules walk the tree depth first, each module once", "[nn][module]") {
    tg::Generator gen(3);
    auto inner = std::make_shared<nn::Sequential<float>>(nn::mlp<float>({2, 3, 1}, nn::Activation::ReLU, gen));
    nn::Sequential<float> outer{inner, std::make_shared<Counter<float>>(), inner};
    CHECK(outer.children().size() == 3);
    CHECK(outer.children()[0] == outer.children()[2]);
    std::vector<std::string> names;
    for (const auto& [name, m] : outer.named_modules()) names.push_back(name + ":" + m->name());
    // The second path to `inner` ("2") is not listed again: named_modules(remove_duplicate=True).
    CHECK(names ==
          std::vector<std::string>{":Sequential", "0:Sequential", "0.0:Dense", "0.1:ReLU", "0.2:Dense", "1:Counter"});
    CHECK(outer.named_modules()[0].second == &outer);
}

TEST_CASE("Module: buffers are named by path, never require grad, and are not parameters", "[nn][module]") {
    nn::Sequential<float> net{std::make_shared<Counter<float>>(), std::make_shared<Counter<float>>()};
    const auto buffers = net.named_buffers();
    REQUIRE(buffers.size() == 2);
    CHECK(buffers[0].first == "0.count");
    CHECK(buffers[1].first == "1.count");
    CHECK_FALSE(buffers[0].second.requires_grad());
    CHECK(net.parameters().empty());
    net(tg::zeros<float>({1}));
    net(tg::zeros<float>({1}));
    CHECK(net.buffers()[1].value()(0) == 2.0f);
}

TEST_CASE("Module: to_float64 copies structure, values and mode, sharing nothing", "[nn][module]") {
    tg::Generator gen(4);
    auto net = nn::mlp<float>({3, 4, 2}, nn::Activation::Tanh, gen);
    auto counter = std::make_shared<Counter<float>>();
    net.push_back(counter);
    (*counter)(tg::zeros<float>({1}));
    net.eval();
    auto copy = net.to_float64();
    CHECK(copy->to_string() == net.to_string());
    CHECK_FALSE(copy->is_training());
    const auto from = net.named_parameters();
    const auto to = copy->named_parameters();
    REQUIRE(to.size() == from.size());
    for (std::size_t i = 0; i < from.size(); ++i) {
        CHECK(to[i].first == from[i].first);
        CHECK(to[i].second.requires_grad());
        const xt::xarray<double> expected = xt::cast<double>(from[i].second.value());
        CHECK(to[i].second.value() == expected);
    }
    CHECK(copy->named_buffers()[0].second.value()(0) == 1.0);
    // The same forward, in double.
    const auto x = tg::Tensor<float>({{0.5f, -1.0f, 2.0f}});
    const xt::xarray<double> y32 = xt::cast<double>(net(x).value());
    const xt::xarray<double> y64 = copy->forward(x.to<double>()).value();
    CHECK(xt::allclose(y64, y32, 1e-6, 1e-6));
    // Not shared: changing the copy leaves the original alone.
    {
        tg::NoGradGuard no_grad;
        copy->parameters()[0].fill_(7.0);
    }
    CHECK(net.parameters()[0].value()(0, 0) != 7.0f);
}

TEST_CASE("Module: to_float64 keeps a module held twice as one module", "[nn][module]") {
    tg::Generator gen(5);
    auto dense = std::make_shared<nn::Dense<float>>(2, 2, gen);
    nn::Sequential<float> twice{dense, dense};
    auto copy = twice.to_float64();
    CHECK(copy->children()[0] == copy->children()[1]);
    CHECK(copy->parameters().size() == 2);
}

TEST_CASE("Module: errors name the module for a missing to_float64 or a single-tensor forward",
          "[nn][module][errors]") {
    Opaque opaque;
    CHECK_THROWS_AS(opaque.to_float64(), tg::ValueError);
    CHECK_THROWS_WITH(opaque.to_float64(), Catch::Matchers::Contains("Opaque"));
    CHECK_THROWS_AS(opaque.forward(tg::zeros<float>({1})), tg::ValueError);
    CHECK_THROWS_WITH(opaque.forward(tg::zeros<float>({1})),
                      Catch::Matchers::Contains("Opaque") && Catch::Matchers::Contains("single tensor"));
}
