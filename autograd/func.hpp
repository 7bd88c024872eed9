/// \file
/// Function transforms (torch.func / torch.autograd.functional): vjp, jvp, value_and_grad, hvp,
/// vhp and jacobian, which evaluate, and grad, jacrev, jacfwd and hessian, which return functions
/// and so compose (`func::jacrev(func::grad(f))` is the Hessian). jvp and jacfwd run f in forward
/// mode (tapegrad::fwad) where they can, and otherwise use the double-vjp construction of
/// torch.autograd.functional.jvp (see jvp()); the others are built on reverse mode.
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <type_traits>
#include <utility>
#include <vector>

#include <tapegrad/autograd/errors.hpp>
#include <tapegrad/autograd/tensor.hpp>

/// Function transforms over tapegrad's reverse mode (torch.func).
///
/// How they behave, as torch.func does: a transform evaluates f once on working copies of the
/// primals and differentiates with tapegrad::grad(), never backward(): the user's tensors are
/// never changed (no .grad() written, no requires_grad flipped). When grad mode is on and some
/// primal, or a tensor f reads from outside, requires grad (as when an outer transform is
/// differentiating), the results stay connected to it (the inner gradients are recorded,
/// create_graph), so transforms nest; otherwise the results carry no graph (the fast path).
/// Transforms work under NoGradGuard too (they switch recording on for f), and then return
/// unconnected results.
///
/// f takes `const Tensor<T>&` or `const std::vector<Tensor<T>>&` and returns a Tensor<T> or a
/// std::vector<Tensor<T>> (write the parameter type out: a generic `auto` lambda cannot be told
/// apart). An output that does not depend on the differentiated inputs has zero derivatives.
namespace tapegrad::func {

/// Several tensors: a function's inputs or outputs.
template <class T>
using Tensors = std::vector<Tensor<T>>;

/// The general form every f is brought to: several tensors in, several out.
template <class T>
using Function = std::function<Tensors<T>(const Tensors<T>&)>;

/// Which primals (by position, negative from the end) a transform differentiates; torch.func's
/// argnums. The default {0} is the first, as in torch.func.
using Argnums = std::vector<std::int64_t>;

/// What vjp() returns: f's outputs and, per primal, the vector-Jacobian product.
template <class T>
struct VjpResult {
    Tensors<T> outputs;  ///< f(primals)
    Tensors<T> vjps;     ///< sum_k cotangent_k^T d output_k / d primal_i, one per primal (its shape)
};

/// What jvp() returns: f's outputs and, per output, the Jacobian-vector product.
template <class T>
struct JvpResult {
    Tensors<T> outputs;  ///< f(primals)
    Tensors<T> jvps;     ///< sum_i d output_k / d primal_i tangent_i, one per output (its shape)
};

/// What value_and_grad() returns.
template <class T>
struct ValueAndGrad {
    Tensor<T> value;   ///< f(primals), 0-d
    Tensors<T> grads;  ///< d value / d primal, one per differentiated primal (argnums order)
};

/// What hvp() and vhp() return.
template <class T>
struct ValueAndProduct {
    Tensor<T> value;     ///< f(primals), 0-d
    Tensors<T> product;  ///< H v (hvp) or v^T H (vhp), one per primal (its shape)
};

/// How jacobian() builds a Jacobian with m output and n input elements in all.
enum class Strategy {
    automatic,  ///< reverse when m <= n, else forward: at most min(m, n) + 1 passes
    reverse,    ///< jacrev: one backward pass per output element (m)
    forward,    ///< jacfwd: one forward-mode run of f per input element (n; see jvp() for when it falls back to a
                ///< recorded vjp and one pass per element, n + 1)
};

namespace detail {

/// A Tensor<float> or Tensor<double>: the one-primal overloads deduce it, so that a braced list
/// such as `vjp<double>(f, {x}, {v})` always goes to the overloads taking vectors.
template <class P>
concept OneTensor = std::same_as<P, Tensor<float>> || std::same_as<P, Tensor<double>>;

/// Brings any supported callable to Function<T>; see the namespace's description of f.
template <class T, class F>
Function<T> as_function(F f) {
    using Ts = Tensors<T>;
    if constexpr (std::is_invocable_v<const F&, const Ts&>) {
        using R = std::invoke_result_t<const F&, const Ts&>;
        if constexpr (std::is_convertible_v<R, Ts>) {
            return Function<T>(std::move(f));
        } else {
            static_assert(std::is_convertible_v<R, Tensor<T>>, "f must return a Tensor<T> or a std::vector<Tensor<T>>");
            return [g = std::move(f)](const Ts& xs) -> Ts { return {g(xs)}; };
        }
    } else {
        static_assert(std::is_invocable_v<const F&, const Tensor<T>&>,
                      "f must take const Tensor<T>& or const std::vector<Tensor<T>>& (of the primals' dtype)");
        using R = std::invoke_result_t<const F&, const Tensor<T>&>;
        return [g = std::move(f)](const Ts& xs) -> Ts {
            if (xs.size() != 1) fail<ValueError>("func: f takes one tensor, but {} were given", xs.size());
            if constexpr (std::is_convertible_v<R, Ts>) {
                return g(xs[0]);
            } else {
                return {g(xs[0])};
            }
        };
    }
}

template <class T>
VjpResult<T> vjp(const Function<T>& f, const Tensors<T>& primals, const Tensors<T>& cotangents);
template <class T>
JvpResult<T> jvp(const Function<T>& f, const Tensors<T>& primals, const Tensors<T>& tangents);
template <class T>
ValueAndGrad<T> value_and_grad(const Function<T>& f, const Tensors<T>& primals, const Argnums& argnums);
template <class T>
ValueAndProduct<T> hvp(const Function<T>& f, const Tensors<T>& primals, const Tensors<T>& v);
template <class T>
ValueAndProduct<T> vhp(const Function<T>& f, const Tensors<T>& primals, const Tensors<T>& v);
template <class T>
Tensors<T> jacobian(const char* who, const Function<T>& f, const Tensors<T>& primals, const Argnums& argnums,
                    Strategy strategy);

/// The transforms that return functions.
enum class Kind { grad, jacrev, jacfwd, hessian };

/// Applies a function-style transform of f to xs.
template <class T>
Tensors<T> apply(Kind kind, const Function<T>& f, const Tensors<T>& xs, const Argnums& argnums);

}  // namespace detail

/// The function a function-style transform (grad, jacrev, jacfwd, hessian) returns: callable with
/// one tensor (returning the one result; ValueError when there are several, call with a vector
/// then) or with a vector of tensors (returning every result), of either dtype, and itself a
/// valid f for another transform.
template <class F>
class Transformed {
public:
    /// Wraps f; made by grad(), jacrev(), jacfwd() and hessian().
    Transformed(F f, detail::Kind kind, Argnums argnums)
        : f_(std::move(f)), kind_(kind), argnums_(std::move(argnums)) {}

    /// The transform of f at xs: every result, ordered as the transform describes.
    template <Scalar T>
    Tensors<T> operator()(const Tensors<T>& xs) const {
        return detail::apply<T>(kind_, detail::as_function<T>(f_), xs, argnums_);
    }
    /// The transform of f at x, for f of one tensor with one result.
    template <Scalar T>
    Tensor<T> operator()(const Tensor<T>& x) const {
        Tensors<T> out = (*this)(Tensors<T>{x});
        if (out.size() != 1) {
            fail<ValueError>("func: the transform gives {} tensors here; call it with a std::vector to get them all",
                             out.size());
        }
        return out[0];
    }

private:
    F f_;
    detail::Kind kind_;
    Argnums argnums_;
};

/// f(primals) and the vector-Jacobian products sum_k cotangents_k^T d f_k / d primals_i
/// (torch.func.vjp, evaluated; torch.autograd.functional.vjp). One backward pass.
/// Throws ValueError for an undefined primal or cotangent, or a count of cotangents other than
/// f's number of outputs; ShapeError when a cotangent's shape differs from its output's. Call
/// with braces as `func::vjp<double>(f, {x, y}, {v})`.
template <class T, class F>
VjpResult<T> vjp(F f, const Tensors<T>& primals, const Tensors<T>& cotangents) {
    return detail::vjp<T>(detail::as_function<T>(std::move(f)), primals, cotangents);
}
/// vjp() of a function of one primal with one cotangent.
template <class F, detail::OneTensor P>
VjpResult<typename P::value_type> vjp(F f, const P& primal, const P& cotangent) {
    using T = typename P::value_type;
    return vjp<T>(std::move(f), Tensors<T>{primal}, Tensors<T>{cotangent});
}

/// f(primals) and the Jacobian-vector products sum_i d f_k / d primals_i tangents_i
/// (torch.func.jvp). In forward mode (tapegrad::fwad): f runs once on dual tensors, the tangents
/// ride along. When that is not possible it is built from reverse mode as
/// torch.autograd.functional.jvp does: with g(u) = J^T u recorded for a zero u, J v = d<g(u), v>/du,
/// two backward passes. That is when a DualLevel is already open (forward mode has one level),
/// when the results must stay differentiable (grad mode on and a primal, a tangent or a tensor f
/// reads requires grad), or when f runs a transform on its dual inputs (a transform works on
/// detached copies, which drops tangents; f is then evaluated again). Throws ValueError for an undefined primal or
/// tangent or a count of tangents other than of primals; ShapeError when a tangent's shape differs from its primal's.
template <class T, class F>
JvpResult<T> jvp(F f, const Tensors<T>& primals, const Tensors<T>& tangents) {
    return detail::jvp<T>(detail::as_function<T>(std::move(f)), primals, tangents);
}
/// jvp() of a function of one primal.
template <class F, detail::OneTensor P>
JvpResult<typename P::value_type> jvp(F f, const P& primal, const P& tangent) {
    using T = typename P::value_type;
    return jvp<T>(std::move(f), Tensors<T>{primal}, Tensors<T>{tangent});
}

/// f(primals), which must be one 0-d tensor, and its gradient with respect to the primals named
/// by argnums (torch.func.grad_and_value, which returns them the other way round). ValueError
/// when f returns anything else (use vjp() or jacrev() then), for an undefined primal, and for
/// argnums that are empty, repeated or out of range.
template <class T, class F>
ValueAndGrad<T> value_and_grad(F f, const Tensors<T>& primals, const Argnums& argnums = {0}) {
    return detail::value_and_grad<T>(detail::as_function<T>(std::move(f)), primals, argnums);
}
/// value_and_grad() of a function of one primal.
template <class F, detail::OneTensor P>
ValueAndGrad<typename P::value_type> value_and_grad(F f, const P& primal) {
    using T = typename P::value_type;
    return value_and_grad<T>(std::move(f), Tensors<T>{primal});
}

/// f(primals) (one 0-d tensor) and the Hessian-vector product H v, (H v)_i = sum_j H_ij v_j with
/// H_ij = d^2 f / d primals_i d primals_j (torch.autograd.functional.hvp): the jvp of f's
/// gradient, three backward passes. ValueError / ShapeError as value_and_grad() and jvp() (v
/// holds one tensor per primal, of its shape).
template <class T, class F>
ValueAndProduct<T> hvp(F f, const Tensors<T>& primals, const Tensors<T>& v) {
    return detail::hvp<T>(detail::as_function<T>(std::move(f)), primals, v);
}
/// hvp() of a function of one primal.
template <class F, detail::OneTensor P>
ValueAndProduct<typename P::value_type> hvp(F f, const P& primal, const P& v) {
    using T = typename P::value_type;
    return hvp<T>(std::move(f), Tensors<T>{primal}, Tensors<T>{v});
}

/// f(primals) (one 0-d tensor) and the vector-Hessian product v^T H, (v^T H)_i = sum_j v_j H_ji
/// (torch.autograd.functional.vhp): the vjp of f's gradient, two backward passes. Equal to
/// hvp() when f is twice continuously differentiable (H symmetric). Errors as hvp().
template <class T, class F>
ValueAndProduct<T> vhp(F f, const Tensors<T>& primals, const Tensors<T>& v) {
    return detail::vhp<T>(detail::as_function<T>(std::move(f)), primals, v);
}
/// vhp() of a function of one primal.
template <class F, detail::OneTensor P>
ValueAndProduct<typename P::value_type> vhp(F f, const P& primal, const P& v) {
    using T = typename P::value_type;
    return vhp<T>(std::move(f), Tensors<T>{primal}, Tensors<T>{v});
}

/// Every Jacobian d f_k / d primals_i, of shape f_k.shape + primals_i.shape, ordered output by
/// output (k * primals.size() + i) as torch.autograd.functional.jacobian's nested tuples. With m
/// output and n primal elements in all, `reverse` costs m backward passes and `forward` n + 1;
/// `automatic` (the default) takes reverse when m <= n, so never more than min(m, n) + 1.
/// ValueError for an undefined primal.
template <class T, class F>
Tensors<T> jacobian(F f, const Tensors<T>& primals, Strategy strategy = Strategy::automatic) {
    Argnums all(primals.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::int64_t>(i);
    return detail::jacobian<T>("jacobian", detail::as_function<T>(std::move(f)), primals, all, strategy);
}
/// jacobian() of a function of one primal with one output: its Jacobian, f.shape + primal.shape.
template <class F, detail::OneTensor P>
P jacobian(F f, const P& primal, Strategy strategy = Strategy::automatic) {
    using T = typename P::value_type;
    Tensors<T> out = jacobian<T>(std::move(f), Tensors<T>{primal}, strategy);
    if (out.size() != 1) fail<ValueError>("jacobian: f has {} outputs; pass the primal in a std::vector", out.size());
    return out[0];
}

/// The gradient function of f (torch.func.grad): x -> d f(x) / d x for the primals in argnums,
/// f returning one 0-d tensor (ValueError otherwise, when called).
template <class F>
Transformed<std::decay_t<F>> grad(F&& f, Argnums argnums = {0}) {
    return {std::forward<F>(f), detail::Kind::grad, std::move(argnums)};
}

/// The Jacobian function of f by reverse mode (torch.func.jacrev): x -> d f_k / d x_i for each
/// output k and each primal i of argnums, ordered output by output, each of shape f_k.shape +
/// x_i.shape; one backward pass per output element.
template <class F>
Transformed<std::decay_t<F>> jacrev(F&& f, Argnums argnums = {0}) {
    return {std::forward<F>(f), detail::Kind::jacrev, std::move(argnums)};
}

/// The Jacobian function of f by forward-style passes (torch.func.jacfwd), laid out as jacrev():
/// one jvp per input element, each a forward-mode run of f on a dual input with a one-hot tangent;
/// under the conditions where jvp() falls back, a backward pass through the recorded vjp of f (the
/// double-vjp construction) instead, which needs f's backward rules to be differentiable, as every
/// tapegrad op's is.
template <class F>
Transformed<std::decay_t<F>> jacfwd(F&& f, Argnums argnums = {0}) {
    return {std::forward<F>(f), detail::Kind::jacfwd, std::move(argnums)};
}

/// The Hessian function of f (torch.func.hessian): jacfwd(jacrev(f)); for f returning a 0-d
/// tensor and one primal x it returns one tensor of shape x.shape + x.shape; for several primals
/// in argnums the blocks d^2 f / d x_i d x_j, ordered i-major.
template <class F>
Transformed<std::decay_t<F>> hessian(F&& f, Argnums argnums = {0}) {
    return {std::forward<F>(f), detail::Kind::hessian, std::move(argnums)};
}

}  // namespace tapegrad::func
