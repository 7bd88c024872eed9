// Rows for the indexing ops (ops/index.hpp): index_select, gather, scatter_add, take_along_dim,
// masked_select, select and index(). The fixed Indices of a row are built from its inputs' shapes
// (indices_into), with repeats and negative indices; each reference resolves them itself and
// copies or adds element by element with plain index arithmetic.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <variant>

#include "op_table.hpp"
#include "reference.hpp"

namespace optable {

namespace {

using Index = ref::Index;
using namespace tg::indexing;

/// Indices of `shape` into a dim of size n: element k holds (7k + 3) mod n, counted from the end
/// (minus n) when k is odd, so that a row has negative indices, and repeats once it has more than
/// n of them. A dim of size 0 takes only an empty index.
tg::Indices indices_into(const Shape& shape, std::size_t n) {
    tg::Indices idx = tg::Indices::full(shape, 0);
    for (std::size_t k = 0; k < idx.numel(); ++k) {
        const auto v = static_cast<std::int64_t>((7 * k + 3) % n);
        idx[k] = k % 2 == 1 ? v - static_cast<std::int64_t>(n) : v;
    }
    return idx;
}

/// An index into a dim of size n, negative ones counted from the end (written apart from the
/// library's resolve_index).
std::size_t wrap(std::int64_t i, std::size_t n) {
    const auto m = static_cast<std::int64_t>(n);
    return static_cast<std::size_t>(((i % m) + m) % m);
}

Index with(Index shape, std::size_t dim, std::size_t size) {
    shape[dim] = size;
    return shape;
}

// index_select along dim: `count` indices (none into a dim of size 0).
tg::Indices select_indices(const Shape& x, std::size_t dim, std::size_t count) {
    return indices_into({x[dim] == 0 ? 0 : count}, x[dim]);
}

Array index_select_ref(const Array& x, std::size_t dim, const tg::Indices& idx) {
    const Index sx = ref::shape_of(x);
    Array out = ref::empty(with(sx, dim, idx.numel()));
    const Index so = ref::shape_of(out);
    for (std::size_t k = 0; k < out.size(); ++k) {
        Index at = ref::unravel(k, so);
        at[dim] = wrap(idx[at[dim]], sx[dim]);
        out.data()[k] = x.data()[ref::ravel(at, sx)];
    }
    return out;
}

// gather's index for x: one fewer in dim 0 (when it has more than one; only dim `dim` may be
// larger than x's), `count` along dim, empty when x's dim is.
tg::Indices gather_indices(const Shape& x, std::size_t dim, std::size_t count) {
    if (x.empty()) return indices_into({}, 1);
    Shape shape = x;
    if (dim != 0 && shape[0] > 1) --shape[0];
    shape[dim] = x[dim] == 0 ? 0 : count;
    return indices_into(shape, x[dim]);
}

/// out[p] = x[p with its dim entry replaced by idx[p]], out of idx's shape.
Array gather_ref(const Array& x, std::size_t dim, const tg::Indices& idx) {
    const Index sx = ref::shape_of(x);
    Array out = ref::empty(idx.shape());
    if (sx.empty()) {
        out() = x();
        return out;
    }
    for (std::size_t k = 0; k < out.size(); ++k) {
        Index at = ref::unravel(k, idx.shape());
        at[dim] = wrap(idx[k], sx[dim]);
        out.data()[k] = x.data()[ref::ravel(at, sx)];
    }
    return out;
}

// scatter_add's index: src's shape, no larger than x's outside dim, `narrower` fewer in src's last
// dim (so that src has elements outside the index), into x's dim.
tg::Indices scatter_indices(const Shape& x, const Shape& src, std::size_t dim, std::size_t narrower) {
    if (x.empty()) return indices_into({}, 1);
    Shape shape = src;
    for (std::size_t d = 0; d < shape.size(); ++d) {
        if (d != dim) shape[d] = std::min(shape[d], x[d]);
    }
    shape.back() -= std::min(shape.back(), narrower);
    return indices_into(shape, x[dim]);
}

/// x with src[p] added at p (with its dim entry replaced by idx[p]) for every position p of idx.
Array scatter_add_ref(const Array& x, std::size_t dim, const tg::Indices& idx, const Array& src) {
    Array out = x;
    const Index sx = ref::shape_of(x), ss = ref::shape_of(src);
    if (sx.empty()) {
        out() += src();
        return out;
    }
    for (std::size_t k = 0; k < idx.numel(); ++k) {
        Index at = ref::unravel(k, idx.shape());
        const std::size_t from = ref::ravel(at, ss);
        at[dim] = wrap(idx[k], sx[dim]);
        out.data()[ref::ravel(at, sx)] += src.data()[from];
    }
    return out;
}

/// Python's x[entries]: an integer picks a position and drops the dim, a (start, stop, step)
/// triple keeps the positions range(start, stop, step) after Python's clamping.
struct Step {
    std::optional<std::int64_t> start, stop;
    std::int64_t step = 1;
};
using Entry = std::variant<std::int64_t, Step>;

std::vector<std::size_t> positions(const Entry& e, std::size_t n) {
    const auto m = static_cast<std::int64_t>(n);
    if (const auto* i = std::get_if<std::int64_t>(&e)) return {wrap(*i, n)};
    const Step& s = std::get<Step>(e);
    auto clamp = [m](std::int64_t v) { return std::min(std::max(v < 0 ? v + m : v, std::int64_t{0}), m); };
    std::vector<std::size_t> out;
    for (std::int64_t p = clamp(s.start.value_or(0)); p < clamp(s.stop.value_or(m)); p += s.step)
        out.push_back(static_cast<std::size_t>(p));
    return out;
}

Array index_ref(const Array& x, const std::vector<Entry>& entries) {
    const Index sx = ref::shape_of(x);
    std::vector<std::vector<std::size_t>> picks;  // per dim of x, the positions kept
    Index shape;                                  // the result's
    for (std::size_t d = 0; d < sx.size(); ++d) {
        if (d < entries.size()) {
            picks.push_back(positions(entries[d], sx[d]));
            if (std::holds_alternative<Step>(entries[d])) shape.push_back(picks.back().size());
        } else {
            std::vector<std::size_t> all(sx[d]);
            for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
            picks.push_back(all);
            shape.push_back(sx[d]);
        }
    }
    Array out = ref::empty(shape);
    for (std::size_t k = 0; k < out.size(); ++k) {
        const Index at = ref::unravel(k, shape);
        Index from(sx.size());
        for (std::size_t d = 0, o = 0; d < sx.size(); ++d) {
            const bool kept = d >= entries.size() || std::holds_alternative<Step>(entries[d]);
            from[d] = picks[d][kept ? at[o++] : 0];
        }
        out.data()[k] = x.data()[ref::ravel(from, sx)];
    }
    return out;
}

ErrorCase error(std::string what, std::vector<Shape> shapes, std::function<void(const tg::TensorD&)> call,
                Expect expect, std::vector<std::string> fragments) {
    return {std::move(what), std::move(shapes), [call](const Inputs64& in) { call(in[0]); }, expect,
            std::move(fragments)};
}

std::vector<OpInfo> selection_rows() {
    return {
        OpInfo{.name = "index_select (dim 1, repeated and negative indices)",
               .op = "index_select",
               .readme = {"`index_select(x, dim, idx)`",
                          "x's slices at the 1-d indices idx along dim, repeats allowed (an embedding lookup)",
                          "dx = zeros of x's shape, g's slices added at idx (repeated indices accumulate)"},
               .fn = op([](const auto& in) { return tg::index_select(in[0], 1, select_indices(in[0].shape(), 1, 5)); }),
               .cases = {{{3, 4}}, {{2, 3, 2}}, {{1, 1}}, {{0, 3}}, {{2, 0}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return index_select_ref(x[0], 1, select_indices(ref::shape_of(x[0]), 1, 5));
                   },
               .errors = {error("index past the end", {{2, 3}},
                                [](const auto& x) {
                                    tg::index_select(x, 1, {0, 3});
                                },
                                Expect::Value, {"index_select", "index 3 is out of range", "dim 1", "size 3"}),
                          error("negative index past the start", {{2, 3}},
                                [](const auto& x) { tg::index_select(x, -1, {-4}); }, Expect::Value,
                                {"index_select", "index -4 is out of range", "size 3"}),
                          error("2-d index", {{2, 3}},
                                [](const auto& x) {
                                    tg::index_select(x, 0, {{0, 1}});
                                },
                                Expect::Shape, {"index_select", "[1, 2]", "[2, 3]"}),
                          error("dim out of range", {{2, 3}}, [](const auto& x) { tg::index_select(x, 2, {0}); },
                                Expect::Value, {"index_select", "dim 2", "[2, 3]"})}},
        OpInfo{.name = "index_select (dim -1 of a 1-d or 0-d x)",
               .op = "index_select",
               .fn = op([](const auto& in) {
                   const auto& x = in[0];
                   return tg::index_select(x, -1, x.ndim() == 0 ? tg::Indices{-1} : select_indices(x.shape(), 0, 6));
               }),
               .cases = {{{4}}, {{1}}, {{}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       if (x[0].dimension() == 0) return x[0];
                       return index_select_ref(x[0], 0, select_indices(ref::shape_of(x[0]), 0, 6));
                   },
               .errors = {error("0-d x, two indices", {{}},
                                [](const auto& x) {
                                    tg::index_select(x, 0, {0, 0});
                                },
                                Expect::Shape, {"index_select", "0-d", "[2]"}),
                          error("0-d x, index 1", {{}}, [](const auto& x) { tg::index_select(x, 0, {1}); },
                                Expect::Value, {"index_select", "index 1 is out of range", "size 1"})}},
        OpInfo{.name = "index_select (0-d index keeps the dim)",
               .op = "index_select",
               .fn = op([](const auto& in) { return tg::index_select(in[0], 0, tg::Indices::full({}, -1)); }),
               .cases = {{{3, 2}}, {{1, 4}}, {{4, 0}}},
               .reference = [](const std::vector<Array>& x) { return index_select_ref(x[0], 0, tg::Indices{-1}); }},
        OpInfo{.name = "select (dim 1, index -1)",
               .op = "select",
               .readme = {"`select(x, dim, i)`", "the slice at i along dim, the dim removed (`x[i]` for dim 0)",
                          "dx = zeros of x's shape, g placed at i"},
               .fn = op([](const auto& in) { return tg::select(in[0], 1, -1); }),
               .cases = {{{3, 4}}, {{2, 3, 2}}, {{1, 1}}, {{0, 2}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return index_ref(x[0], {Step{}, std::int64_t{-1}});
                   },
               .errors = {error("index past the start", {{2, 4}}, [](const auto& x) { tg::select(x, 1, -5); },
                                Expect::Value, {"select", "index -5 is out of range", "size 4"}),
                          error("a dim of size 0", {{0, 2}}, [](const auto& x) { tg::select(x, 0, 0); }, Expect::Value,
                                {"select", "index 0", "size 0"}),
                          error("0-d x", {{}}, [](const auto& x) { tg::select(x, 0, 0); }, Expect::Shape,
                                {"select", "[]", "0-d"}),
                          error("dim out of range", {{2, 3}}, [](const auto& x) { tg::select(x, -3, 0); },
                                Expect::Value, {"select", "dim -3", "[2, 3]"})}},
        OpInfo{.name = "masked_select (mask = m > 0, broadcast)",
               .op = "masked_select",
               .readme = {"`masked_select(x, mask)`", "x's elements where mask is true (x and mask broadcast), 1-d",
                          "dx = g placed at the selected positions, 0 elsewhere (summed over broadcast dims)"},
               .fn = op([](const auto& in) {
                   return tg::masked_select(in[0], tg::Mask(xt::xarray<bool>(in[1].value() > 0)));
               }),
               .cases = {{{3, 4}, {3, 4}}, {{3, 4}, {4}}, {{4}, {3, 4}}, {{}, {2, 3}}, {{2, 3}, {}}, {{0, 3}, {0, 3}}},
               .domains = {Domain{}, Domain{-1.0, 1.0, {0.0}, 0.1}},
               .reference =
                   [](const std::vector<Array>& x) {
                       const Array xb = ref::zip(x[0], x[1], [](double a, double) { return a; });
                       const Array mb = ref::zip(x[0], x[1], [](double, double m) { return m; });
                       std::vector<double> kept;
                       for (std::size_t k = 0; k < xb.size(); ++k) {
                           if (mb.data()[k] > 0) kept.push_back(xb.data()[k]);
                       }
                       Array out = ref::empty({kept.size()});
                       std::copy(kept.begin(), kept.end(), out.begin());
                       return out;
                   },
               .errors = {error("shapes do not broadcast", {{2, 3}},
                                [](const auto& x) {
                                    tg::masked_select(x, tg::Mask::full({2, 2}, true));
                                },
                                Expect::Shape, {"masked_select", "[2, 3]", "[2, 2]"})},
               .differentiable = {true, false}},
    };
}

std::vector<OpInfo> gather_rows() {
    return {
        OpInfo{.name = "gather (dim 1, repeated and negative indices)",
               .op = "gather",
               .readme = {"`gather(x, dim, idx)`", "y[i][j] = x[i][idx[i][j]] for dim 1; y has idx's shape",
                          "dx = scatter_add(zeros of x's shape, dim, idx, g)"},
               .fn = op([](const auto& in) { return tg::gather(in[0], 1, gather_indices(in[0].shape(), 1, 5)); }),
               .cases = {{{3, 4}}, {{2, 3, 2}}, {{1, 1}}, {{2, 0}}, {{0, 3}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return gather_ref(x[0], 1, gather_indices(ref::shape_of(x[0]), 1, 5));
                   },
               .errors = {error("index past the end", {{2, 3}},
                                [](const auto& x) {
                                    tg::gather(x, 1, {{0, 3}});
                                },
                                Expect::Value, {"gather", "index 3 is out of range", "size 3"}),
                          error("index of another ndim", {{2, 3}},
                                [](const auto& x) {
                                    tg::gather(x, 1, {0, 1});
                                },
                                Expect::Shape, {"gather", "[2]", "[2, 3]"}),
                          error("index larger than x outside dim", {{2, 3}},
                                [](const auto& x) {
                                    tg::gather(x, 1, tg::Indices::full({3, 1}, 0));
                                },
                                Expect::Shape, {"gather", "[3, 1]", "[2, 3]", "dim 0"})}},
        OpInfo{.name = "gather (dim 0, index narrower in dim 1; 0-d)",
               .op = "gather",
               .fn = op([](const auto& in) {
                   const auto& x = in[0];
                   if (x.ndim() == 0) return tg::gather(x, 0, tg::Indices::full({}, -1));
                   return tg::gather(x, 0, indices_into({5, x.shape()[1] - 1}, x.shape()[0]));
               }),
               .cases = {{{3, 4}}, {{2, 2}}, {{}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       if (x[0].dimension() == 0) return x[0];
                       return gather_ref(x[0], 0, indices_into({5, x[0].shape()[1] - 1}, x[0].shape()[0]));
                   }},
        OpInfo{.name = "scatter_add (dim 1, repeated and negative indices)",
               .op = "scatter_add",
               .readme = {"`scatter_add(x, dim, idx, src)`",
                          "a copy of x with src[i][j] added at [i][idx[i][j]] for dim 1 (out of place; repeats add up)",
                          "dx = g, dsrc = gather(g, dim, idx) (0 where src is outside idx's shape)"},
               .fn = op([](const auto& in) {
                   return tg::scatter_add(in[0], -1, scatter_indices(in[0].shape(), in[1].shape(), in[0].ndim() - 1, 0),
                                          in[1]);
               }),
               .cases = {{{3, 4}, {3, 6}}, {{2, 3}, {1, 5}}, {{1, 1}, {1, 1}}, {{}, {}}, {{2, 0}, {2, 0}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       const Index sx = ref::shape_of(x[0]);
                       const std::size_t dim = sx.empty() ? 0 : sx.size() - 1;
                       return scatter_add_ref(x[0], dim, scatter_indices(sx, ref::shape_of(x[1]), dim, 0), x[1]);
                   },
               .errors = {{"index past the end",
                           {{2, 3}, {2, 3}},
                           [](const Inputs64& in) {
                               tg::scatter_add(in[0], 0, {{0, 2}}, in[1]);
                           },
                           Expect::Value,
                           {"scatter_add", "index 2 is out of range", "dim 0", "size 2"}},
                          {"src smaller than the index",
                           {{2, 3}, {2, 1}},
                           [](const Inputs64& in) {
                               tg::scatter_add(in[0], 1, {{0, 1}}, in[1]);
                           },
                           Expect::Shape,
                           {"scatter_add", "[1, 2]", "src", "[2, 1]"}},
                          {"src of another ndim",
                           {{2, 3}, {3}},
                           [](const Inputs64& in) {
                               tg::scatter_add(in[0], 1, {{0, 1}}, in[1]);
                           },
                           Expect::Shape,
                           {"scatter_add", "[1, 2]", "[3]"}}}},
        OpInfo{.name = "scatter_add (dim 0, src larger than the index)",
               .op = "scatter_add",
               .fn = op([](const auto& in) {
                   return tg::scatter_add(in[0], 0, scatter_indices(in[0].shape(), in[1].shape(), 0, 1), in[1]);
               }),
               .cases = {{{3, 4}, {4, 5}}, {{2, 2}, {3, 3}}, {{2, 3, 2}, {4, 2, 3}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       const Index sx = ref::shape_of(x[0]);
                       return scatter_add_ref(x[0], 0, scatter_indices(sx, ref::shape_of(x[1]), 0, 1), x[1]);
                   }},
        OpInfo{.name = "take_along_dim (dim 2, x and index broadcast)",
               .op = "take_along_dim",
               .readme = {"`take_along_dim(x, idx[, dim])`",
                          "gather along dim after broadcasting x and idx in the other dims; flattened without dim; "
                          "composed",
                          "dx = gather's, summed over the dims x was broadcast in"},
               .fn = op([](const auto& in) {
                   return tg::take_along_dim(in[0], indices_into({1, 5, 2}, in[0].shape()[2]), 2);
               }),
               .cases = {{{3, 1, 4}}, {{2, 5, 3}}, {{1, 1, 1}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       const Index sx = ref::shape_of(x[0]);
                       const tg::Indices idx = indices_into({1, 5, 2}, sx[2]);
                       Array out = ref::empty({sx[0], 5, 2});
                       for (std::size_t k = 0; k < out.size(); ++k) {
                           const Index at = ref::unravel(k, ref::shape_of(out));
                           const Index from = {at[0], sx[1] == 1 ? 0 : at[1], wrap(idx[at[1] * 2 + at[2]], sx[2])};
                           out.data()[k] = x[0].data()[ref::ravel(from, sx)];
                       }
                       return out;
                   },
               .errors = {error("index of another ndim", {{2, 3}},
                                [](const auto& x) {
                                    tg::take_along_dim(x, {0, 1}, 1);
                                },
                                Expect::Shape, {"take_along_dim", "[2, 3]", "[2]"}),
                          error("dims that do not broadcast", {{2, 3, 4}},
                                [](const auto& x) {
                                    tg::take_along_dim(x, indices_into({1, 5, 2}, 4), 2);
                                },
                                Expect::Shape, {"take_along_dim", "[2, 3, 4]", "[1, 5, 2]", "dim 1"}),
                          error("index past the end", {{2, 3}},
                                [](const auto& x) {
                                    tg::take_along_dim(x, tg::Indices::full({1, 1}, 3), 1);
                                },
                                Expect::Value, {"take_along_dim", "index 3 is out of range", "size 3"})}},
        OpInfo{.name = "take_along_dim (no dim: flattened)",
               .op = "take_along_dim",
               .fn = op([](const auto& in) { return tg::take_along_dim(in[0], indices_into({7}, in[0].numel())); }),
               .cases = {{{3, 4}}, {{}}, {{2, 1, 3}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       const tg::Indices idx = indices_into({7}, x[0].size());
                       Array out = ref::empty({7});
                       for (std::size_t k = 0; k < 7; ++k) out(k) = x[0].data()[wrap(idx[k], x[0].size())];
                       return out;
                   },
               .errors = {error("flat index past the end", {{2, 3}}, [](const auto& x) { tg::take_along_dim(x, {6}); },
                                Expect::Value, {"take_along_dim", "index 6 is out of range", "size 6"})}},
    };
}

std::vector<OpInfo> sugar_rows() {
    return {
        OpInfo{.name = "index ({1, Slice(None, None, 2)})",
               .op = "index",
               .readme = {"`index(x, {0, Slice(1, None)})`",
                          "LibTorch's `x.index(...)` (`x[0, 1:]`): integers select, Slices (start, stop, step) slice "
                          "the leading dims; composed: select, slice, index_select",
                          "dx = g placed back at the indexed positions, 0 elsewhere"},
               .fn = op([](const auto& in) {
                   return tg::index(in[0], {1, Slice(None, None, 2)});
               }),
               .cases = {{{3, 5}}, {{2, 4, 3}}, {{2, 1}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return index_ref(x[0], {std::int64_t{1}, Step{std::nullopt, std::nullopt, 2}});
                   },
               .errors = {error("more indices than dims", {{2, 3}},
                                [](const auto& x) {
                                    tg::index(x, {0, 1, 0});
                                },
                                Expect::Shape, {"index", "3 indices", "[2, 3]"}),
                          error("step 0", {{2, 3}}, [](const auto& x) { tg::index(x, {Slice(0, 2, 0)}); },
                                Expect::Value, {"index", "step 0", "[2, 3]"}),
                          error("integer past the end", {{2, 3}},
                                [](const auto& x) {
                                    tg::index(x, {Slice(), 3});
                                },
                                Expect::Value, {"index", "index 3 is out of range", "dim 1", "size 3"})}},
        OpInfo{.name = "index ({Slice(1, None), -1})",
               .op = "index",
               .fn = op([](const auto& in) {
                   return tg::index(in[0], {Slice(1, None), -1});
               }),
               .cases = {{{3, 4}}, {{2, 3, 2}}, {{1, 2}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return index_ref(x[0], {Step{1, std::nullopt, 1}, std::int64_t{-1}});
                   }},
        OpInfo{.name = "index ({Slice(-4, -1, 2)}: negative bounds, clamped)",
               .op = "index",
               .fn = op([](const auto& in) { return tg::index(in[0], {Slice(-4, -1, 2)}); }),
               .cases = {{{5, 2}}, {{2}}, {{0, 3}}, {{7}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return index_ref(x[0], {Step{-4, -1, 2}});
                   }},
        OpInfo{.name = "index ({-2}: a 1-d x to 0-d; {} of a 0-d x)",
               .op = "index",
               .fn = op([](const auto& in) {
                   const auto& x = in[0];
                   return x.ndim() == 0 ? tg::index(x, {}) : tg::index(x, {-2});
               }),
               .cases = {{{3}}, {{}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       if (x[0].dimension() == 0) return x[0];
                       return index_ref(x[0], {std::int64_t{-2}});
                   }},
    };
}

std::vector<OpInfo> index_rows() {
    auto rows = selection_rows();
    for (auto& row : gather_rows()) rows.push_back(std::move(row));
    for (auto& row : sugar_rows()) rows.push_back(std::move(row));
    return rows;
}

const RegisterFamily registered{{.name = "index", .order = 27, .rows = index_rows}};

}  // namespace

}  // namespace optable
