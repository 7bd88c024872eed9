// Module conveniences: apply over shared modules, summary() tables, trainable parameter counts.
#include <catch2/catch.hpp>
#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
namespace nn = tapegrad::nn;

namespace {

/// Multiplies its input elementwise by a weight it is given, so that two can share one.
class Scale : public nn::Module<double> {
public:
    explicit Scale(tg::Tensor<double> w) : w_(register_parameter("weight", std::move(w))) {}
    tg::Tensor<double> forward(const tg::Tensor<double>& x) override { return x * w_; }
    std::string name() const override { return "Scale"; }

private:
    tg::Tensor<double> w_;
};

/// An encoder and a decoder sharing one weight.
class Tied : public nn::Module<double> {
public:
    explicit Tied(const tg::Tensor<double>& w) {
        register_module("encoder", std::make_shared<Scale>(w));
        register_module("decoder", std::make_shared<Scale>(w));
    }
    std::string name() const override { return "Tied"; }
};

}  // namespace

TEST_CASE("Module: apply visits a module held twice once, in named_modules order", "[nn][module]") {
    tg::Generator gen(1);
    auto dense = std::make_shared<nn::Dense<double>>(2, 2, gen);
    nn::Sequential<double> twice{dense, std::make_shared<nn::Tanh<double>>(), dense};
    std::vector<std::string> visited;
    twice.apply([&](nn::Module<double>& m) { visited.push_back(m.name()); });
    CHECK(visited == std::vector<std::string>{"Sequential", "Dense", "Tanh"});
    // An initialiser run through apply scales the shared layer once, not twice.
    const xt::xarray<double> before = dense->weight().value();
    twice.apply([](nn::Module<double>& m) {
        tg::NoGradGuard no_grad;
        for (auto& [name, p] : m.named_parameters()) {
            if (name == "weight") p.mul_(2.0);
        }
    });
    const xt::xarray<double>& after = dense->weight().value();
    CHECK(after == 2.0 * before);
}

TEST_CASE("Module: summary of an MLP lists each module, its own parameters and the totals", "[nn][module]") {
    tg::Generator gen(2);
    auto net = nn::mlp<double>({3, 4, 2}, nn::Activation::Tanh, gen);
    // Dense(3 -> 4): 4 x 3 + 4 = 16; Dense(4 -> 2): 2 x 4 + 2 = 10.
    CHECK(net.summary() ==
          "Module  Type        Parameters  Shapes\n"
          "(root)  Sequential           0\n"
          "0       Dense               16  weight [4, 3], bias [4]\n"
          "1       Tanh                 0\n"
          "2       Dense               10  weight [2, 4], bias [2]\n"
          "Total parameters: 26\n"
          "Trainable parameters: 26");
}

TEST_CASE("Module: summary counts a tied weight once and marks frozen parameters", "[nn][module]") {
    Tied tied(tg::Tensor<double>({1.0, 2.0, 3.0}));
    CHECK(tied.summary() ==
          "Module   Type   Parameters  Shapes\n"
          "(root)   Tied            0\n"
          "encoder  Scale           3  weight [3]\n"
          "decoder  Scale           0  weight = encoder.weight\n"
          "Total parameters: 3\n"
          "Trainable parameters: 3");

    tg::Generator gen(3);
    nn::Dense<double> dense(2, 3, gen);
    dense.parameters()[1].requires_grad_(false);
    CHECK(dense.num_parameters() == 9);
    CHECK(dense.num_parameters(/*trainable_only=*/true) == 6);
    CHECK(dense.summary() ==
          "Module  Type   Parameters  Shapes\n"
          "(root)  Dense           9  weight [3, 2], bias [3] (frozen)\n"
          "Total parameters: 9\n"
          "Trainable parameters: 6");
}
