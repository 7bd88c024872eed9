#include <catch2/catch.hpp>
#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
namespace func = tapegrad::func;

TEST_CASE("function transforms compose: the Hessian three ways", "[readme]") {
    tg::TensorD a = {{2.0, 1.0}, {0.0, 3.0}};
    auto f = [&a](const tg::TensorD& x) { return tg::sum(x * tg::matmul(a, x)); };  // x^T A x
    tg::TensorD x = {1.0, -2.0};

    auto [value, grads] = func::value_and_grad(f, x);  // (A + A^T) x = [2, -11]
    CHECK(grads[0].value()(1) == -11.0);
    tg::TensorD h1 = func::hessian(f)(x);                                // [2, 2]: A + A^T
    tg::TensorD h2 = func::jacrev(func::grad(f))(x);                     // the same, composed
    tg::TensorD hv = func::hvp(f, x, tg::TensorD{1.0, 0.0}).product[0];  // H e_0 = [4, 1]
    CHECK(h1.value()(0, 1) == 1.0);
    CHECK(h2.value()(1, 1) == 6.0);
    CHECK(hv.value()(1) == 1.0);

    auto g = [](const tg::TensorD& t) { return tg::sin(t) * t; };
    tg::TensorD j = func::jacobian(g, x);  // [2, 2], picks jacrev or jacfwd by size
    CHECK(j.value()(0, 1) == 0.0);
    CHECK_FALSE(x.grad().defined());  // the user's tensors are never changed
}
