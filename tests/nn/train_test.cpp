// End to end: small MLPs trained on toy problems; the loss must fall by a clear margin.
#include <cmath>

#include <catch2/catch.hpp>
#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
namespace nn = tapegrad::nn;
namespace optim = tapegrad::optim;

TEST_CASE("Training: an MLP with Adam learns two concentric rings", "[nn][train]") {
    tg::Generator gen(123);
    // 128 points: class 0 at radius ~0.5, class 1 at radius ~1.5 (not linearly separable).
    const std::size_t n = 128;
    xt::xarray<float> x = xt::xarray<float>::from_shape({n, 2});
    tg::Labels y = tg::Labels::full({n}, 0);
    for (std::size_t i = 0; i < n; ++i) {
        y[i] = static_cast<std::int64_t>(i % 2);
        const double r = (y[i] == 0 ? 0.5 : 1.5) + 0.1 * gen.normal();
        const double angle = 2 * 3.141592653589793 * gen.uniform();
        x(i, 0) = static_cast<float>(r * std::cos(angle));
        x(i, 1) = static_cast<float>(r * std::sin(angle));
    }
    const tg::Tensor<float> inputs(x);

    auto net = nn::mlp<float>({2, 16, 16, 2}, nn::Activation::Tanh, gen);
    optim::Adam<float> opt(net.parameters(), {.lr = 0.02});
    nn::CrossEntropyLoss<float> criterion;
    double first = 0, last = 0;
    for (int step = 0; step < 150; ++step) {
        opt.zero_grad();
        auto loss = criterion(net(inputs), y);
        loss.backward();
        opt.step();
        (step == 0 ? first : last) = loss.item();
    }
    INFO("loss " << first << " -> " << last);
    CHECK(first > 0.5);  // chance level is log 2 = 0.69
    CHECK(last < 0.25 * first);

    // The trained net classifies the training points almost all correctly.
    net.eval();
    tg::NoGradGuard no_grad;
    const auto logits = net(inputs).value();
    std::size_t correct = 0;
    for (std::size_t i = 0; i < n; ++i) correct += (logits(i, 1) > logits(i, 0)) == (y[i] == 1);
    CHECK(correct >= 120);
}

TEST_CASE("Training: SGD with momentum, clipping and a schedule fits a smooth curve", "[nn][train]") {
    tg::Generator gen(7);
    auto x = tg::rand<double>({64, 1}, gen, -2.0, 2.0);
    xt::xarray<double> target = xt::sin(x.value());
    const tg::Tensor<double> y(target);

    auto net = nn::mlp<double>({1, 32, 1}, nn::Activation::Tanh, gen);
    optim::SGD<double> opt(net.parameters(), {.lr = 0.1, .momentum = 0.9});
    optim::StepLR schedule(opt, 100, 0.5);
    nn::MSELoss<double> criterion;
    double first = 0, last = 0;
    for (int step = 0; step < 300; ++step) {
        opt.zero_grad();
        auto loss = criterion(net(x), y);
        loss.backward();
        nn::clip_grad_norm(net.parameters(), 1.0);
        opt.step();
        schedule.step();
        (step == 0 ? first : last) = loss.item();
    }
    INFO("loss " << first << " -> " << last);
    CHECK(last < 0.05 * first);
    CHECK(opt.lr() == Approx(0.1 * 0.125));
}
