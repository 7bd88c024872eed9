#include <catch2/catch.hpp>
#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
namespace nn = tapegrad::nn;

TEST_CASE("the Hessian of a loss with respect to a layer's weight", "[readme]") {
    tg::Generator gen(0);
    nn::Sequential<double> model{std::make_shared<nn::Dense<double>>(2, 2, gen)};
    tg::TensorD x = {{1.0, 2.0}, {3.0, -1.0}}, y = {{1.0, 0.5}, {0.0, 2.0}};

    auto loss = [&](const tg::TensorD& w) {  // the model's loss as a function of its weight
        return tg::mse_loss(nn::functional_call(model, {{"0.weight", w}}, x), y, tg::Reduction::Sum);
    };
    tg::TensorD w = model.named_parameters()[0].second;  // [2, 2]
    tg::TensorD h = tg::func::hessian(loss)(w);          // [2, 2, 2, 2]: 2 x^T x per output
    CHECK(h.value()(1, 0, 1, 0) == 20.0);
    CHECK(h.value()(1, 0, 1, 1) == -2.0);
    CHECK(h.value()(0, 0, 1, 0) == 0.0);
    CHECK(model.named_parameters()[0].second.same(w));  // the model holds its own weight again
}
