// Full Jacobians: by rows (one backward pass per output element: jacrev) or by columns (one pass
// per input element through the recorded vjp: jacfwd), assembled by a differentiable op so that
// Jacobians of Jacobians (hessian) work.
#include <tapegrad/autograd/func.hpp>

#include <optional>

#include <tapegrad/autograd/buffer_pool.hpp>
#include <tapegrad/autograd/factories.hpp>
#include <tapegrad/autograd/forward_ad.hpp>
#include <tapegrad/autograd/func_trace.hpp>
#include <tapegrad/autograd/grad_mode.hpp>
#include <tapegrad/autograd/node.hpp>

namespace tapegrad::func::detail {

namespace {

// A Jacobian as `blocks` blocks of `size` elements each: rows of the flat [m, n] matrix (jacrev:
// block a is output element a's gradient) or its columns (jacfwd: block a is input element a's
// jvp). at(a, b) is element b of block a in the row-major matrix.
struct Layout {
    std::size_t blocks;
    std::size_t size;
    bool columns;
    std::size_t at(std::size_t a, std::size_t b) const { return columns ? b * blocks + a : a * size + b; }
};

template <class T>
Tensor<T> embed(const Tensor<T>& part, std::size_t a, Layout layout, const Shape& whole_shape);

// Block a of a Jacobian, shaped `shape`.   d/dwhole = embed(grad, a)
template <class T>
Tensor<T> block(const Tensor<T>& whole, std::size_t a, Layout layout, const Shape& shape) {
    xt::xarray<T> value = tapegrad::detail::take_buffer<T>("jacobian", shape);
    const T* src = whole.value().data();
    for (std::size_t b = 0; b < layout.size; ++b) value.data()[b] = src[layout.at(a, b)];
    return record<T>(
        "jacobian_block", {whole}, std::move(value),
        [a, layout](const Backward<T>& ctx) -> Grads<T> {
            return {embed(ctx.grad(), a, layout, ctx.input(0).shape())};
        },
        [a, layout, shape](const Forward<T>& ctx) { return block(ctx.tangent(0), a, layout, shape); });
}

// A Jacobian-shaped tensor, zero but for block a, which is `part`.   d/dpart = block(grad, a)
template <class T>
Tensor<T> embed(const Tensor<T>& part, std::size_t a, Layout layout, const Shape& whole_shape) {
    xt::xarray<T> value = tapegrad::detail::take_buffer<T>("jacobian", whole_shape);
    value.fill(T(0));
    const T* src = part.value().data();
    for (std::size_t b = 0; b < layout.size; ++b) value.data()[layout.at(a, b)] = src[b];
    return record<T>(
        "jacobian_embed", {part}, std::move(value),
        [a, layout](const Backward<T>& ctx) -> Grads<T> {
            return {block(ctx.grad(), a, layout, ctx.input(0).shape())};
        },
        [a, layout, whole_shape](const Forward<T>& ctx) { return embed(ctx.tangent(0), a, layout, whole_shape); });
}

// The Jacobian of shape `shape` from its blocks.   d/dblocks_a = block(grad, a)
//   tangent: the Jacobian assembled from the blocks' tangents (zero blocks for none)
template <class T>
Tensor<T> assemble(const Tensors<T>& blocks, Layout layout, const Shape& shape) {
    xt::xarray<T> value = tapegrad::detail::take_buffer<T>("jacobian", shape);
    for (std::size_t a = 0; a < layout.blocks; ++a) {
        const T* src = blocks[a].value().data();
        for (std::size_t b = 0; b < layout.size; ++b) value.data()[layout.at(a, b)] = src[b];
    }
    return record<T>(
        "jacobian", blocks, std::move(value),
        [layout](const Backward<T>& ctx) -> Grads<T> {
            Grads<T> grads(layout.blocks);
            for (std::size_t a = 0; a < layout.blocks; ++a) {
                if (ctx.needs(a)) grads[a] = block(ctx.grad(), a, layout, ctx.input(a).shape());
            }
            return grads;
        },
        [layout, shape](const Forward<T>& ctx) {
            Tensors<T> tangents(layout.blocks);
            for (std::size_t a = 0; a < layout.blocks; ++a)
                tangents[a] = ctx.has(a) ? ctx.tangent(a) : zeros<T>(ctx.input(a).shape());
            return assemble(tangents, layout, shape);
        });
}

Shape joined(const Shape& a, const Shape& b) {
    Shape out(a);
    out.insert(out.end(), b.begin(), b.end());
    return out;
}

// jacrev: one backward pass per output element, each giving one row for every input.
template <class T>
Tensors<T> by_rows(const Trace<T>& trace) {
    const Tensors<T>& ys = trace.outputs();
    const Tensors<T>& xs = trace.inputs();
    Tensors<T> out;
    for (const Tensor<T>& y : ys) {
        std::vector<Tensors<T>> rows(xs.size());
        for (std::size_t r = 0; r < y.numel(); ++r) {
            Tensors<T> g = trace.grads({y}, xs, {one_hot_like(y, r)}, trace.connected());
            for (std::size_t i = 0; i < xs.size(); ++i) rows[i].push_back(std::move(g[i]));
        }
        for (std::size_t i = 0; i < xs.size(); ++i) {
            out.push_back(assemble(rows[i], Layout{y.numel(), xs[i].numel(), false}, joined(y.shape(), xs[i].shape())));
        }
    }
    return out;
}

// columns[k][i][c]: column c of d y_k / d x_i.
template <class T>
using Columns = std::vector<std::vector<Tensors<T>>>;

template <class T>
Tensors<T> assemble_columns(const Columns<T>& columns, const Tensors<T>& ys, const Tensors<T>& xs) {
    Tensors<T> out;
    for (std::size_t k = 0; k < ys.size(); ++k) {
        for (std::size_t i = 0; i < xs.size(); ++i) {
            out.push_back(assemble(columns[k][i], Layout{xs[i].numel(), ys[k].numel(), true},
                                   joined(ys[k].shape(), xs[i].shape())));
        }
    }
    return out;
}

// jacfwd by double vjp: g(u) = J^T u recorded once (one pass), then one pass per input element
// c of x_i, d<g_i(u), e_c>/du = J e_c, giving one column for every output.
template <class T>
Tensors<T> by_columns(const Trace<T>& trace) {
    const Tensors<T>& ys = trace.outputs();
    const Tensors<T>& xs = trace.inputs();
    Tensors<T> u;
    for (const auto& y : ys) u.push_back(zeros_like(y, /*requires_grad=*/true));
    const Tensors<T> g = trace.grads(ys, xs, u, /*record=*/true);
    Columns<T> columns(ys.size(), std::vector<Tensors<T>>(xs.size()));
    for (std::size_t i = 0; i < xs.size(); ++i) {
        for (std::size_t c = 0; c < xs[i].numel(); ++c) {
            Tensors<T> jv = trace.grads({g[i]}, u, {one_hot_like(xs[i], c)}, trace.connected());
            for (std::size_t k = 0; k < ys.size(); ++k) columns[k][i].push_back(std::move(jv[k]));
        }
    }
    return assemble_columns(columns, ys, xs);
}

// jacfwd in forward mode: one run of f per input element c of x_i, on a dual x_i with tangent e_c,
// giving column c for every output (f's cost each, where the double vjp runs a backward of the
// backward). Nothing (by_columns does it) under jvp's conditions: a dual level already open, results
// that must stay on the caller's graph, or f starting a transform on a dual tensor.
template <class T>
std::optional<Tensors<T>> by_dual_columns(const Trace<T>& trace, const Function<T>& f, const Tensors<T>& primals,
                                          const std::vector<std::size_t>& which) {
    if (trace.connected() || tapegrad::detail::dual_level_open()) return std::nullopt;
    const bool outer_grad = is_grad_enabled();
    const Tensors<T>& ys = trace.outputs();
    Columns<T> columns(ys.size(), std::vector<Tensors<T>>(which.size()));
    fwad::DualLevel level;
    const std::uint64_t transforms = tapegrad::detail::transforms_on_duals();
    for (std::size_t i = 0; i < which.size(); ++i) {
        const Tensor<T>& x = primals[which[i]];
        for (std::size_t c = 0; c < x.numel(); ++c) {
            Tensors<T> args = primals;
            args[which[i]] = fwad::make_dual(x, one_hot_like(x, c));
            const Tensors<T> out = f(args);
            if (tapegrad::detail::transforms_on_duals() != transforms || out.size() != ys.size()) return std::nullopt;
            for (std::size_t k = 0; k < ys.size(); ++k) {
                Tensor<T> t = tapegrad::detail::open_tangent(out[k]);
                if (!t.defined()) t = zeros_like(ys[k]);
                if (t.shape() != ys[k].shape() || (outer_grad && t.requires_grad())) return std::nullopt;
                columns[k][i].push_back(std::move(t));
            }
        }
    }
    return assemble_columns(columns, ys, trace.inputs());
}

template <class T>
std::size_t total_numel(const Tensors<T>& ts) {
    std::size_t n = 0;
    for (const auto& t : ts) n += t.numel();
    return n;
}

}  // namespace

template <class T>
Tensors<T> jacobian_with(const char* who, const Function<T>& f, const Tensors<T>& primals, const Argnums& argnums,
                         Strategy strategy, bool dual) {
    const std::vector<std::size_t> which = chosen(who, argnums, primals.size());
    const Trace<T> trace(who, f, primals, which);
    if (strategy == Strategy::automatic) {
        // m passes by rows against n + 1 by columns, whose passes also cost more (a run of f in
        // forward mode, or the backward of the backward): rows on a tie.
        const bool rows = total_numel(trace.outputs()) <= total_numel(trace.inputs());
        strategy = rows ? Strategy::reverse : Strategy::forward;
    }
    if (strategy == Strategy::reverse) return by_rows(trace);
    if (dual) {
        if (auto columns = by_dual_columns(trace, f, primals, which)) return std::move(*columns);
    }
    return by_columns(trace);
}

template <class T>
Tensors<T> jacobian(const char* who, const Function<T>& f, const Tensors<T>& primals, const Argnums& argnums,
                    Strategy strategy) {
    return jacobian_with(who, f, primals, argnums, strategy, /*dual=*/true);
}

#define TAPEGRAD_INSTANTIATE(T)                                                                                     \
    template Tensors<T> jacobian_with(const char*, const Function<T>&, const Tensors<T>&, const Argnums&, Strategy, \
                                      bool);                                                                        \
    template Tensors<T> jacobian(const char*, const Function<T>&, const Tensors<T>&, const Argnums&, Strategy);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad::func::detail
