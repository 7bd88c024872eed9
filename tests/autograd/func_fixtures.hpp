// Shared by the function-transform tests: float64 central finite differences of a function of
// several tensors (from forward values only, under NoGradGuard, never from the library's
// backward), an elementwise comparison that says where two arrays differ, and the functions the
// tests differentiate with their closed-form derivatives.
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include <tapegrad/autograd/autograd.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/elementwise.hpp>
#include <tapegrad/ops/matmul.hpp>
#include <tapegrad/ops/reduce.hpp>

namespace funcref {

using TensorD = tapegrad::TensorD;
using Tensors = std::vector<TensorD>;
using Function = std::function<Tensors(const Tensors&)>;

// d f_k / d x_i by central differences (step eps), each of shape f_k.shape + x_i.shape, ordered
// output by output as func::jacobian returns them.
inline std::vector<xt::xarray<double>> numeric_jacobian(const Function& f, const Tensors& xs, double eps = 1e-6) {
    tapegrad::NoGradGuard off;
    const Tensors ys = f(xs);
    std::vector<xt::xarray<double>> out;
    for (const auto& y : ys) {
        for (const auto& x : xs) {
            tapegrad::Shape shape(y.shape());
            shape.insert(shape.end(), x.shape().begin(), x.shape().end());
            out.push_back(xt::xarray<double>::from_shape(shape));
        }
    }
    for (std::size_t i = 0; i < xs.size(); ++i) {
        const std::size_t n = xs[i].numel();
        for (std::size_t c = 0; c < n; ++c) {
            Tensors plus(xs.size()), minus(xs.size());
            for (std::size_t j = 0; j < xs.size(); ++j) {
                plus[j] = TensorD(xt::xarray<double>(xs[j].value()));
                minus[j] = TensorD(xt::xarray<double>(xs[j].value()));
            }
            plus[i].mutable_value().data()[c] += eps;
            minus[i].mutable_value().data()[c] -= eps;
            const Tensors fp = f(plus), fm = f(minus);
            for (std::size_t k = 0; k < ys.size(); ++k) {
                auto& jac = out[k * xs.size() + i];
                for (std::size_t r = 0; r < ys[k].numel(); ++r) {
                    jac.data()[r * n + c] = (fp[k].value().data()[r] - fm[k].value().data()[r]) / (2 * eps);
                }
            }
        }
    }
    return out;
}

// u^T J for a Jacobian J of shape out.shape + in.shape and u of out's shape: in's shape.
inline xt::xarray<double> u_times(const xt::xarray<double>& J, const xt::xarray<double>& u,
                                  const tapegrad::Shape& in_shape) {
    xt::xarray<double> out = xt::zeros<double>(in_shape);
    const std::size_t n = out.size();
    for (std::size_t r = 0; r < u.size(); ++r) {
        for (std::size_t c = 0; c < n; ++c) out.data()[c] += u.data()[r] * J.data()[r * n + c];
    }
    return out;
}

// J v for a Jacobian J of shape out.shape + in.shape and v of in's shape: out's shape.
inline xt::xarray<double> times_v(const xt::xarray<double>& J, const xt::xarray<double>& v,
                                  const tapegrad::Shape& out_shape) {
    xt::xarray<double> out = xt::zeros<double>(out_shape);
    const std::size_t n = v.size();
    for (std::size_t r = 0; r < out.size(); ++r) {
        for (std::size_t c = 0; c < n; ++c) out.data()[r] += J.data()[r * n + c] * v.data()[c];
    }
    return out;
}

// "" when a and b have one shape and |a - b| <= atol + rtol |b| everywhere, else what differs.
inline std::string differs(const xt::xarray<double>& a, const xt::xarray<double>& b, double atol = 1e-6,
                           double rtol = 1e-5) {
    if (a.shape() != b.shape()) {
        return fmt::format("shapes {} and {}", tapegrad::shape_str(a.shape()), tapegrad::shape_str(b.shape()));
    }
    for (std::size_t e = 0; e < a.size(); ++e) {
        const double x = a.data()[e], y = b.data()[e];
        if (!(std::abs(x - y) <= atol + rtol * std::abs(y))) {
            return fmt::format("flat element {}: {} against {}", e, x, y);
        }
    }
    return "";
}

}  // namespace funcref

// CHECK that a tensor's value matches an array (same shape, close elementwise), saying where not;
// optional atol and rtol follow.
#define CHECK_CLOSE(tensor, expected, ...)                                                                \
    do {                                                                                                  \
        const std::string why = funcref::differs((tensor).value(), (expected)__VA_OPT__(, ) __VA_ARGS__); \
        INFO(#tensor << ": " << why);                                                                     \
        CHECK(why.empty());                                                                               \
    } while (false)

namespace funcfix {

namespace tg = tapegrad;
namespace func = tapegrad::func;
using tg::TensorD;
using Tensors = std::vector<TensorD>;
using Array = xt::xarray<double>;

// g(x) = sin(x) x^2 elementwise; g' = cos(x) x^2 + 2 x sin(x); g'' = (2 - x^2) sin(x) + 4 x cos(x).
inline TensorD g(const TensorD& x) {
    return tg::sin(x) * tg::square(x);
}
inline Array g1(const Array& x) {
    return xt::cos(x) * x * x + 2.0 * x * xt::sin(x);
}
inline Array g2(const Array& x) {
    return (2.0 - x * x) * xt::sin(x) + 4.0 * x * xt::cos(x);
}

// f(x) = sum(sin(x) x^2): gradient g1, Hessian diag(g2).
inline TensorD f(const TensorD& x) {
    return tg::sum(g(x));
}

// A non-symmetric matrix; x^T A x has gradient (A + A^T) x and Hessian A + A^T.
inline const Array& A() {
    static const Array a = {{1.0, 2.0, -1.0}, {0.5, -3.0, 4.0}, {2.5, 1.5, 0.25}};
    return a;
}
inline TensorD quadratic(const TensorD& x) {
    return tg::sum(x * tg::matmul(TensorD(Array(A())), x));
}

// Two inputs x [3], w [3], two outputs: {x * w, sum(sin(x)) * w}.
inline Tensors two_by_two(const Tensors& in) {
    return {in[0] * in[1], tg::sum(tg::sin(in[0])) * in[1]};
}

// A fresh primal (a new tensor each call: no test shares state through it).
inline TensorD x0() {
    return TensorD({0.3, -1.2, 2.1});
}

// The state a transform must leave untouched: value, version, requires_grad, and no .grad().
struct Snapshot {
    explicit Snapshot(const TensorD& t) : value(t.value()), version(t.version()), requires_grad(t.requires_grad()) {}
    bool same_as(const TensorD& t) const {
        return t.value() == value && t.version() == version && t.requires_grad() == requires_grad &&
               !t.grad().defined();
    }
    Array value;
    std::uint64_t version;
    bool requires_grad;
};

}  // namespace funcfix
