#include <catch2/catch.hpp>
#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
namespace nn = tapegrad::nn;

TEST_CASE("per-sample gradients: one row per sample, and their norms without materialising them", "[readme]") {
    tg::Generator gen(0);
    nn::Sequential<double> model = nn::mlp<double>({4, 8, 3}, nn::Activation::Tanh, gen);
    const tg::TensorD x = tg::randn<double>({16, 4}, gen);
    const tg::Labels y = tg::Labels::full({16}, 2);
    auto loss_fn = [](const tg::TensorD& logits, const tg::Labels& t) {
        return tg::cross_entropy(logits, t, tg::Reduction::None);  // one loss per sample: shape [16]
    };
    // Per parameter, in named_parameters() order: ("0.weight", [16, 8, 4]), ("0.bias", [16, 8]), ...
    const auto grads = nn::per_sample_grads(model, loss_fn, x, y);
    CHECK(grads[0].first == "0.weight");
    CHECK(grads[0].second.shape() == tg::Shape{16, 8, 4});

    // Sample 5's gradient is that of its own loss: the same as a backward on x[5:6] alone.
    tg::sum(loss_fn(model(tg::slice(x, 0, 5, 6)), tg::Labels{2})).backward();
    CHECK(xt::allclose(tg::select(grads[0].second, 0, 5).value(), model.parameters()[0].grad().value()));

    // ||g_i|| over all parameters (what DP-SGD clips), from ||a_i|| ||delta_i|| per Dense layer.
    const tg::TensorD norms = nn::per_sample_grad_norms(model, loss_fn, x, y);
    CHECK(norms.shape() == tg::Shape{16});
}
