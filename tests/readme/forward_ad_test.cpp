#include <catch2/catch.hpp>
#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
namespace fwad = tapegrad::fwad;

TEST_CASE("forward mode carries a tangent along with each value", "[readme]") {
    const tg::TensorD x({0.5, -1.0, 2.0}), v({1.0, 0.0, -1.0});
    {
        fwad::DualLevel level;  // PyTorch's `with fwAD.dual_level():`
        const tg::TensorD y = tg::sum(tg::exp(fwad::make_dual(x, v)));
        const auto [value, tangent] = fwad::unpack_dual(y);
        CHECK(tangent.item() == Approx(std::exp(0.5) - std::exp(2.0)));  // d/dt sum(exp(x + t v)) = sum(exp(x) v)
    }
    // func::jvp is one forward pass; func::jacfwd one per input element.
    const auto [outputs, jvps] = tg::func::jvp([](const tg::TensorD& t) { return tg::tanh(t); }, x, v);
    CHECK(jvps[0].value()(0) == Approx(1 - std::pow(std::tanh(0.5), 2)));
    // Forward over reverse: the tangent of a gradient (taken with create_graph) is H v.
    fwad::DualLevel level;
    const tg::TensorD w = fwad::make_dual(tg::TensorD(xt::xarray<double>(x.value()), true), v);
    const auto g = tg::grad<double>({tg::sum(tg::pow(w, 3.0))}, {w}, {}, std::nullopt, /*create_graph=*/true);
    CHECK(fwad::unpack_dual(g[0]).tangent.value()(2) == Approx(6 * 2.0 * -1.0));  // d(3 x^2) = 6 x v
}
