// Modules: parameter names and counts, summaries, forward values, train/eval, errors.
#include <sstream>

#include <catch2/catch.hpp>
#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
namespace nn = tapegrad::nn;

namespace {

std::vector<std::string> names_of(const nn::Module<double>& m) {
    std::vector<std::string> out;
    for (const auto& [name, p] : m.named_parameters()) out.push_back(name);
    return out;
}

/// Multiplies its input elementwise by a weight it is given, so that two can share one.
class Scale : public nn::Module<double> {
public:
    explicit Scale(tg::Tensor<double> w) : w_(register_parameter("weight", std::move(w))) {}
    tg::Tensor<double> forward(const tg::Tensor<double>& x) override { return tg::mul(x, w_); }
    std::string name() const override { return "Scale"; }

private:
    tg::Tensor<double> w_;
};

/// An encoder and a decoder sharing one weight, as an embedding tied to an output layer.
class Tied : public nn::Module<double> {
public:
    explicit Tied(const tg::Tensor<double>& w)
        : encoder_(register_module("encoder", std::make_shared<Scale>(w))),
          decoder_(register_module("decoder", std::make_shared<Scale>(w))) {}
    tg::Tensor<double> forward(const tg::Tensor<double>& x) override { return (*decoder_)((*encoder_)(x)); }
    std::string name() const override { return "Tied"; }

private:
    ModulePtr encoder_;
    ModulePtr decoder_;
};

}  // namespace

TEST_CASE("mlp: parameters are named as PyTorch's Sequential names them", "[nn][module]") {
    tg::Generator gen(1);
    auto net = nn::mlp<double>({4, 8, 3}, nn::Activation::ReLU, gen);
    CHECK(names_of(net) == std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});
    auto named = net.named_parameters();
    CHECK(named[0].second.shape() == tg::Shape{8, 4});
    CHECK(named[1].second.shape() == tg::Shape{8});
    CHECK(named[2].second.shape() == tg::Shape{3, 8});
    CHECK(named[3].second.shape() == tg::Shape{3});
    CHECK(net.num_parameters() == 4 * 8 + 8 + 8 * 3 + 3);
    CHECK(net.size() == 3);  // Dense, ReLU, Dense: no activation after the last layer
    for (const auto& p : net.parameters()) CHECK(p.requires_grad());
}

TEST_CASE("Module: nested containers prefix their children's names", "[nn][module]") {
    tg::Generator gen(2);
    nn::Sequential<double> outer;
    outer.push_back(std::make_shared<nn::Dense<double>>(2, 3, gen, /*bias=*/false));
    outer.push_back(std::make_shared<nn::Sequential<double>>(nn::mlp<double>({3, 5, 1}, nn::Activation::Tanh, gen)));
    CHECK(names_of(outer) == std::vector<std::string>{"0.weight", "1.0.weight", "1.0.bias", "1.2.weight", "1.2.bias"});
    CHECK(outer.num_parameters() == 6 + 15 + 5 + 5 + 1);
    CHECK(outer.to_string() ==
          "Sequential(\n"
          "  (0): Dense(2 -> 3, no bias)\n"
          "  (1): Sequential(\n"
          "    (0): Dense(3 -> 5, bias)\n"
          "    (1): Tanh()\n"
          "    (2): Dense(5 -> 1, bias)\n"
          "  )\n"
          ")");
}

TEST_CASE("Module: to_string of leaves names their settings", "[nn][module]") {
    tg::Generator gen(3);
    CHECK(nn::Dense<float>(784, 256, gen).to_string() == "Dense(784 -> 256, bias)");
    CHECK(nn::ReLU<float>().to_string() == "ReLU()");
    CHECK(nn::LeakyReLU<float>(0.2).to_string() == "LeakyReLU(negative_slope=0.2)");
    CHECK(nn::Softmax<float>(1).to_string() == "Softmax(dim=1)");
    CHECK(nn::LogSoftmax<float>().to_string() == "LogSoftmax(dim=-1)");
    CHECK(nn::GELU<float>().to_string() == "GELU()");
}

TEST_CASE("Dense: forward equals x W^T + b computed by hand", "[nn][module]") {
    tg::Generator gen(4);
    nn::Dense<double> fc(4, 3, gen);
    auto x = tg::randn<double>({5, 4}, gen);
    auto y = fc(x);
    REQUIRE(y.shape() == tg::Shape{5, 3});
    const auto& w = fc.weight().value();
    const auto& b = fc.bias().value();
    for (std::size_t i = 0; i < 5; ++i) {
        for (std::size_t j = 0; j < 3; ++j) {
            double expected = b(j);
            for (std::size_t k = 0; k < 4; ++k) expected += x.value()(i, k) * w(j, k);
            CHECK(y.value()(i, j) == Approx(expected).epsilon(1e-12));
        }
    }
}

TEST_CASE("Dense: without bias computes x W^T and has one parameter", "[nn][module]") {
    tg::Generator gen(5);
    nn::Dense<double> fc(3, 2, gen, /*bias=*/false);
    CHECK_FALSE(fc.has_bias());
    CHECK(names_of(fc) == std::vector<std::string>{"weight"});
    auto x = tg::randn<double>({2, 3}, gen);
    auto y = fc(x);
    for (std::size_t i = 0; i < 2; ++i) {
        for (std::size_t j = 0; j < 2; ++j) {
            double expected = 0;
            for (std::size_t k = 0; k < 3; ++k) expected += x.value()(i, k) * fc.weight().value()(j, k);
            CHECK(y.value()(i, j) == Approx(expected).epsilon(1e-12));
        }
    }
}

TEST_CASE("Dense: an input of the wrong width is a ShapeError naming both sizes", "[nn][module][errors]") {
    tg::Generator gen(6);
    nn::Dense<float> fc(4, 2, gen);
    CHECK_THROWS_AS(fc(tg::zeros<float>({3, 5})), tg::ShapeError);
    CHECK_THROWS_WITH(fc(tg::zeros<float>({3, 5})), Catch::Contains("[3, 5]") && Catch::Contains("Dense(4 -> 2)"));
    CHECK_THROWS_WITH(fc(tg::zeros<float>({2, 3, 5})), Catch::Contains("[2, 3, 5]") && Catch::Contains("[..., 4]"));
    CHECK_THROWS_WITH(fc(tg::zeros<float>({5})), Catch::Contains("[5]") && Catch::Contains("Dense(4 -> 2)"));
    CHECK_THROWS_WITH(fc(tg::TensorF(1.0F)), Catch::Contains("[]") && Catch::Contains("Dense(4 -> 2)"));
    CHECK_THROWS_AS(nn::Dense<float>(0, 2, gen), tg::ValueError);
}

TEST_CASE("Dense: a rank-3 input [batch, sequence, in] maps its last dim, as a hand loop does", "[nn][module]") {
    tg::Generator gen(8);
    nn::Dense<double> fc(4, 3, gen);
    CHECK(names_of(fc) == std::vector<std::string>{"weight", "bias"});  // PyTorch's Linear state_dict keys
    auto x = tg::randn<double>({2, 5, 4}, gen, 0.0, 1.0, /*requires_grad=*/true);
    auto y = fc(x);
    REQUIRE(y.shape() == tg::Shape{2, 5, 3});
    const auto& w = fc.weight().value();
    const auto& b = fc.bias().value();
    // dL/dW and dL/db for L = sum(G * y), by hand: sums over both leading dims.
    const auto g = tg::randn<double>({2, 5, 3}, gen);
    xt::xarray<double> dw = xt::zeros<double>({3, 4});
    xt::xarray<double> db = xt::zeros<double>({3});
    for (std::size_t s = 0; s < 2; ++s) {
        for (std::size_t t = 0; t < 5; ++t) {
            for (std::size_t j = 0; j < 3; ++j) {
                double expected = b(j);
                for (std::size_t k = 0; k < 4; ++k) expected += x.value()(s, t, k) * w(j, k);
                CHECK(y.value()(s, t, j) == Approx(expected).epsilon(1e-12));
                db(j) += g.value()(s, t, j);
                for (std::size_t k = 0; k < 4; ++k) dw(j, k) += g.value()(s, t, j) * x.value()(s, t, k);
            }
        }
    }
    y.backward(g);
    for (std::size_t j = 0; j < 3; ++j) {
        CHECK(fc.bias().grad().value()(j) == Approx(db(j)).epsilon(1e-12));
        for (std::size_t k = 0; k < 4; ++k) CHECK(fc.weight().grad().value()(j, k) == Approx(dw(j, k)).epsilon(1e-12));
    }
    // dL/dx = G W, per sample.
    for (std::size_t s = 0; s < 2; ++s) {
        for (std::size_t t = 0; t < 5; ++t) {
            for (std::size_t k = 0; k < 4; ++k) {
                double expected = 0;
                for (std::size_t j = 0; j < 3; ++j) expected += g.value()(s, t, j) * w(j, k);
                CHECK(x.grad().value()(s, t, k) == Approx(expected).epsilon(1e-12));
            }
        }
    }
    // One sample as a 1-D input gives its row of the batched result.
    xt::xarray<double> sample = xt::zeros<double>({4});
    for (std::size_t k = 0; k < 4; ++k) sample(k) = x.value()(1, 2, k);
    const auto one = fc(tg::TensorD(sample));
    REQUIRE(one.shape() == tg::Shape{3});
    for (std::size_t j = 0; j < 3; ++j) CHECK(one.value()(j) == Approx(y.value()(1, 2, j)).epsilon(1e-12));
}

TEST_CASE("Sequential: forward chains its modules and keeps the batch", "[nn][module]") {
    tg::Generator gen(7);
    auto net = nn::mlp<float>({6, 10, 10, 4}, nn::Activation::GELU, gen);
    CHECK(net.size() == 5);
    auto y = net(tg::randn<float>({9, 6}, gen));
    CHECK(y.shape() == tg::Shape{9, 4});
    // The same as applying the children one by one.
    auto x = tg::randn<float>({2, 6}, gen);
    auto h = x;
    for (std::size_t i = 0; i < net.size(); ++i) h = net[i]->forward(h);
    CHECK(h.value() == net(x).value());
    CHECK(net.at<nn::Dense<float>>(2)->in_features() == 10);
    CHECK_THROWS_AS(net.at<nn::Dense<float>>(1), tg::ValueError);
    CHECK_THROWS_AS(net[5], tg::ValueError);
}

TEST_CASE("mlp: rejects fewer than two sizes and zero sizes", "[nn][module][errors]") {
    tg::Generator gen(8);
    CHECK_THROWS_AS(nn::mlp<float>({3}, nn::Activation::ReLU, gen), tg::ValueError);
    CHECK_THROWS_AS(nn::mlp<float>({3, 0, 2}, nn::Activation::ReLU, gen), tg::ValueError);
}

TEST_CASE("Activation modules compute their ops", "[nn][module]") {
    tg::Tensor<double> x = {{-2.0, -0.5, 0.0, 1.5}};
    CHECK(nn::ReLU<double>()(x).value() == tg::relu(x).value());
    CHECK(nn::LeakyReLU<double>(0.2)(x).value() == tg::leaky_relu(x, 0.2).value());
    CHECK(nn::Sigmoid<double>()(x).value() == tg::sigmoid(x).value());
    CHECK(nn::Tanh<double>()(x).value() == tg::tanh(x).value());
    CHECK(nn::GELU<double>()(x).value() == tg::gelu(x).value());
    CHECK(nn::Softmax<double>()(x).value() == tg::softmax(x, -1).value());
    CHECK(nn::LogSoftmax<double>()(x).value() == tg::log_softmax(x, -1).value());
    CHECK(nn::LeakyReLU<double>(0.2)(x).value()(0, 0) == Approx(-0.4));
}

TEST_CASE("parse_activation: accepts the documented names, any case", "[nn][module]") {
    CHECK(nn::parse_activation("relu") == nn::Activation::ReLU);
    CHECK(nn::parse_activation("GELU") == nn::Activation::GELU);
    CHECK(nn::parse_activation("leaky_relu") == nn::Activation::LeakyReLU);
    for (auto a : {nn::Activation::ReLU, nn::Activation::LeakyReLU, nn::Activation::Sigmoid, nn::Activation::Tanh,
                   nn::Activation::GELU}) {
        CHECK(nn::parse_activation(nn::activation_name(a)) == a);
    }
    CHECK_THROWS_WITH(nn::parse_activation("swish"), Catch::Contains("swish") && Catch::Contains("relu"));
}

TEST_CASE("Module: train and eval set the flag on every descendant", "[nn][module]") {
    tg::Generator gen(9);
    nn::Sequential<float> outer;
    outer.push_back(std::make_shared<nn::Sequential<float>>(nn::mlp<float>({2, 3, 1}, nn::Activation::ReLU, gen)));
    auto inner = std::dynamic_pointer_cast<nn::Sequential<float>>(outer[0]);
    CHECK(outer.is_training());
    CHECK((*inner)[2]->is_training());
    outer.eval();
    CHECK_FALSE(outer.is_training());
    CHECK_FALSE(inner->is_training());
    CHECK_FALSE((*inner)[2]->is_training());
    outer.train();
    CHECK((*inner)[0]->is_training());
}

TEST_CASE("Module: backward reaches every parameter and zero_grad drops the gradients", "[nn][module]") {
    tg::Generator gen(10);
    auto net = nn::mlp<double>({3, 4, 2}, nn::Activation::Tanh, gen);
    auto loss = tg::sum(tg::square(net(tg::randn<double>({5, 3}, gen))));
    loss.backward();
    for (const auto& [name, p] : net.named_parameters()) {
        INFO(name);
        REQUIRE(p.grad().defined());
        CHECK(p.grad().shape() == p.shape());
    }
    net.zero_grad();
    for (const auto& p : net.parameters()) CHECK_FALSE(p.grad().defined());
}

TEST_CASE("Sequential: built from a list or with add, and printable with <<", "[nn][module]") {
    tg::Generator gen(11);
    nn::Sequential<float> net{std::make_shared<nn::Dense<float>>(3, 4, gen), std::make_shared<nn::ReLU<float>>()};
    std::shared_ptr<nn::Dense<float>> head = net.add(std::make_shared<nn::Dense<float>>(4, 2, gen));
    CHECK(net.size() == 3);
    CHECK(head->out_features() == 2);
    CHECK(net[2].get() == head.get());
    CHECK(net.named_parameters()[2].first == "2.weight");
    std::ostringstream os;
    os << net;
    CHECK(os.str() == net.to_string());
}

TEST_CASE("Module: a weight tied between two modules is listed once and stepped once per step", "[nn][module]") {
    Tied model(tg::Tensor<double>({1.0, 2.0, -1.0}));
    CHECK(names_of(model) == std::vector<std::string>{"encoder.weight"});
    REQUIRE(model.parameters().size() == 1);
    CHECK(model.num_parameters() == 3);
    tg::optim::SGD<double> sgd(model.parameters(), {.lr = 0.1});
    // loss = sum(x * w * w), so d loss / d w = 2 x w (both uses summed); SGD: w <- w - 0.1 * 2 x w.
    const std::vector<double> x = {0.5, 1.0, 2.0};
    std::vector<double> w = {1.0, 2.0, -1.0};
    for (int step = 0; step < 2; ++step) {
        sgd.zero_grad();
        tg::sum(model(tg::Tensor<double>({0.5, 1.0, 2.0}))).backward();
        sgd.step();
        for (std::size_t k = 0; k < w.size(); ++k) w[k] -= 0.1 * 2 * x[k] * w[k];
    }
    const auto& got = model.parameters()[0].value();
    for (std::size_t k = 0; k < w.size(); ++k) CHECK(got(k) == Approx(w[k]).epsilon(1e-14));
}

TEST_CASE("Sequential: the same Dense twice lists its parameters once and trains them once", "[nn][module]") {
    tg::Generator gen(5);
    auto dense = std::make_shared<nn::Dense<double>>(1, 1, gen);
    nn::Sequential<double> twice{dense, dense};
    CHECK(names_of(twice) == std::vector<std::string>{"0.weight", "0.bias"});
    CHECK(twice.num_parameters() == 2);
    CHECK(twice.size() == 2);

    const double w = dense->weight().item(), b = dense->bias().item(), x = 0.75, lr = 0.1;
    tg::optim::SGD<double> sgd(twice.parameters(), {.lr = lr});
    // y = w (w x + b) + b: dy/dw = 2 w x + b and dy/db = w + 1.
    twice(tg::full<double>({1, 1}, x)).backward();
    sgd.step();
    CHECK(dense->weight().item() == Approx(w - lr * (2 * w * x + b)).epsilon(1e-14));
    CHECK(dense->bias().item() == Approx(b - lr * (w + 1)).epsilon(1e-14));
}
