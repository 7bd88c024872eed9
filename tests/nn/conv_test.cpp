// Convolution layers: PyTorch's names, shapes, repr and initialisation bounds; forward is the
// functional op; gradients through gradcheck_module; constructor errors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
namespace nn = tapegrad::nn;

namespace {

std::vector<std::string> names(const std::vector<nn::Module<double>::NamedTensor>& list) {
    std::vector<std::string> out;
    for (const auto& [name, t] : list) out.push_back(name);
    return out;
}

void check_equal(const tg::TensorD& a, const tg::TensorD& b) {
    REQUIRE(a.shape() == b.shape());
    for (std::size_t i = 0; i < a.numel(); ++i) CHECK(a.value().data()[i] == b.value().data()[i]);
}

/// Every element of t within (-bound, bound); for 30 elements or more also not all of them in the
/// inner half (the draw spans the whole interval, not a narrower one: a uniform draw misses the
/// outer half 30 times with probability 1e-9).
void check_uniform_bound(const tg::TensorD& t, double bound) {
    double top = 0;
    for (std::size_t i = 0; i < t.numel(); ++i) {
        const double v = std::abs(t.value().data()[i]);
        CHECK(v <= bound);
        top = std::max(top, v);
    }
    if (t.numel() >= 30) CHECK(top > bound / 2);
}

}  // namespace

TEST_CASE("Conv2d: PyTorch's parameter names, shapes, repr and initialisation", "[nn][conv]") {
    tg::Generator gen(1);
    nn::Conv2d<double> conv(4, 8, 3, gen, 1, 1);
    CHECK(names(conv.named_parameters()) == std::vector<std::string>{"weight", "bias"});
    CHECK(conv.weight().shape() == tg::Shape{8, 4, 3, 3});
    CHECK(conv.bias().shape() == tg::Shape{8});
    CHECK(conv.to_string() == "Conv2d(4, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))");
    // fan_in = in_channels / groups * kH * kW = 36: weight and bias U(-1/6, 1/6).
    check_uniform_bound(conv.weight(), 1.0 / 6);
    check_uniform_bound(conv.bias(), 1.0 / 6);

    nn::Conv2d<double> grouped(4, 6, {1, 3}, gen, {2, 1}, tg::Padding::Valid, 2, 2, false);
    CHECK(names(grouped.named_parameters()) == std::vector<std::string>{"weight"});
    CHECK(grouped.weight().shape() == tg::Shape{6, 2, 1, 3});
    check_uniform_bound(grouped.weight(), 1.0 / std::sqrt(6.0));
    CHECK(grouped.to_string() ==
          "Conv2d(4, 6, kernel_size=(1, 3), stride=(2, 1), padding=valid, dilation=(2, 2), groups=2, bias=False)");
    CHECK(nn::Conv2d<double>(2, 2, 2, gen, 1, tg::Padding::Same).to_string() ==
          "Conv2d(2, 2, kernel_size=(2, 2), stride=(1, 1), padding=same)");
}

TEST_CASE("Conv1d and ConvTranspose2d: names, shapes, repr and fan_in as PyTorch's", "[nn][conv]") {
    tg::Generator gen(2);
    nn::Conv1d<double> c1(3, 5, 4, gen, 2);
    CHECK(c1.weight().shape() == tg::Shape{5, 3, 4});
    CHECK(c1.to_string() == "Conv1d(3, 5, kernel_size=(4,), stride=(2,))");
    check_uniform_bound(c1.weight(), 1.0 / std::sqrt(12.0));

    // Transposed: weight [in, out / groups, kH, kW]; PyTorch's fan_in is weight.shape[1] * kH * kW
    // = 3 * 4 = 12 here (out_channels / groups), for the weight and the bias alike.
    nn::ConvTranspose2d<double> ct(4, 6, 2, gen, 2, 0, 1, 2);
    CHECK(names(ct.named_parameters()) == std::vector<std::string>{"weight", "bias"});
    CHECK(ct.weight().shape() == tg::Shape{4, 3, 2, 2});
    CHECK(ct.bias().shape() == tg::Shape{6});
    check_uniform_bound(ct.weight(), 1.0 / std::sqrt(12.0));
    check_uniform_bound(ct.bias(), 1.0 / std::sqrt(12.0));
    CHECK(ct.to_string() ==
          "ConvTranspose2d(4, 6, kernel_size=(2, 2), stride=(2, 2), output_padding=(1, 1), groups=2)");
}

TEST_CASE("Conv1d, Conv2d, ConvTranspose2d: forward is the functional op", "[nn][conv]") {
    tg::Generator gen(3);
    nn::Conv2d<double> conv(2, 3, {2, 3}, gen, 2, {1, 0}, 1, 1);
    const tg::TensorD x = tg::randn<double>({2, 2, 5, 6}, gen);
    const auto y = conv(x);
    CHECK(y.shape() == tg::Shape{2, 3, 3, 2});
    check_equal(y, tg::conv2d(x, conv.weight(), conv.bias(), 2, {1, 0}));

    nn::Conv1d<double> c1(2, 4, 3, gen, 1, tg::Padding::Same, 1, 2);
    const tg::TensorD x1 = tg::randn<double>({2, 7}, gen);  // unbatched
    check_equal(c1(x1), tg::conv1d(x1, c1.weight(), c1.bias(), 1, tg::Padding::Same, 1, 2));
    CHECK(c1(x1).shape() == tg::Shape{4, 7});

    nn::ConvTranspose2d<double> ct(3, 2, 3, gen, 2, 1, 1);
    const tg::TensorD z = tg::randn<double>({1, 3, 4, 4}, gen);
    CHECK(ct(z).shape() == tg::Shape{1, 2, 8, 8});  // (4 - 1) 2 - 2 + 2 + 1 + 1
    check_equal(ct(z), tg::conv_transpose2d(z, ct.weight(), ct.bias(), 2, 1, 1));
}

TEST_CASE("Conv layers: gradients match finite differences (gradcheck_module, to_float64)", "[nn][conv]") {
    tg::Generator gen(4);
    nn::Conv2d<float> conv(2, 2, 2, gen, 1, 1, 1, 2);
    const auto x = tg::randn<float>({1, 2, 3, 3}, gen).requires_grad_();
    const auto r = nn::gradcheck_module(conv, x);
    INFO(r.report());
    CHECK(r.ok);
    nn::Conv1d<double> c1(2, 3, 2, gen, 2, 1);
    const auto r1 = nn::gradcheck_module(c1, tg::randn<double>({2, 2, 5}, gen).requires_grad_());
    INFO(r1.report());
    CHECK(r1.ok);
    nn::ConvTranspose2d<double> ct(2, 2, 2, gen, 2, 0, 1);
    const auto rt = nn::gradgradcheck_module(ct, tg::randn<double>({1, 2, 2, 2}, gen).requires_grad_());
    INFO(rt.report());
    CHECK(rt.ok);
}

TEST_CASE("Conv layers: bad arguments are ValueErrors naming the layer, the generator untouched", "[nn][conv]") {
    tg::Generator gen(5);
    const tg::TensorD before = tg::randn<double>({4}, gen);
    tg::Generator fresh(5);
    CHECK_THROWS_WITH(nn::Conv2d<double>(4, 6, 3, fresh, 1, 0, 1, 4),
                      Catch::Contains("Conv2d") && Catch::Contains("groups 4"));
    CHECK_THROWS_WITH(nn::Conv2d<double>(2, 2, 3, fresh, 1, 0, 1, 1, true, "reflect"),
                      Catch::Contains("padding_mode 'reflect'") && Catch::Contains("only 'zeros'"));
    CHECK_THROWS_WITH(nn::Conv2d<double>(2, 2, 3, fresh, 2, tg::Padding::Same),
                      Catch::Contains("'same'") && Catch::Contains("stride 1"));
    CHECK_THROWS_WITH(nn::Conv1d<double>(2, 2, 0, fresh), Catch::Contains("Conv1d: kernel_size 0"));
    CHECK_THROWS_WITH(nn::Conv2d<double>(0, 2, 3, fresh), Catch::Contains("in_channels 0"));
    CHECK_THROWS_WITH(nn::ConvTranspose2d<double>(2, 2, 3, fresh, 2, 0, 2),
                      Catch::Contains("ConvTranspose2d: output_padding (2, 2)"));
    CHECK_THROWS_AS(nn::Conv2d<double>(2, 2, 3, fresh, 1, 0, 1, 1, true, "circular"), tg::ValueError);
    // No draw was taken by a constructor that threw.
    check_equal(tg::randn<double>({4}, fresh), before);
    // forward's errors are the op's.
    nn::Conv2d<double> conv(2, 2, 3, gen);
    CHECK_THROWS_WITH(conv(tg::randn<double>({1, 3, 4, 4}, gen)),
                      Catch::Contains("conv2d") && Catch::Contains("x's 3 channels"));
}
