// Forward mode through whole models: the tangent of a model's output for tangents on its input and
// on every parameter (substituted by functional_call) against float64 central differences, with
// every op on its own tangent rule (none through the generic rule from the backward).
#include <cmath>
#include <memory>

#include <catch2/catch.hpp>
#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
namespace nn = tapegrad::nn;
namespace fwad = tapegrad::fwad;
using TensorD = tg::Tensor<double>;

namespace {

// max |jvp - fd| / (1 + |fd|) over the output for random tangents on x and every parameter.
double forward_mode_error(nn::Module<double>& model, const TensorD& x) {
    tg::Generator gen(11);
    const auto params = model.named_parameters();
    const TensorD vx = tg::rand<double>(x.shape(), gen, -1.0, 1.0);
    std::vector<TensorD> vp;
    for (const auto& [name, p] : params) vp.push_back(tg::rand<double>(p.shape(), gen, -1.0, 1.0));
    auto shifted = [&](double step) {
        tg::NoGradGuard no_grad;
        nn::TensorDict<double> moved;
        for (std::size_t i = 0; i < params.size(); ++i)
            moved[params[i].first] = TensorD(xt::xarray<double>(params[i].second.value() + step * vp[i].value()));
        return xt::xarray<double>(
            nn::functional_call(model, moved, TensorD(xt::xarray<double>(x.value() + step * vx.value()))).value());
    };
    const double eps = 1e-6;
    const xt::xarray<double> fd = (shifted(eps) - shifted(-eps)) / (2 * eps);
    const std::uint64_t generic_before = tg::detail::generic_tangent_uses();
    xt::xarray<double> jvp;
    {
        fwad::DualLevel level;
        nn::TensorDict<double> duals;
        for (std::size_t i = 0; i < params.size(); ++i)
            duals[params[i].first] = fwad::make_dual(params[i].second, vp[i]);
        const TensorD y = nn::functional_call(model, duals, fwad::make_dual(x, vx));
        jvp = fwad::unpack_dual(y).tangent.value();
    }
    CHECK(tg::detail::generic_tangent_uses() == generic_before);
    REQUIRE(jvp.shape() == fd.shape());
    return xt::amax(xt::abs(jvp - fd) / (1.0 + xt::abs(fd)))();
}

}  // namespace

// Central differences with eps 1e-6 in float64: rounding ~1e-10 relative, truncation ~1e-12.
constexpr double kTol = 1e-7;

TEST_CASE("forward mode: a 2-layer bidirectional LSTM and a batch-first GRU, input and parameter tangents",
          "[nn][forward_ad][recurrent]") {
    tg::Generator gen(3);
    nn::LSTM<double> lstm(3, 4, gen, {.num_layers = 2, .bidirectional = true});
    CHECK(forward_mode_error(lstm, tg::randn<double>({5, 2, 3}, gen)) < kTol);
    nn::GRU<double> gru(3, 4, gen, {.batch_first = true});
    CHECK(forward_mode_error(gru, tg::randn<double>({2, 5, 3}, gen)) < kTol);
}

TEST_CASE("forward mode: a CNN with batch norm (training and eval), max and average pooling",
          "[nn][forward_ad][conv]") {
    tg::Generator gen(4);
    nn::Sequential<double> cnn{std::make_shared<nn::Conv2d<double>>(2, 3, 3, gen, 1, 1),
                               std::make_shared<nn::BatchNorm2d<double>>(3),
                               std::make_shared<nn::ReLU<double>>(),
                               std::make_shared<nn::MaxPool2d<double>>(2),
                               std::make_shared<nn::Conv2d<double>>(3, 4, 2, gen),
                               std::make_shared<nn::GroupNorm<double>>(2, 4),
                               std::make_shared<nn::AvgPool2d<double>>(2),
                               std::make_shared<nn::Flatten<double>>(),
                               std::make_shared<nn::Dense<double>>(4, 2, gen)};
    const TensorD x = tg::randn<double>({3, 2, 6, 6}, gen);
    CHECK(forward_mode_error(cnn, x) < kTol);
    cnn.eval();
    CHECK(forward_mode_error(cnn, x) < kTol);
}

TEST_CASE("forward mode: a transformer encoder layer (attention, layer norm, GELU)", "[nn][forward_ad][transformer]") {
    tg::Generator gen(5);
    nn::TransformerEncoderLayer<double> layer({.d_model = 8,
                                               .nhead = 2,
                                               .dim_feedforward = 16,
                                               .dropout = 0,
                                               .activation = nn::TransformerActivation::GELU,
                                               .batch_first = true},
                                              gen);
    CHECK(forward_mode_error(layer, tg::randn<double>({2, 3, 8}, gen)) < kTol);
}
