// Normalisation layers: outputs equal the functional ops, PyTorch's names, running statistics.
#include <catch2/catch.hpp>

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

}  // namespace

TEST_CASE("LayerNorm, RMSNorm, GroupNorm: forward is the functional op, names are PyTorch's", "[nn][normalization]") {
    tg::Generator gen(3);
    const tg::TensorD x = tg::randn<double>({4, 6}, gen);
    nn::LayerNorm<double> ln({6});
    CHECK(names(ln.named_parameters()) == std::vector<std::string>{"weight", "bias"});
    auto lp = ln.parameters();
    {
        tg::NoGradGuard no_grad;
        lp[0].copy_(tg::randn<double>({6}, gen));  // not all ones, so that the weight matters
    }
    check_equal(ln(x), tg::layer_norm(x, {6}, lp[0], lp[1]));
    CHECK(ln.to_string() == "LayerNorm((6,), eps=1e-05, elementwise_affine=True)");

    nn::RMSNorm<double> rms({6});
    CHECK(names(rms.named_parameters()) == std::vector<std::string>{"weight"});
    check_equal(rms(x), tg::rms_norm(x, {6}, rms.parameters()[0]));
    CHECK(rms.to_string() == "RMSNorm((6,), eps=None, elementwise_affine=True)");

    nn::GroupNorm<double> gn(2, 6);
    CHECK(names(gn.named_parameters()) == std::vector<std::string>{"weight", "bias"});
    check_equal(gn(x), tg::group_norm(x, 2, gn.parameters()[0], gn.parameters()[1]));
    CHECK(gn.to_string() == "GroupNorm(2, 6, eps=1e-05, affine=True)");
    CHECK_THROWS_AS(nn::GroupNorm<double>(4, 6), tg::ValueError);
}

TEST_CASE("BatchNorm1d: running statistics follow the momentum recurrence, eval uses them", "[nn][normalization]") {
    nn::BatchNorm1d<double> bn(3);
    CHECK(names(bn.named_parameters()) == std::vector<std::string>{"weight", "bias"});
    CHECK(names(bn.named_buffers()) == std::vector<std::string>{"running_mean", "running_var", "num_batches_tracked"});
    CHECK(bn.to_string() == "BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
    tg::Generator gen(5);
    std::vector<double> rm(3, 0.0), rv(3, 1.0);
    for (int step = 0; step < 3; ++step) {
        const tg::TensorD x = tg::randn<double>({5, 3}, gen, 2.0 * step, 1.5);
        bn(x);
        for (std::size_t c = 0; c < 3; ++c) {
            double mean = 0, ss = 0;
            for (std::size_t n = 0; n < 5; ++n) mean += x.value()(n, c) / 5;
            for (std::size_t n = 0; n < 5; ++n) ss += (x.value()(n, c) - mean) * (x.value()(n, c) - mean);
            rm[c] = 0.9 * rm[c] + 0.1 * mean;
            rv[c] = 0.9 * rv[c] + 0.1 * ss / 4;  // unbiased
        }
    }
    const auto buffers = bn.buffers();
    for (std::size_t c = 0; c < 3; ++c) {
        CHECK(buffers[0].value()(c) == Approx(rm[c]).epsilon(1e-12));
        CHECK(buffers[1].value()(c) == Approx(rv[c]).epsilon(1e-12));
    }
    CHECK(buffers[2].item() == 3);
    bn.eval();
    const tg::TensorD x = tg::randn<double>({2, 3}, gen);
    const tg::TensorD y = bn(x);
    CHECK(y.value()(1, 2) == Approx((x.value()(1, 2) - rm[2]) / std::sqrt(rv[2] + 1e-5)).epsilon(1e-12));
    CHECK(buffers[2].item() == 3);  // eval counts nothing
}

TEST_CASE("BatchNorm1d: momentum nullopt gives the cumulative average", "[nn][normalization]") {
    nn::BatchNorm1d<double> bn(2, 1e-5, std::nullopt);
    CHECK(bn.to_string() == "BatchNorm1d(2, eps=1e-05, momentum=None, affine=True, track_running_stats=True)");
    const std::vector<tg::TensorD> batches = {tg::TensorD{{1, 0}, {3, 2}}, tg::TensorD{{5, 1}, {9, 1}},
                                              tg::TensorD{{0, 4}, {2, 8}}};
    for (const auto& b : batches) bn(b);
    // The plain average of the batch means (2, 7, 1 and 1, 1, 6) and of the unbiased variances
    // (2, 8, 2 and 2, 0, 8).
    const auto buffers = bn.buffers();
    CHECK(buffers[0].value()(0) == Approx(10.0 / 3));
    CHECK(buffers[0].value()(1) == Approx(8.0 / 3));
    CHECK(buffers[1].value()(0) == Approx(4.0));
    CHECK(buffers[1].value()(1) == Approx(10.0 / 3));
}

TEST_CASE("BatchNorm: without track_running_stats always batch statistics, rank checked", "[nn][normalization]") {
    nn::BatchNorm1d<double> bn(2, 1e-5, 0.1, true, false);
    CHECK(bn.named_buffers().empty());
    bn.eval();
    const tg::TensorD x{{1, 0}, {3, 2}};
    check_equal(bn(x), tg::batch_norm(x, {}, {}, bn.parameters()[0], bn.parameters()[1], true));
    CHECK_THROWS_AS(bn(tg::TensorD{1.0, 2.0}), tg::ShapeError);
    nn::BatchNorm2d<double> bn2(2);
    CHECK_THROWS_AS(bn2(x), tg::ShapeError);
    CHECK(bn2(tg::ones<double>({2, 2, 1, 3})).shape() == tg::Shape{2, 2, 1, 3});
}

TEST_CASE("Normalisation layers: float64 copies and gradients w.r.t. input and parameters", "[nn][normalization]") {
    // The float32 module's float64 twin: its input gradient is checked by finite differences, and
    // its parameters' gradients after backward equal the functional op's (which the op table
    // gradchecks w.r.t. weight and bias).
    nn::LayerNorm<float> ln32({4});
    auto ln = ln32.to_float64();
    tg::Generator gen(9);
    const tg::TensorD x = tg::randn<double>({3, 4}, gen, 0.0, 1.0, true);
    CHECK(tg::gradcheck<double>([&](const std::vector<tg::TensorD>& in) { return (*ln)(in[0]); }, {x}));
    nn::BatchNorm1d<float> bn32(4);
    auto bn = bn32.to_float64();
    CHECK(names(bn->named_buffers()) == std::vector<std::string>{"running_mean", "running_var", "num_batches_tracked"});
    CHECK(tg::gradcheck<double>([&](const std::vector<tg::TensorD>& in) { return (*bn)(in[0]); }, {x}));
    const auto p = bn->parameters();
    tg::sum(tg::square((*bn)(x))).backward();
    const tg::TensorD w = p[0].detach().requires_grad_(), b = p[1].detach().requires_grad_();
    tg::sum(tg::square(tg::batch_norm(x.detach(), {}, {}, w, b, true))).backward();
    for (std::size_t c = 0; c < 4; ++c) {
        CHECK(p[0].grad().value()(c) == Approx(w.grad().value()(c)).epsilon(1e-12));
        CHECK(p[1].grad().value()(c) == Approx(b.grad().value()(c)).epsilon(1e-12));
    }
}
