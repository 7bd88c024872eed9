#include <tapegrad/ops/select.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <memory>
#include <new>
#include <type_traits>
#include <vector>

#include <tapegrad/autograd/buffer_pool.hpp>
#include <tapegrad/autograd/node.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/check.hpp>
#include <tapegrad/ops/tangent.hpp>

namespace tapegrad {

namespace {

// ---- Broadcasting walks, shared by every op here (any element types, bool results included). ----

/// One argument of an op, for the broadcast check's message.
struct Arg {
    const char* name;
    const Shape& shape;
};

/// The numpy broadcast of every argument's shape, or a ShapeError naming the op and every argument
/// with its shape, e.g. "where: condition has shape [3], a has shape [2, 4], b has shape []; they
/// do not broadcast (dimension 1 is 3 vs 4)".
Shape broadcast_args(const char* op, std::initializer_list<Arg> args) {
    std::size_t n = 0;
    for (const Arg& a : args) n = std::max(n, a.shape.size());
    Shape out(n, 1);
    for (std::size_t i = 0; i < n; ++i) {
        for (const Arg& a : args) {
            const std::size_t lead = n - a.shape.size();
            const std::size_t d = i < lead ? 1 : a.shape[i - lead];
            if (d == 1 || d == out[i]) continue;
            if (out[i] != 1) {
                std::string shapes;
                for (const Arg& b : args)
                    shapes += fmt::format("{}{} has shape {}", shapes.empty() ? "" : ", ", b.name, shape_str(b.shape));
                fail<ShapeError>("{}: {}; they do not broadcast (dimension {} is {} vs {})", op, shapes, i, out[i], d);
            }
            out[i] = d;
        }
    }
    return out;
}

/// An uninitialised bool or int64 array for op `op`; a shape too large to index is a ValueError and
/// a failed allocation a ResourceError naming the op, the shape and the bytes (take_buffer's
/// errors, for the arrays the pool does not hold).
template <class E>
xt::xarray<E> plain_buffer(const char* op, const Shape& shape) {
    const std::size_t n = numel(op, shape);
    try {
        return xt::xarray<E>::from_shape(shape);
    } catch (const std::bad_alloc&) {
        fail<ResourceError>("{}: out of memory allocating a {} array of shape {} ({} bytes)", op,
                            std::is_same_v<E, bool> ? "bool" : "int64", shape_str(shape), n * sizeof(E));
    }
}

using Offsets = xt::svector<std::ptrdiff_t, 6>;

/// The steps of an operand of shape `in` read at every index of `out`, per dim of out: row-major
/// strides, 0 along the dims it is broadcast over.
Offsets broadcast_strides(const Shape& in, const Shape& out) {
    Offsets s(out.size(), 0);
    std::ptrdiff_t stride = 1;
    for (std::size_t k = in.size(); k-- > 0;) {
        if (in[k] != 1) s[k + out.size() - in.size()] = stride;
        stride *= static_cast<std::ptrdiff_t>(in[k]);
    }
    return s;
}

/// Walks `out` (row-major) in runs along its last dim, calling run(at, n, from, step): the run's
/// first flat output index and length, and per operand its first element and its step. When every
/// operand has out's shape or is 0-d, the whole array is one run (the common case, which the
/// kernels below turn into plain loops the compiler vectorises).
template <std::size_t N, class Run>
void for_each_run(const Shape& out, const std::array<const Shape*, N>& in, Run run) {
    std::array<std::ptrdiff_t, N> from{}, step{};
    std::size_t count = 1;  // out's size was checked when its array was allocated
    for (const std::size_t d : out) count *= d;
    if (count == 0) return;
    bool flat = true;
    for (std::size_t k = 0; k < N; ++k) {
        flat = flat && (*in[k] == out || in[k]->empty());
        step[k] = in[k]->empty() ? 0 : 1;
    }
    if (flat) return run(std::size_t{0}, count, from, step);
    std::array<Offsets, N> strides;
    for (std::size_t k = 0; k < N; ++k) strides[k] = broadcast_strides(*in[k], out);
    const std::size_t last = out.size() - 1, len = out[last];
    for (std::size_t k = 0; k < N; ++k) step[k] = strides[k][last];
    Shape idx(out.size(), 0);
    for (std::size_t at = 0; at < count; at += len) {
        run(at, len, from, step);
        for (std::size_t d = last; d-- > 0;) {  // the odometer over the outer dims
            for (std::size_t k = 0; k < N; ++k) from[k] += strides[k][d];
            if (++idx[d] < out[d]) break;
            for (std::size_t k = 0; k < N; ++k) from[k] -= strides[k][d] * static_cast<std::ptrdiff_t>(out[d]);
            idx[d] = 0;
        }
    }
}

/// The type the kernels read an element as: a bool as its byte (GCC 12 does not vectorise loops
/// that load bool, and a byte read of any object is allowed), anything else as itself.
template <class E>
using Loaded = std::conditional_t<std::is_same_v<E, bool>, unsigned char, E>;

template <class E>
const Loaded<E>* loaded(const E* p) {
    return reinterpret_cast<const Loaded<E>*>(p);
}

/// o = f(a, b) elementwise over the broadcast shape `out` (o holds it), a and b read with their
/// shapes. The runs where an operand is contiguous or constant get their own loops.
template <class O, class A, class B, class F>
void zip_into(O* o, const Shape& out, const A* a, const Shape& sa, const B* b, const Shape& sb, F f) {
    for_each_run<2>(out, {&sa, &sb}, [&](std::size_t at, std::size_t n, const auto& from, const auto& step) {
        O* dst = o + at;
        const auto* p = loaded(a) + from[0];
        const auto* q = loaded(b) + from[1];
        if (step[0] == 1 && step[1] == 1) {
            for (std::size_t i = 0; i < n; ++i) dst[i] = f(p[i], q[i]);
        } else if (step[0] == 1 && step[1] == 0) {
            const auto y = *q;
            for (std::size_t i = 0; i < n; ++i) dst[i] = f(p[i], y);
        } else if (step[0] == 0 && step[1] == 1) {
            const auto x = *p;
            for (std::size_t i = 0; i < n; ++i) dst[i] = f(x, q[i]);
        } else {
            for (std::size_t i = 0; i < n; ++i) dst[i] = f(p[i * step[0]], q[i * step[1]]);
        }
    });
}

/// o = f(a, b, c) elementwise over the broadcast shape `out`, as zip_into. Every operand is loaded
/// before f chooses (f takes values), so a select such as `m ? x : y` vectorises.
template <class O, class A, class B, class C, class F>
void zip3_into(O* o, const Shape& out, const A* a, const Shape& sa, const B* b, const Shape& sb, const C* c,
               const Shape& sc, F f) {
    for_each_run<3>(out, {&sa, &sb, &sc}, [&](std::size_t at, std::size_t n, const auto& from, const auto& step) {
        O* dst = o + at;
        const auto* p = loaded(a) + from[0];
        const auto* q = loaded(b) + from[1];
        const auto* r = loaded(c) + from[2];
        if (step[0] == 1 && step[1] == 1 && step[2] == 1) {
            for (std::size_t i = 0; i < n; ++i) dst[i] = f(p[i], q[i], r[i]);
        } else if (step[0] == 1 && step[1] == 1 && step[2] == 0) {
            const auto z = *r;
            for (std::size_t i = 0; i < n; ++i) dst[i] = f(p[i], q[i], z);
        } else if (step[0] == 1 && step[1] == 0 && step[2] == 1) {
            const auto y = *q;
            for (std::size_t i = 0; i < n; ++i) dst[i] = f(p[i], y, r[i]);
        } else {
            for (std::size_t i = 0; i < n; ++i) dst[i] = f(p[i * step[0]], q[i * step[1]], r[i * step[2]]);
        }
    });
}

const Shape kScalar{};  // the shape of a scalar operand: 0-d

// ---- Comparisons and masks. ----

/// pred(a, b) elementwise with broadcasting, a Mask.
template <class E, class P>
Mask compare(const char* op, const E* a, const Shape& sa, const E* b, const Shape& sb, P pred) {
    const Shape shape = sa == sb ? sa : broadcast_args(op, {{"a", sa}, {"b", sb}});
    xt::xarray<bool> out = plain_buffer<bool>(op, shape);
    zip_into(out.data(), shape, a, sa, b, sb, pred);
    return Mask(std::move(out));
}

template <class T, class P>
Mask compare(const char* op, const Tensor<T>& a, const Tensor<T>& b, P pred) {
    check_defined(op, "a", a);
    check_defined(op, "b", b);
    return compare(op, a.value().data(), a.shape(), b.value().data(), b.shape(), pred);
}

template <class T, class P>
Mask compare(const char* op, const Tensor<T>& a, T s, P pred) {
    check_defined(op, "a", a);
    return compare(op, a.value().data(), a.shape(), &s, kScalar, pred);
}

/// pred(x) elementwise, a Mask of x's shape.
template <class E, class P>
Mask test(const char* op, const E* x, const Shape& shape, P pred) {
    xt::xarray<bool> out = plain_buffer<bool>(op, shape);
    bool* o = out.data();
    const auto* in = loaded(x);
    for (std::size_t i = 0, n = out.size(); i < n; ++i) o[i] = pred(in[i]);
    return Mask(std::move(out));
}

/// Folds the mask along `dims` (normalized, distinct; a 0-d mask has none) into an array of E
/// starting at `init`: keepdim leaves them with size 1.
template <class E, class F>
PlainTensor<E> fold_dims(const char* op, const Mask& mask, const Dims& dims, bool keepdim, E init, F fold) {
    Shape kept = mask.shape(), dropped;
    std::vector<bool> reduced(kept.size(), false);
    for (const std::int64_t dim : dims) {
        const std::size_t d = normalize_dim(op, "mask", dim, mask.shape());
        if (reduced[d]) fail<ValueError>("{}: dims [{}] name dim {} twice", op, fmt::join(dims, ", "), d);
        reduced[d] = true;
        kept[d] = 1;
    }
    for (std::size_t d = 0; d < kept.size(); ++d) {
        if (!reduced[d]) dropped.push_back(kept[d]);
    }
    xt::xarray<E> out = plain_buffer<E>(op, kept);
    out.fill(init);
    // Walk the mask with the output as a second operand broadcast over the reduced dims.
    E* o = out.data();
    const auto* m = loaded(mask.value().data());
    for_each_run<2>(mask.shape(), {&mask.shape(), &kept},
                    [&](std::size_t at, std::size_t n, const auto& from, const auto& step) {
                        for (std::size_t i = 0; i < n; ++i) {
                            E& slot = o[from[1] + static_cast<std::ptrdiff_t>(i) * step[1]];
                            slot = fold(slot, m[at + i]);
                        }
                    });
    if (!keepdim) out.reshape(dropped);
    return PlainTensor<E>(std::move(out));
}

}  // namespace

#define TAPEGRAD_COMPARISON(name, expr)                                                                 \
    template <class T>                                                                                  \
    Mask name(const Tensor<T>& a, const Tensor<T>& b) {                                                 \
        return compare(#name, a, b, [](T x, T y) { return expr; });                                     \
    }                                                                                                   \
    template <class T>                                                                                  \
    Mask name(const Tensor<T>& a, std::type_identity_t<T> s) {                                          \
        return compare(#name, a, s, [](T x, T y) { return expr; });                                     \
    }                                                                                                   \
    template <PlainElement E>                                                                           \
    Mask name(const PlainTensor<E>& a, const PlainTensor<E>& b) {                                       \
        return compare(#name, a.value().data(), a.shape(), b.value().data(), b.shape(),                 \
                       [](E x, E y) { return expr; });                                                  \
    }                                                                                                   \
    template <PlainElement E>                                                                           \
    Mask name(const PlainTensor<E>& a, std::type_identity_t<E> s) {                                     \
        return compare(#name, a.value().data(), a.shape(), &s, kScalar, [](E x, E y) { return expr; }); \
    }
// The IEEE comparisons: false with NaN, but != true.
TAPEGRAD_COMPARISON(eq, x == y)
TAPEGRAD_COMPARISON(ne, x != y)
TAPEGRAD_COMPARISON(lt, x < y)
TAPEGRAD_COMPARISON(le, x <= y)
TAPEGRAD_COMPARISON(gt, x > y)
TAPEGRAD_COMPARISON(ge, x >= y)
#undef TAPEGRAD_COMPARISON

template <class T>
Mask isfinite(const Tensor<T>& x) {
    check_defined("isfinite", "x", x);
    return test("isfinite", x.value().data(), x.shape(), [](T v) { return std::isfinite(v); });
}

template <class T>
Mask isnan(const Tensor<T>& x) {
    check_defined("isnan", "x", x);
    return test("isnan", x.value().data(), x.shape(), [](T v) { return std::isnan(v); });
}

template <class T>
Mask isinf(const Tensor<T>& x) {
    check_defined("isinf", "x", x);
    return test("isinf", x.value().data(), x.shape(), [](T v) { return std::isinf(v); });
}

Mask logical_and(const Mask& a, const Mask& b) {
    return compare("logical_and", a.value().data(), a.shape(), b.value().data(), b.shape(),
                   [](bool x, bool y) { return x && y; });
}

Mask logical_or(const Mask& a, const Mask& b) {
    return compare("logical_or", a.value().data(), a.shape(), b.value().data(), b.shape(),
                   [](bool x, bool y) { return x || y; });
}

Mask logical_xor(const Mask& a, const Mask& b) {
    return compare("logical_xor", a.value().data(), a.shape(), b.value().data(), b.shape(),
                   [](bool x, bool y) { return x != y; });
}

Mask logical_not(const Mask& a) {
    return test("logical_not", a.value().data(), a.shape(), [](bool v) { return !v; });
}

bool all(const Mask& mask) {
    return std::all_of(mask.begin(), mask.end(), [](bool v) { return v; });
}

Mask all(const Mask& mask, std::int64_t dim, bool keepdim) {
    return fold_dims("all", mask, {dim}, keepdim, true, [](bool s, bool v) { return s && v; });
}

bool any(const Mask& mask) {
    return std::any_of(mask.begin(), mask.end(), [](bool v) { return v; });
}

Mask any(const Mask& mask, std::int64_t dim, bool keepdim) {
    return fold_dims("any", mask, {dim}, keepdim, false, [](bool s, bool v) { return s || v; });
}

std::int64_t count_nonzero(const Mask& mask) {
    return std::count(mask.begin(), mask.end(), true);
}

Indices count_nonzero(const Mask& mask, const Dims& dims, bool keepdim) {
    // PyTorch's sum over dims=[] sums everything, which a reader would not guess: refused instead.
    if (dims.empty()) fail<ValueError>("count_nonzero: dims is empty (count_nonzero(mask) counts every element)");
    return fold_dims("count_nonzero", mask, dims, keepdim, std::int64_t{0},
                     [](std::int64_t s, bool v) { return s + (v ? 1 : 0); });
}

std::int64_t sum(const Mask& mask) {
    return count_nonzero(mask);
}

// ---- where, masked_fill, maximum, minimum, clamp. ----

namespace {

/// where with the condition shared by the node and the rules it records, so that a backward (and
/// its own backward) reuses one copy of the mask.
template <class T>
Tensor<T> where_shared(std::shared_ptr<const Mask> cond, const Tensor<T>& a, const Tensor<T>& b) {
    check_defined("where", "a", a);
    check_defined("where", "b", b);
    const Shape& sm = cond->shape();
    const Shape shape = (sm == a.shape() && sm == b.shape())
                            ? sm
                            : broadcast_args("where", {{"condition", sm}, {"a", a.shape()}, {"b", b.shape()}});
    xt::xarray<T> out = detail::take_buffer<T>("where", shape);
    zip3_into(out.data(), shape, cond->value().data(), sm, a.value().data(), a.shape(), b.value().data(), b.shape(),
              [](bool m, T x, T y) { return m ? x : y; });
    return record<T>(
        "where", {a, b}, std::move(out),
        [cond](const Backward<T>& ctx) -> Grads<T> {
            const Tensor<T> zero(T(0));
            return {ctx.needs(0) ? where_shared(cond, ctx.grad(), zero) : Tensor<T>(),
                    ctx.needs(1) ? where_shared(cond, zero, ctx.grad()) : Tensor<T>()};
        },
        [cond](const Forward<T>& ctx) {
            const Tensor<T> zero(T(0));
            return where_shared(cond, ctx.has(0) ? ctx.tangent(0) : zero, ctx.has(1) ? ctx.tangent(1) : zero);
        });
}

/// A rule's own mask (a temporary), shared.
std::shared_ptr<const Mask> held(Mask&& m) {
    return std::make_shared<const Mask>(std::move(m));
}

/// g where m holds, else 0 (the masked gradients of maximum, minimum and clamp).
template <class T>
Tensor<T> keep(Mask&& m, const Tensor<T>& g) {
    return where_shared(held(std::move(m)), g, Tensor<T>(T(0)));
}

/// 0 where m holds, else g.
template <class T>
Tensor<T> drop(Mask&& m, const Tensor<T>& g) {
    return where_shared(held(std::move(m)), Tensor<T>(T(0)), g);
}

/// Where x beats y (wins(x, y)) elementwise, broadcast.
template <class T, class Wins>
Mask beats(const char* op, Wins wins, const Tensor<T>& x, const Tensor<T>& y) {
    return compare(op, x.value().data(), x.shape(), y.value().data(), y.shape(), wins);
}

/// maximum (wins = gt) or minimum (wins = lt): the winner's value, NaN if either is NaN.
template <class T, class Wins>
Tensor<T> extremum(const char* op, const Tensor<T>& a, const Tensor<T>& b, Wins wins) {
    const Shape shape = check_broadcast(op, a, b);
    xt::xarray<T> out = detail::take_buffer<T>(op, shape);
    zip_into(out.data(), shape, a.value().data(), a.shape(), b.value().data(), b.shape(),
             [wins](T x, T y) { return wins(x, y) || x != x ? x : y; });  // x != x: x is NaN (y NaN: y)
    return record<T>(
        op, {a, b}, std::move(out),
        [op, wins](const Backward<T>& ctx) -> Grads<T> {
            // PyTorch's rule: g to the winner, g/2 to each on a tie, and g to both where one is NaN.
            const Tensor<T>& a_ = ctx.input(0);
            const Tensor<T>& b_ = ctx.input(1);
            Tensor<T> g = ctx.grad();
            Mask tie = eq(a_, b_);
            if (any(tie)) g = where_shared(held(std::move(tie)), g * T(0.5), g);
            return {ctx.needs(0) ? drop(beats(op, wins, b_, a_), g) : Tensor<T>(),
                    ctx.needs(1) ? drop(beats(op, wins, a_, b_), g) : Tensor<T>()};
        },
        [op, wins](const Forward<T>& ctx) {
            // The same Jacobian: each tangent where its input wins, half of each on a tie, both at a NaN.
            const Tensor<T>& a_ = ctx.input(0);
            const Tensor<T>& b_ = ctx.input(1);
            Mask tie = eq(a_, b_);
            const bool ties = any(tie);
            const auto half_at_ties = held(std::move(tie));
            auto share = [&](const Tensor<T>& t) { return ties ? where_shared(half_at_ties, t * T(0.5), t) : t; };
            return detail::add_tangents(
                ctx.has(0) ? drop(beats(op, wins, b_, a_), share(ctx.tangent(0))) : Tensor<T>(),
                ctx.has(1) ? drop(beats(op, wins, a_, b_), share(ctx.tangent(1))) : Tensor<T>());
        });
}

/// Tensor clamp's Jacobian, routing gs[i] (input i's gradient or tangent; undefined: none) to the
/// output where input i is the value taken: PyTorch's clamp_backward and clamp_backward_min_max. A
/// missing bound is an infinite one, except that low's rule without high is x < low alone (so that
/// low = +inf still gets g). Ctx is the rule's context (Backward or Forward: its inputs).
template <class T, class Ctx>
Grads<T> clamp_routes(const Ctx& ctx, bool has_low, bool has_high, const Grads<T>& gs) {
    const Tensor<T>& v = ctx.input(0);
    const Tensor<T> l = has_low ? ctx.input(1) : Tensor<T>(-std::numeric_limits<T>::infinity());
    const Tensor<T> h = has_high ? ctx.input(has_low ? 2 : 1) : Tensor<T>(std::numeric_limits<T>::infinity());
    Grads<T> routed{gs[0].defined() ? keep(ge(v, l) & le(v, h), gs[0]) : Tensor<T>()};
    if (has_low)
        routed.push_back(gs[1].defined() ? keep(has_high ? lt(v, l) & lt(l, h) : lt(v, l), gs[1]) : Tensor<T>());
    if (has_high) {
        const Tensor<T>& g = gs[routed.size()];
        routed.push_back(g.defined() ? keep(gt(v, h) | lt(h, l), g) : Tensor<T>());
    }
    return routed;
}

}  // namespace

template <class T>
Tensor<T> where(const Mask& condition, const Tensor<T>& a, const Tensor<T>& b) {
    // A Mask is a value the caller may change later, so a recorded node keeps its own copy. Made only
    // when the op is recorded (grad mode on and an input requiring grad: record()'s rule); otherwise
    // the rule is never stored and may point at the caller's mask, which outlives this call.
    const bool recorded = is_grad_enabled() && (a.requires_grad() || b.requires_grad());
    auto cond = recorded ? std::make_shared<const Mask>(condition)
                         : std::shared_ptr<const Mask>(std::shared_ptr<const Mask>(), &condition);
    return where_shared(std::move(cond), a, b);
}

template <class T>
Tensor<T> where(const Mask& condition, const Tensor<T>& a, std::type_identity_t<T> b) {
    return where(condition, a, Tensor<T>(b));
}

template <class T>
Tensor<T> where(const Mask& condition, std::type_identity_t<T> a, const Tensor<T>& b) {
    return where(condition, Tensor<T>(a), b);
}

template <class T>
Tensor<T> masked_fill(const Tensor<T>& x, const Mask& mask, std::type_identity_t<T> value) {
    check_defined("masked_fill", "x", x);
    broadcast_args("masked_fill", {{"x", x.shape()}, {"mask", mask.shape()}});
    return where(mask, value, x);
}

template <class T>
Tensor<T> maximum(const Tensor<T>& a, const Tensor<T>& b) {
    return extremum("maximum", a, b, [](T x, T y) { return x > y; });
}

template <class T>
Tensor<T> minimum(const Tensor<T>& a, const Tensor<T>& b) {
    return extremum("minimum", a, b, [](T x, T y) { return x < y; });
}

template <class T>
Tensor<T> clamp(const Tensor<T>& x, const std::type_identity_t<std::optional<Tensor<T>>>& low,
                const std::type_identity_t<std::optional<Tensor<T>>>& high) {
    check_defined("clamp", "x", x);
    if (!low && !high) fail<ValueError>("clamp: at least one of low and high must be given (both are nullopt)");
    if (low) check_defined("clamp", "low", *low);
    if (high) check_defined("clamp", "high", *high);
    // A missing bound is an infinite one: the same value (min(max(x, -inf), +inf) = x) from one kernel.
    const Tensor<T> lo = low ? *low : Tensor<T>(-std::numeric_limits<T>::infinity());
    const Tensor<T> hi = high ? *high : Tensor<T>(std::numeric_limits<T>::infinity());
    const Shape shape = broadcast_args("clamp", {{"x", x.shape()}, {"low", lo.shape()}, {"high", hi.shape()}});
    xt::xarray<T> out = detail::take_buffer<T>("clamp", shape);
    zip3_into(out.data(), shape, x.value().data(), x.shape(), lo.value().data(), lo.shape(), hi.value().data(),
              hi.shape(), [](T v, T l, T h) {
                  // NaN anywhere gives NaN (v != v keeps a NaN v through both comparisons), low > high gives high.
                  const T c = v < l ? l : v;
                  return l != l || h != h ? std::numeric_limits<T>::quiet_NaN() : c > h ? h : c;
              });
    std::vector<Tensor<T>> inputs{x};
    if (low) inputs.push_back(*low);
    if (high) inputs.push_back(*high);
    return record<T>(
        "clamp", inputs, std::move(out),
        [has_low = low.has_value(), has_high = high.has_value()](const Backward<T>& ctx) -> Grads<T> {
            Grads<T> grads;
            const std::size_t count = 1 + std::size_t{has_low} + std::size_t{has_high};
            for (std::size_t i = 0; i < count; ++i) grads.push_back(ctx.needs(i) ? ctx.grad() : Tensor<T>());
            return clamp_routes(ctx, has_low, has_high, grads);
        },
        [has_low = low.has_value(), has_high = high.has_value()](const Forward<T>& ctx) {
            Grads<T> tangents;
            for (std::size_t i = 0; i < ctx.count(); ++i) tangents.push_back(ctx.tangent(i));
            Tensor<T> sum;
            for (const auto& t : clamp_routes(ctx, has_low, has_high, tangents)) sum = detail::add_tangents(sum, t);
            return sum;
        });
}

// Each comparison for arguments of type A and scalars of type S.
#define TAPEGRAD_INSTANTIATE_CMP(A, S)    \
    template Mask eq(const A&, const A&); \
    template Mask eq(const A&, S);        \
    template Mask ne(const A&, const A&); \
    template Mask ne(const A&, S);        \
    template Mask lt(const A&, const A&); \
    template Mask lt(const A&, S);        \
    template Mask le(const A&, const A&); \
    template Mask le(const A&, S);        \
    template Mask gt(const A&, const A&); \
    template Mask gt(const A&, S);        \
    template Mask ge(const A&, const A&); \
    template Mask ge(const A&, S);
#define TAPEGRAD_INSTANTIATE(T)                                                \
    TAPEGRAD_INSTANTIATE_CMP(Tensor<T>, T)                                     \
    template Mask isfinite(const Tensor<T>&);                                  \
    template Mask isnan(const Tensor<T>&);                                     \
    template Mask isinf(const Tensor<T>&);                                     \
    template Tensor<T> where(const Mask&, const Tensor<T>&, const Tensor<T>&); \
    template Tensor<T> where(const Mask&, const Tensor<T>&, T);                \
    template Tensor<T> where(const Mask&, T, const Tensor<T>&);                \
    template Tensor<T> masked_fill(const Tensor<T>&, const Mask&, T);          \
    template Tensor<T> maximum(const Tensor<T>&, const Tensor<T>&);            \
    template Tensor<T> minimum(const Tensor<T>&, const Tensor<T>&);            \
    template Tensor<T> clamp(const Tensor<T>&, const std::optional<Tensor<T>>&, const std::optional<Tensor<T>>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
TAPEGRAD_INSTANTIATE_CMP(Indices, std::int64_t)
TAPEGRAD_INSTANTIATE_CMP(Mask, bool)
#undef TAPEGRAD_INSTANTIATE
#undef TAPEGRAD_INSTANTIATE_CMP

}  // namespace tapegrad
