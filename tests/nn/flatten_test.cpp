// Flatten and Unflatten: forward = the layout op with the module's arguments (and PyTorch's
// defaults), checked against plain index arithmetic; PyTorch's repr; gradients through
// gradcheck_module; a bad argument surfacing as the op's error at forward.
#include <catch2/catch.hpp>

#include <memory>

#include <tapegrad/tapegrad.hpp>

#include "../autograd/says.hpp"

namespace tg = tapegrad;
namespace nn = tapegrad::nn;
using tg::TensorD;

namespace {

/// x of `shape` holding 0, step, 2 step, ... in row-major order, requiring grad: every element says
/// where it came from.
TensorD iota(const tg::Shape& shape, double step = 1) {
    xt::xarray<double> v = xt::xarray<double>::from_shape(shape);
    for (std::size_t i = 0; i < v.size(); ++i) v.data()[i] = static_cast<double>(i) * step;
    return TensorD(std::move(v), true);
}

}  // namespace

TEST_CASE("Flatten: start_dim 1 and end_dim -1 by default, PyTorch's repr", "[nn][flatten]") {
    const TensorD x = iota({2, 3, 4, 5});
    nn::Flatten<double> flat;
    CHECK(flat.to_string() == "Flatten(start_dim=1, end_dim=-1)");
    const auto y = flat.forward(x);
    REQUIRE(y.shape() == tg::Shape{2, 60});
    // Row-major merge: y[n, (c 4 + h) 5 + w] = x[n, c, h, w], which iota numbers n 60 + ...
    for (std::size_t i = 0; i < y.numel(); ++i) CHECK(y.value().data()[i] == static_cast<double>(i));
    nn::Flatten<double> middle(1, 2);
    CHECK(middle.to_string() == "Flatten(start_dim=1, end_dim=2)");
    CHECK(middle.forward(x).shape() == tg::Shape{2, 12, 5});
    CHECK_THROWS_MATCHES(nn::Flatten<double>(1, 4).forward(x), tg::ValueError, Says("flatten") && Says("dim 4"));
}

TEST_CASE("Unflatten: rows of pixels become images, -1 inferred, PyTorch's repr", "[nn][flatten]") {
    const TensorD x = iota({3, 12});
    nn::Unflatten<double> images(1, {1, 3, 4});
    CHECK(images.to_string() == "Unflatten(dim=1, unflattened_size=(1, 3, 4))");
    const auto y = images.forward(x);
    REQUIRE(y.shape() == tg::Shape{3, 1, 3, 4});
    const auto& v = y.value();
    for (std::size_t n = 0; n < 3; ++n)
        for (std::size_t h = 0; h < 3; ++h)
            for (std::size_t w = 0; w < 4; ++w) CHECK(v(n, 0, h, w) == static_cast<double>(n * 12 + h * 4 + w));
    CHECK(nn::Unflatten<double>(-1, {-1, 6}).forward(x).shape() == tg::Shape{3, 2, 6});
    CHECK(nn::Unflatten<double>(0, {3}).to_string() == "Unflatten(dim=0, unflattened_size=(3,))");
    // Unflatten then Flatten gives x back.
    CHECK(nn::Flatten<double>().forward(y).value() == x.value());
    CHECK_THROWS_MATCHES(nn::Unflatten<double>(1, {5, 2}).forward(x), tg::ShapeError,
                         Says("unflatten") && Says("[5, 2]") && Says("[3, 12]"));
}

TEST_CASE("Flatten and Unflatten: gradients through gradcheck_module, float32 through its float64 copy",
          "[nn][flatten][gradcheck]") {
    const TensorD x = iota({2, 6}, 0.1);
    const nn::Sequential<double> both{std::make_shared<nn::Unflatten<double>>(1, std::vector<std::int64_t>{2, 3}),
                                      std::make_shared<nn::Flatten<double>>()};
    const auto first = nn::gradcheck_module(both, x);
    INFO(first.report());
    CHECK(first.ok);
    const auto second = nn::gradgradcheck_module(both, x);
    INFO(second.report());
    CHECK(second.ok);
    const nn::Unflatten<float> single(1, {3, 2});
    CHECK(single.to_float64()->to_string() == "Unflatten(dim=1, unflattened_size=(3, 2))");
    CHECK(nn::gradcheck_module(single, x.to<float>(true)).ok);
}
