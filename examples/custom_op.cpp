// A user-defined op, written as tapegrad's own ops are: check the arguments, compute the forward
// eagerly, and record() a backward rule made of tapegrad ops (so that gradients of gradients
// work too). Then gradcheck and gradgradcheck compare it with finite differences in float64.
#include <cstdio>
#include <iostream>

#include <xtensor/xmath.hpp>

#include <tapegrad/ops/extension.hpp>
#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;

namespace example {

/// hypot(a, b) = sqrt(a^2 + b^2), elementwise with numpy broadcasting (tapegrad has its own,
/// tg::hypot; this one shows how such an op is written, in a namespace of its own and called
/// qualified, since an unqualified call would also find tg::hypot by argument-dependent lookup).
///   d/da = grad * a / hypot      d/db = grad * b / hypot   (undefined where both are 0)
/// The engine sums each gradient back to its input's shape, so the rule need not.
template <class T>
tg::Tensor<T> hypot(const tg::Tensor<T>& a, const tg::Tensor<T>& b) {
    tg::check_broadcast("hypot", a, b);  // ValueError for an undefined input, ShapeError naming both shapes
    xt::xarray<T> value = xt::sqrt(a.value() * a.value() + b.value() * b.value());
    return tg::record<T>("hypot", {a, b}, std::move(value), [](const tg::Backward<T>& ctx) -> tg::Grads<T> {
        const tg::Tensor<T> g = ctx.grad() / ctx.output();
        return {ctx.needs(0) ? g * ctx.input(0) : tg::Tensor<T>{}, ctx.needs(1) ? g * ctx.input(1) : tg::Tensor<T>{}};
    });
}

}  // namespace example

int main() {
    tg::Generator gen(3);
    // Away from the origin, where hypot is not differentiable; b broadcasts along a's rows.
    auto a = tg::rand<double>({4, 3}, gen, 0.5, 2.0, true);
    auto b = tg::rand<double>({3}, gen, -2.0, -0.5, true);

    auto y = tg::sum(example::hypot(a, b));
    y.backward();
    std::cout << "hypot(a, b) summed: " << y.item() << "\nd/db (summed over a's 4 rows): " << b.grad() << "\n";

    const tg::CheckedFunction<double> f = [](const std::vector<tg::Tensor<double>>& in) {
        return example::hypot(in[0], in[1]);
    };
    const auto first = tg::gradcheck<double>(f, {a, b});
    const auto second = tg::gradgradcheck<double>(f, {a, b});
    std::cout << first.report() << "\n" << second.report() << "\n";

    try {
        example::hypot(tg::zeros<double>({2, 3}), tg::zeros<double>({4}));
    } catch (const tg::ShapeError& e) {
        std::cout << "mismatched shapes are refused: " << e.what() << "\n";
    }
    return first && second ? 0 : 1;
}
