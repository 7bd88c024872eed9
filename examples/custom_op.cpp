// A user-defined op, written as tapegrad's own ops are: check the arguments, compute the forward
// eagerly, and record() a backward rule made of tapegrad ops (so that gradients of gradients
// work too) and a forward-mode tangent rule. Then gradcheck and gradgradcheck compare both with
// finite differences in float64.
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
///   tangent: dy = (a da + b db) / hypot
/// The engine sums each gradient back to its input's shape, so the rule need not.
template <class T>
tg::Tensor<T> hypot(const tg::Tensor<T>& a, const tg::Tensor<T>& b) {
    tg::check_broadcast("hypot", a, b);  // ValueError for an undefined input, ShapeError naming both shapes
    xt::xarray<T> value = xt::sqrt(a.value() * a.value() + b.value() * b.value());
    return tg::record<T>(
        "hypot", {a, b}, std::move(value),
        [](const tg::Backward<T>& ctx) -> tg::Grads<T> {
            const tg::Tensor<T> g = ctx.grad() / ctx.output();
            return {ctx.needs(0) ? g * ctx.input(0) : tg::Tensor<T>{},
                    ctx.needs(1) ? g * ctx.input(1) : tg::Tensor<T>{}};
        },
        [](const tg::Forward<T>& ctx) {
            // An input without a tangent (has(i) false) adds nothing; the terms broadcast as a and b do.
            tg::Tensor<T> a_da = ctx.has(0) ? ctx.tangent(0) * ctx.input(0) : tg::Tensor<T>{};
            tg::Tensor<T> b_db = ctx.has(1) ? ctx.tangent(1) * ctx.input(1) : tg::Tensor<T>{};
            const tg::Tensor<T> sum = !a_da.defined() ? b_db : !b_db.defined() ? a_da : a_da + b_db;
            return sum / ctx.output();
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
    // check_forward_ad: the tangent rule too (and, in gradgradcheck, forward over reverse).
    const auto first = tg::gradcheck<double>(f, {a, b}, {.check_forward_ad = true});
    const auto second = tg::gradgradcheck<double>(f, {a, b}, {.check_forward_ad = true});
    std::cout << first.report() << "\n" << second.report() << "\n";

    try {
        example::hypot(tg::zeros<double>({2, 3}), tg::zeros<double>({4}));
    } catch (const tg::ShapeError& e) {
        std::cout << "mismatched shapes are refused: " << e.what() << "\n";
    }
    return first && second ? 0 : 1;
}
