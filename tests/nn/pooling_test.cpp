// The pooling modules: forward = the functional op with the module's arguments (and
// PyTorch's defaults), PyTorch's repr, gradients through gradcheck_module on the float64 copy (Flatten, of
// nn/flatten_test.cpp, as a CNN head), and a bad argument surfacing as the op's error at forward.
#include <catch2/catch.hpp>

#include <memory>

#include <tapegrad/tapegrad.hpp>

#include "../autograd/says.hpp"

namespace tg = tapegrad;
namespace nn = tapegrad::nn;
using tg::Size2;
using tg::TensorD;

namespace {

/// x of `shape` holding distinct values (so max pooling has no ties): a permutation of a grid in
/// [-2, 2) with steps of 4 / n (n odd, coprime to 37), requiring grad.
TensorD distinct(const tg::Shape& shape) {
    xt::xarray<double> v = xt::xarray<double>::from_shape(shape);
    const std::size_t n = v.size();
    for (std::size_t i = 0; i < n; ++i) v.data()[i] = static_cast<double>((i * 37) % n) * 4.0 / double(n) - 2.0;
    return TensorD(std::move(v), true);
}

bool same(const TensorD& a, const TensorD& b) {
    return a.shape() == b.shape() && a.value() == b.value();
}

}  // namespace

TEST_CASE("MaxPool2d and MaxPool1d: the functional op, PyTorch's defaults and repr", "[nn][pool]") {
    const TensorD x = distinct({2, 3, 7, 5});
    nn::MaxPool2d<double> pool(3, 2, 1);
    CHECK(pool.to_string() == "MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)");
    CHECK(same(pool.forward(x), tg::max_pool2d(x, 3, 2, 1)));
    nn::MaxPool2d<double> pairs(Size2{3, 2}, std::nullopt, Size2{1, 0}, 1, true);
    CHECK(pairs.to_string() ==
          "MaxPool2d(kernel_size=(3, 2), stride=(3, 2), padding=(1, 0), dilation=1, "
          "ceil_mode=True)");
    CHECK(same(pairs.forward(x), tg::max_pool2d(x, Size2{3, 2}, Size2{3, 2}, Size2{1, 0}, 1, true)));
    CHECK(nn::MaxPool2d<float>(2).to_string() ==
          "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)");

    const TensorD line = distinct({2, 3, 9});
    nn::MaxPool1d<double> pool1(3, 2, 1, 2);
    CHECK(pool1.to_string() == "MaxPool1d(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=False)");
    CHECK(same(pool1.forward(line), tg::max_pool1d(line, 3, 2, 1, 2)));
    CHECK(nn::MaxPool1d<float>(2).to_string() ==
          "MaxPool1d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)");
}

TEST_CASE("AvgPool2d, AvgPool1d and AdaptiveAvgPool2d: the functional op, defaults and repr", "[nn][pool]") {
    const TensorD x = distinct({2, 3, 7, 5});
    nn::AvgPool2d<double> pool(3, 2, 1, true, false, 4);
    CHECK(pool.to_string() == "AvgPool2d(kernel_size=3, stride=2, padding=1)");
    CHECK(same(pool.forward(x), tg::avg_pool2d(x, 3, 2, 1, true, false, 4)));
    nn::AvgPool2d<double> plain(2);
    CHECK(plain.to_string() == "AvgPool2d(kernel_size=2, stride=2, padding=0)");
    CHECK(same(plain.forward(x), tg::avg_pool2d(x, 2, 2, 0, false, true)));

    const TensorD line = distinct({2, 3, 9});
    nn::AvgPool1d<double> pool1(3, 2, 1, true, false);
    CHECK(pool1.to_string() == "AvgPool1d(kernel_size=(3,), stride=(2,), padding=(1,))");
    CHECK(same(pool1.forward(line), tg::avg_pool1d(line, 3, 2, 1, true, false)));
    CHECK(nn::AvgPool1d<float>(2).to_string() == "AvgPool1d(kernel_size=(2,), stride=(2,), padding=(0,))");

    nn::AdaptiveAvgPool2d<double> adaptive(Size2{3, 2});
    CHECK(adaptive.to_string() == "AdaptiveAvgPool2d(output_size=(3, 2))");
    CHECK(same(adaptive.forward(x), tg::adaptive_avg_pool2d(x, Size2{3, 2})));
    CHECK(nn::AdaptiveAvgPool2d<float>(1).to_string() == "AdaptiveAvgPool2d(output_size=1)");
}

TEST_CASE("pooling modules: gradients of a small CNN head through gradcheck_module", "[nn][pool][gradcheck]") {
    const TensorD x = distinct({2, 2, 6, 5});
    const std::vector<std::shared_ptr<nn::Module<double>>> modules = {
        std::make_shared<nn::MaxPool2d<double>>(3, 2, 1, 1, true),
        std::make_shared<nn::AvgPool2d<double>>(Size2{2, 3}, 1, Size2{1, 0}, false, false),
        std::make_shared<nn::AdaptiveAvgPool2d<double>>(Size2{4, 3}), std::make_shared<nn::Flatten<double>>()};
    for (const auto& m : modules) {
        INFO(m->to_string());
        const auto first = nn::gradcheck_module(*m, x);
        INFO(first.report());
        CHECK(first.ok);
        const auto second = nn::gradgradcheck_module(*m, x);
        INFO(second.report());
        CHECK(second.ok);
    }
    const TensorD line = distinct({2, 2, 7});
    for (const auto& m : std::vector<std::shared_ptr<nn::Module<double>>>{
             std::make_shared<nn::MaxPool1d<double>>(3, 2, 1), std::make_shared<nn::AvgPool1d<double>>(2, 1)}) {
        INFO(m->to_string());
        const auto result = nn::gradcheck_module(*m, line);
        INFO(result.report());
        CHECK(result.ok);
    }
    // A float32 module is checked through its float64 copy (to_float64).
    const nn::Sequential<float> head{std::make_shared<nn::MaxPool2d<float>>(2), std::make_shared<nn::Flatten<float>>()};
    CHECK(nn::gradcheck_module(head, distinct({1, 2, 4, 4}).to<float>(true)).ok);
}

TEST_CASE("pooling modules: a bad argument is the op's error at forward", "[nn][pool][errors]") {
    const TensorD x = distinct({1, 1, 4, 4});
    CHECK_THROWS_MATCHES(nn::MaxPool2d<double>(3, 1, 2).forward(x), tg::ValueError,
                         Says("max_pool2d") && Says("padding [2, 2]") && Says("kernel_size [3, 3]"));
    CHECK_THROWS_MATCHES(nn::AvgPool2d<double>(5).forward(x), tg::ShapeError,
                         Says("avg_pool2d") && Says("[1, 1, 4, 4]"));
    CHECK_THROWS_MATCHES(nn::AdaptiveAvgPool2d<double>(0).forward(x), tg::ValueError,
                         Says("adaptive_avg_pool2d") && Says("output_size [0, 0]"));
    CHECK_THROWS_MATCHES(nn::MaxPool1d<double>(2).forward(x), tg::ShapeError,
                         Says("max_pool1d") && Says("[1, 1, 4, 4]"));
    CHECK_THROWS_MATCHES(nn::AvgPool1d<double>(0).forward(distinct({1, 4})), tg::ValueError,
                         Says("avg_pool1d") && Says("kernel_size"));
}
