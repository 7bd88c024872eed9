#include <tapegrad/autograd/func.hpp>

#include <algorithm>
#include <optional>
#include <unordered_set>

#include <xtensor/xnoalias.hpp>

#include <tapegrad/autograd/engine.hpp>
#include <tapegrad/autograd/factories.hpp>
#include <tapegrad/autograd/forward_ad.hpp>
#include <tapegrad/autograd/func_trace.hpp>
#include <tapegrad/autograd/grad_mode.hpp>
#include <tapegrad/autograd/node.hpp>

namespace tapegrad::func::detail {

using tapegrad::detail::Node;
using tapegrad::detail::TensorAccess;

namespace {

// A primal's working copy when the caller differentiates through it: the identity, whose rule
// passes the gradient on, except while its own trace takes gradients (`cut`).
template <class T>
Tensor<T> identity(const Tensor<T>& x, std::shared_ptr<bool> cut) {
    xt::xarray<T> value = tapegrad::detail::take_buffer_like("func", x.value());
    xt::noalias(value) = x.value();
    return record<T>(
        "func_input", {x}, std::move(value),
        [stop = std::move(cut)](const Backward<T>& ctx) -> Grads<T> {
            if (*stop) return {Tensor<T>()};
            return {ctx.grad()};
        },
        [](const Forward<T>& ctx) { return ctx.tangent(0); });
}

// Whether the outputs' graph reaches a tensor that requires grad and is none of `own` (the
// detached working copies): a tensor f read from outside. Iterative, each node once.
template <class T>
bool reaches_outside(const Tensors<T>& outputs, const std::unordered_set<const void*>& own) {
    std::vector<const Node<T>*> stack;
    std::unordered_set<const void*> seen;
    auto outside = [&](const Tensor<T>& t) {
        if (!t.defined() || !t.requires_grad() || own.count(t.id())) return false;
        const auto& node = TensorAccess::impl(t)->grad_fn;
        if (!node) return true;  // a leaf that requires grad
        if (seen.insert(node.get()).second) stack.push_back(node.get());
        return false;
    };
    for (const auto& y : outputs) {
        if (outside(y)) return true;
    }
    while (!stack.empty()) {
        const Node<T>* node = stack.back();
        stack.pop_back();
        for (const auto& input : node->inputs()) {
            if (outside(input)) return true;
        }
    }
    return false;
}

// Sets a trace's cut flag for the length of its gradient pass.
class Cut {
public:
    explicit Cut(bool& flag) : flag_(flag) { flag_ = true; }
    ~Cut() { flag_ = false; }
    Cut(const Cut&) = delete;
    Cut& operator=(const Cut&) = delete;

private:
    bool& flag_;
};

template <class T>
bool any_requires_grad(const Tensors<T>& ts) {
    for (const auto& t : ts) {
        if (t.requires_grad()) return true;
    }
    return false;
}

// Cotangents (or tangents) must be one defined tensor per output (primal), of its shape.
template <class T>
void check_seeds(const char* who, const char* what, const Tensors<T>& seeds, const char* of, const Tensors<T>& like) {
    if (seeds.size() != like.size()) {
        fail<ValueError>("{}: {} {}(s) given for {} {}(s)", who, seeds.size(), what, like.size(), of);
    }
    for (std::size_t i = 0; i < seeds.size(); ++i) {
        if (!seeds[i].defined()) fail<ValueError>("{}: {} {} is undefined", who, what, i);
        if (seeds[i].shape() != like[i].shape()) {
            fail<ShapeError>("{}: {} {} has shape {}, but {} {} has shape {}", who, what, i,
                             shape_str(seeds[i].shape()), of, i, shape_str(like[i].shape()));
        }
    }
}

template <class T>
void check_defined(const char* who, const Tensors<T>& primals) {
    for (std::size_t i = 0; i < primals.size(); ++i) {
        if (!primals[i].defined()) fail<ValueError>("{}: primal {} is undefined", who, i);
    }
}

template <class T>
void check_scalar(const char* who, const Tensors<T>& outputs) {
    if (outputs.size() != 1 || outputs[0].ndim() != 0) {
        fail<ValueError>("{}: f must return one 0-d tensor, but it returned {} tensor(s){}{}; use vjp() or jacrev()",
                         who, outputs.size(), outputs.empty() ? "" : ", the first of shape ",
                         outputs.empty() ? "" : shape_str(outputs[0].shape()));
    }
}

// jvp and value_and_grad, also saying whether their results are connected (for hvp's value).
template <class T>
std::pair<JvpResult<T>, bool> jvp_traced(const char* who, const char* what, const Function<T>& f,
                                         const Tensors<T>& primals, const Tensors<T>& tangents) {
    check_defined(who, primals);
    check_seeds(who, what, tangents, "primal", primals);
    Trace<T> trace(who, f, primals, every(primals.size()));
    // g(u) = J^T u, recorded, at a zero u that requires grad: J v = d<g(u), v>/du.
    Tensors<T> u;
    for (const auto& y : trace.outputs()) u.push_back(zeros_like(y, /*requires_grad=*/true));
    const Tensors<T> g = trace.grads(trace.outputs(), trace.inputs(), u, /*record=*/true);
    JvpResult<T> out{{}, trace.grads(g, u, tangents, trace.records(tangents))};
    for (const auto& y : trace.outputs()) out.outputs.push_back(trace.result(y));
    return {std::move(out), trace.connected()};
}

// jvp in forward mode: f runs once, on dual tensors. Nothing (the double-vjp construction does
// it) when a dual level is already open (one at a time), when the results must stay on the
// caller's graph (grad mode on and a primal, a tangent or a tensor f reads requires grad: the
// generic tangent rule's results carry no graph), or when f started a transform on a dual tensor
// (which drops its tangents).
template <class T>
std::optional<JvpResult<T>> jvp_dual(const Function<T>& f, const Tensors<T>& primals, const Tensors<T>& tangents) {
    const bool outer_grad = is_grad_enabled();
    if (tapegrad::detail::dual_level_open()) return std::nullopt;
    if (outer_grad && (any_requires_grad(primals) || any_requires_grad(tangents))) return std::nullopt;
    fwad::DualLevel level;
    const std::uint64_t transforms = tapegrad::detail::transforms_on_duals();
    Tensors<T> args;
    for (std::size_t i = 0; i < primals.size(); ++i) args.push_back(fwad::make_dual(primals[i], tangents[i]));
    const Tensors<T> ys = f(args);
    if (tapegrad::detail::transforms_on_duals() != transforms) return std::nullopt;
    // The caller's own tensors come back as copies, as from the traced path.
    auto owned = [&](const Tensor<T>& t) {
        for (const auto& mine : primals)
            if (t.same(mine)) return t.detach();
        for (const auto& mine : tangents)
            if (t.same(mine)) return t.detach();
        return t;
    };
    JvpResult<T> out;
    for (std::size_t k = 0; k < ys.size(); ++k) {
        if (!ys[k].defined()) fail<ValueError>("jvp: f returned an undefined tensor as output {}", k);
        Tensor<T> t = tapegrad::detail::open_tangent(ys[k]);
        if (outer_grad && (ys[k].requires_grad() || (t.defined() && t.requires_grad()))) return std::nullopt;
        out.outputs.push_back(owned(ys[k]));
        out.jvps.push_back(t.defined() ? owned(t) : zeros_like(ys[k]));
    }
    return out;
}

template <class T>
std::pair<ValueAndGrad<T>, bool> value_and_grad_traced(const char* who, const Function<T>& f, const Tensors<T>& primals,
                                                       const std::vector<std::size_t>& which) {
    Trace<T> trace(who, f, primals, which);
    check_scalar(who, trace.outputs());
    const Tensor<T>& y = trace.outputs()[0];
    Tensors<T> grads = trace.grads(trace.outputs(), trace.inputs(), {ones_like(y)}, trace.connected());
    return {{trace.result(y), std::move(grads)}, trace.connected()};
}

}  // namespace

template <class T>
Trace<T>::Trace(const char* who, const Function<T>& f, const Tensors<T>& primals,
                const std::vector<std::size_t>& differentiate)
    : outer_grad_(is_grad_enabled()) {
    check_defined(who, primals);
    if (tapegrad::detail::dual_level_open()) {
        for (const auto& x : primals) {
            if (tapegrad::detail::open_tangent(x).defined()) {
                ++tapegrad::detail::transforms_on_duals();  // the working copies drop it: see jvp_dual
                break;
            }
        }
    }
    Tensors<T> args = primals;
    std::unordered_set<const void*> own;
    bool caller_grad = false;
    for (const auto& x : primals) caller_grad = caller_grad || x.requires_grad();
    for (const std::size_t i : differentiate) {
        const Tensor<T>& x = primals[i];
        if (outer_grad_ && x.requires_grad()) {
            args[i] = identity(x, cut_);
        } else {
            args[i] = x.detach().requires_grad_(true);
            own.insert(args[i].id());
        }
        inputs_.push_back(args[i]);
    }
    {
        GradModeGuard on(true);
        outputs_ = f(args);
    }
    for (std::size_t k = 0; k < outputs_.size(); ++k) {
        if (!outputs_[k].defined()) fail<ValueError>("{}: f returned an undefined tensor as output {}", who, k);
    }
    connected_ = outer_grad_ && (caller_grad || reaches_outside(outputs_, own));
}

template <class T>
bool Trace<T>::records(const Tensors<T>& seeds) const {
    return connected_ || (outer_grad_ && any_requires_grad(seeds));
}

template <class T>
Tensors<T> Trace<T>::grads(const Tensors<T>& roots, const Tensors<T>& wrt, const Tensors<T>& seeds, bool record) const {
    Tensors<T> live, live_seeds;
    for (std::size_t k = 0; k < roots.size(); ++k) {
        if (!roots[k].requires_grad()) continue;  // a constant output: its derivatives are zero
        live.push_back(roots[k]);
        live_seeds.push_back(seeds[k]);
    }
    Tensors<T> out(wrt.size());
    if (!live.empty()) {
        Cut cut(*cut_);
        // retain_graph: the pass may be one of several through this graph (jacobian), and it
        // must never free a node of the caller's graph; the trace's own graph dies with it.
        auto g = tapegrad::grad<T>(live, wrt, live_seeds, /*retain_graph=*/true, record, /*allow_unused=*/true);
        for (std::size_t i = 0; i < wrt.size(); ++i) out[i] = std::move(g[i]);
    }
    for (std::size_t i = 0; i < wrt.size(); ++i) {
        if (!out[i].defined()) out[i] = zeros_like(wrt[i]);
    }
    return out;
}

template <class T>
Tensor<T> one_hot_like(const Tensor<T>& like, std::size_t at) {
    xt::xarray<T> value = tapegrad::detail::take_buffer<T>("func", like.shape());
    value.fill(T(0));
    value.data()[at] = T(1);
    return Tensor<T>(std::move(value));
}

std::vector<std::size_t> chosen(const char* who, const Argnums& argnums, std::size_t n_primals) {
    if (argnums.empty()) fail<ValueError>("{}: argnums is empty; name at least one primal", who);
    std::vector<std::size_t> out;
    const auto n = static_cast<std::int64_t>(n_primals);
    for (const std::int64_t a : argnums) {
        if (a < -n || a >= n) fail<ValueError>("{}: argnum {} is out of range for {} primal(s)", who, a, n);
        const auto i = static_cast<std::size_t>(a < 0 ? a + n : a);
        if (std::find(out.begin(), out.end(), i) != out.end()) {
            fail<ValueError>("{}: argnums names primal {} twice", who, i);
        }
        out.push_back(i);
    }
    return out;
}

std::vector<std::size_t> every(std::size_t n) {
    std::vector<std::size_t> out(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = i;
    return out;
}

template <class T>
VjpResult<T> vjp(const Function<T>& f, const Tensors<T>& primals, const Tensors<T>& cotangents) {
    Trace<T> trace("vjp", f, primals, every(primals.size()));
    check_seeds("vjp", "cotangent", cotangents, "output", trace.outputs());
    VjpResult<T> out{{}, trace.grads(trace.outputs(), trace.inputs(), cotangents, trace.records(cotangents))};
    for (const auto& y : trace.outputs()) out.outputs.push_back(trace.result(y));
    return out;
}

template <class T>
JvpResult<T> jvp(const Function<T>& f, const Tensors<T>& primals, const Tensors<T>& tangents) {
    check_defined("jvp", primals);
    check_seeds("jvp", "tangent", tangents, "primal", primals);
    if (auto dual = jvp_dual(f, primals, tangents)) return std::move(*dual);
    return jvp_traced("jvp", "tangent", f, primals, tangents).first;
}

template <class T>
ValueAndGrad<T> value_and_grad(const Function<T>& f, const Tensors<T>& primals, const Argnums& argnums) {
    return value_and_grad_traced("value_and_grad", f, primals, chosen("value_and_grad", argnums, primals.size())).first;
}

// hvp is the jvp of f's gradient and vhp its vjp; f's value comes out of the inner trace, and is
// detached unless the outer one is connected.
template <class T>
ValueAndProduct<T> hvp(const Function<T>& f, const Tensors<T>& primals, const Tensors<T>& v) {
    Tensor<T> value;
    const Function<T> gradient = [&](const Tensors<T>& xs) {
        ValueAndGrad<T> vg = value_and_grad_traced("hvp", f, xs, every(xs.size())).first;
        value = vg.value;
        return vg.grads;
    };
    auto [result, connected] = jvp_traced("hvp", "v", gradient, primals, v);
    return {connected ? value : value.detach(), std::move(result.jvps)};
}

template <class T>
ValueAndProduct<T> vhp(const Function<T>& f, const Tensors<T>& primals, const Tensors<T>& v) {
    Tensor<T> value;
    const Function<T> gradient = [&](const Tensors<T>& xs) {
        ValueAndGrad<T> vg = value_and_grad_traced("vhp", f, xs, every(xs.size())).first;
        value = vg.value;
        return vg.grads;
    };
    check_defined("vhp", primals);
    check_seeds("vhp", "v", v, "primal", primals);
    Trace<T> trace("vhp", gradient, primals, every(primals.size()));
    Tensors<T> product = trace.grads(trace.outputs(), trace.inputs(), v, trace.records(v));
    return {trace.connected() ? value : value.detach(), std::move(product)};
}

template <class T>
Tensors<T> apply(Kind kind, const Function<T>& f, const Tensors<T>& xs, const Argnums& argnums) {
    switch (kind) {
        case Kind::grad:
            return value_and_grad_traced("grad", f, xs, chosen("grad", argnums, xs.size())).first.grads;
        case Kind::jacrev:
            return jacobian("jacrev", f, xs, argnums, Strategy::reverse);
        case Kind::jacfwd:
            return jacobian("jacfwd", f, xs, argnums, Strategy::forward);
        case Kind::hessian: {
            const Function<T> jac = [&](const Tensors<T>& ys) {
                return jacobian("hessian", f, ys, argnums, Strategy::reverse);
            };
            // Forward mode over the inner transform would drop its tangents: the double vjp at once.
            return jacobian_with("hessian", jac, xs, argnums, Strategy::forward, /*dual=*/false);
        }
    }
    fail<ValueError>("func: unknown transform");
}

#define TAPEGRAD_INSTANTIATE(T)                                                                     \
    template class Trace<T>;                                                                        \
    template Tensor<T> one_hot_like(const Tensor<T>&, std::size_t);                                 \
    template VjpResult<T> vjp(const Function<T>&, const Tensors<T>&, const Tensors<T>&);            \
    template JvpResult<T> jvp(const Function<T>&, const Tensors<T>&, const Tensors<T>&);            \
    template ValueAndGrad<T> value_and_grad(const Function<T>&, const Tensors<T>&, const Argnums&); \
    template ValueAndProduct<T> hvp(const Function<T>&, const Tensors<T>&, const Tensors<T>&);      \
    template ValueAndProduct<T> vhp(const Function<T>&, const Tensors<T>&, const Tensors<T>&);      \
    template Tensors<T> apply(Kind, const Function<T>&, const Tensors<T>&, const Argnums&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad::func::detail
