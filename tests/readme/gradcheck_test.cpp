#include <catch2/catch.hpp>
#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;

TEST_CASE("tanh(x W^T) has the gradients finite differences say", "[readme]") {
    tg::Generator gen(42);
    auto x = tg::randn<double>({4, 3}, gen, 0.0, 1.0, /*requires_grad=*/true);
    auto w = tg::randn<double>({2, 3}, gen, 0.0, 1.0, /*requires_grad=*/true);
    auto f = [](const std::vector<tg::Tensor<double>>& in) { return tg::tanh(tg::linear(in[0], in[1])); };

    auto first = tg::gradcheck<double>(f, {x, w});  // eps 1e-6, atol 1e-5, rtol 1e-3
    INFO(first.report());
    CHECK(first.ok);

    tg::GradcheckOptions fast;
    fast.fast_mode = true;  // random directions instead of the full Jacobian
    auto second = tg::gradgradcheck<double>(f, {x, w}, fast);
    INFO(second.report());
    CHECK(second.ok);

    // Forward mode too: tangents through tanh and linear, and forward over reverse.
    CHECK(tg::gradcheck<double>(f, {x, w}, {.check_forward_ad = true}).ok);
    CHECK(tg::gradgradcheck<double>(f, {x, w}, {.fast_mode = true, .check_forward_ad = true}).ok);
}
