// Rows for the layout ops (ops/layout.hpp): flatten, unflatten, expand, repeat, tile, pad, split,
// chunk, narrow, roll, flip, diagonal, tril, triu, movedim, clone. Each reference computes, for
// every output element, where it comes from in x, with plain index arithmetic.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>

#include "op_table.hpp"
#include "reference.hpp"

namespace optable {

namespace {

using Index = ref::Index;
using Sizes = std::vector<std::int64_t>;

/// out[idx] = x[source(idx)], or `fill` where source gives no element.
template <class F>
Array gather(const Array& x, const Shape& shape, F source, double fill = 0.0) {
    const Index sx = ref::shape_of(x);
    Array out = ref::empty(shape);
    for (std::size_t k = 0; k < out.size(); ++k) {
        const std::optional<Index> from = source(ref::unravel(k, shape));
        out.data()[k] = from ? x.data()[ref::ravel(*from, sx)] : fill;
    }
    return out;
}

std::int64_t wrap(std::int64_t i, std::int64_t n) {
    return ((i % n) + n) % n;
}

/// torch.Tensor.repeat: x viewed with leading 1s, then each dim repeated.
Array repeat_ref(const Array& x, const Sizes& reps) {
    const Index sx = ref::shape_of(x);
    const std::size_t lead = reps.size() - sx.size();
    Shape shape(reps.size());
    for (std::size_t i = 0; i < reps.size(); ++i)
        shape[i] = (i < lead ? 1 : sx[i - lead]) * static_cast<std::size_t>(reps[i]);
    return gather(x, shape, [&](const Index& idx) {
        Index from(sx.size());
        for (std::size_t i = 0; i < sx.size(); ++i) from[i] = idx[i + lead] % sx[i];
        return std::optional<Index>(from);
    });
}

/// Constant padding, pairs from the last dim; negative amounts crop.
Array pad_ref(const Array& x, const Sizes& pad, double value) {
    const Index sx = ref::shape_of(x);
    const std::size_t n = sx.size();
    Sizes before(n, 0);
    Shape shape = sx;
    for (std::size_t p = 0; p < pad.size() / 2; ++p) {
        before[n - 1 - p] = pad[2 * p];
        shape[n - 1 - p] =
            static_cast<std::size_t>(static_cast<std::int64_t>(sx[n - 1 - p]) + pad[2 * p] + pad[2 * p + 1]);
    }
    return gather(
        x, shape,
        [&](const Index& idx) -> std::optional<Index> {
            Index from(n);
            for (std::size_t i = 0; i < n; ++i) {
                const std::int64_t j = static_cast<std::int64_t>(idx[i]) - before[i];
                if (j < 0 || j >= static_cast<std::int64_t>(sx[i])) return std::nullopt;
                from[i] = static_cast<std::size_t>(j);
            }
            return from;
        },
        value);
}

/// Reflect padding, pairs from the last dim: x mirrored at its edges, the edge not repeated.
Array reflect_ref(const Array& x, const Sizes& pad) {
    const Index sx = ref::shape_of(x);
    const std::size_t n = sx.size();
    Sizes before(n, 0);
    Shape shape = sx;
    for (std::size_t p = 0; p < pad.size() / 2; ++p) {
        before[n - 1 - p] = pad[2 * p];
        shape[n - 1 - p] += static_cast<std::size_t>(pad[2 * p] + pad[2 * p + 1]);
    }
    return gather(x, shape, [&](const Index& idx) {
        Index from(n);
        for (std::size_t i = 0; i < n; ++i) {
            const auto m = static_cast<std::int64_t>(sx[i]);
            std::int64_t j = static_cast<std::int64_t>(idx[i]) - before[i];
            if (j < 0) j = -j;
            if (j >= m) j = 2 * (m - 1) - j;
            from[i] = static_cast<std::size_t>(j);
        }
        return std::optional<Index>(from);
    });
}

/// x with the elements of piece k (pieces of `sizes` along dim) multiplied by k + 1: the reference
/// of the split / chunk rows, which concat their pieces so weighted.
Array weighted_ref(const Array& x, const Sizes& sizes, std::size_t dim) {
    Array out = x;
    const Index sx = ref::shape_of(x);
    for (std::size_t k = 0; k < x.size(); ++k) {
        const auto at = static_cast<std::int64_t>(ref::unravel(k, sx)[dim]);
        std::int64_t end = 0, piece = 0;
        while (at >= (end += sizes[static_cast<std::size_t>(piece)])) ++piece;
        out.data()[k] *= static_cast<double>(piece + 1);
    }
    return out;
}

/// Sizes of pieces of `step` covering n (the last one smaller).
Sizes even_sizes(std::size_t n, std::size_t step) {
    Sizes sizes;
    for (std::size_t at = 0; at < n; at += step) sizes.push_back(static_cast<std::int64_t>(std::min(step, n - at)));
    return sizes;
}

/// The pieces concatenated back, piece k multiplied by k + 1, so each piece's gradient is checked.
template <class V>
auto weighted_concat(const V& pieces, std::int64_t dim) {
    V scaled;
    for (std::size_t k = 0; k < pieces.size(); ++k) scaled.push_back(pieces[k] * static_cast<double>(k + 1));
    return tg::concat(scaled, dim);
}

/// torch.diagonal on non-negative dims d1 != d2.
Array diagonal_ref(const Array& x, std::int64_t offset, std::size_t d1, std::size_t d2) {
    const Index sx = ref::shape_of(x);
    const auto n1 = static_cast<std::int64_t>(sx[d1]), n2 = static_cast<std::int64_t>(sx[d2]);
    const std::int64_t length =
        std::max<std::int64_t>(0, offset >= 0 ? std::min(n1, n2 - offset) : std::min(n1 + offset, n2));
    Shape shape;
    for (std::size_t i = 0; i < sx.size(); ++i) {
        if (i != d1 && i != d2) shape.push_back(sx[i]);
    }
    shape.push_back(static_cast<std::size_t>(length));
    return gather(x, shape, [&](const Index& idx) {
        Index from(sx.size());
        std::size_t o = 0;
        for (std::size_t i = 0; i < sx.size(); ++i) {
            if (i != d1 && i != d2) from[i] = idx[o++];
        }
        const auto k = static_cast<std::int64_t>(idx.back());
        from[d1] = static_cast<std::size_t>(offset >= 0 ? k : k - offset);
        from[d2] = static_cast<std::size_t>(offset >= 0 ? k + offset : k);
        return std::optional<Index>(from);
    });
}

/// tril (lower) or triu of the last two dims.
Array triangle_ref(const Array& x, std::int64_t diagonal, bool lower) {
    Array out = x;
    const Index sx = ref::shape_of(x);
    for (std::size_t k = 0; k < x.size(); ++k) {
        const Index idx = ref::unravel(k, sx);
        const std::int64_t above =
            static_cast<std::int64_t>(idx[sx.size() - 1]) - static_cast<std::int64_t>(idx[sx.size() - 2]);
        if (lower ? above > diagonal : above < diagonal) out.data()[k] = 0.0;
    }
    return out;
}

ErrorCase error(std::string what, std::vector<Shape> shapes, std::function<void(const tg::TensorD&)> call,
                Expect expect, std::vector<std::string> fragments) {
    return {std::move(what), std::move(shapes), [call](const Inputs64& in) { call(in[0]); }, expect,
            std::move(fragments)};
}

std::vector<OpInfo> reshaping_rows() {
    return {
        OpInfo{.name = "flatten (dims 1..2)",
               .op = "flatten",
               .readme = {"`flatten(x, start_dim, end_dim)`, `unflatten(x, dim, sizes)`",
                          "dims start_dim..end_dim merged / dim split into sizes (one -1 inferred); composed: reshape",
                          "dx = reshape(g, x.shape)"},
               .fn = op([](const auto& in) { return tg::flatten(in[0], 1, 2); }),
               .cases = {{{2, 3, 4}}, {{2, 0, 3}}, {{1, 1, 1}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       const auto& s = x[0].shape();
                       return ref::reshaped(x[0], {s[0], s[1] * s[2]});
                   },
               .errors = {error("start_dim after end_dim", {{2, 3}}, [](const auto& x) { tg::flatten(x, 1, 0); },
                                Expect::Value, {"flatten", "start_dim", "[2, 3]"}),
                          error("end_dim out of range", {{2, 3}}, [](const auto& x) { tg::flatten(x, 0, 2); },
                                Expect::Value, {"flatten", "dim 2", "[2, 3]"})}},
        OpInfo{.name = "flatten (all; 0-d becomes [1])",
               .op = "flatten",
               .fn = op([](const auto& in) { return tg::flatten(in[0]); }),
               .cases = {{{}}, {{2, 3}}, {{3}}, {{2, 1, 2}}},
               .reference = [](const std::vector<Array>& x) { return ref::reshaped(x[0], {x[0].size()}); },
               .errors = {error("0-d, dim out of range", {{}}, [](const auto& x) { tg::flatten(x, 1); }, Expect::Value,
                                {"flatten", "dim 1", "[1]"})}},
        OpInfo{.name = "unflatten (dim -1 into {2, -1})",
               .op = "unflatten",
               .fn = op([](const auto& in) {
                   return tg::unflatten(in[0], -1, {2, -1});
               }),
               .cases = {{{3, 4}}, {{6}}, {{1, 2}}, {{0, 4}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       Shape s = ref::shape_of(x[0]);
                       const std::size_t last = s.back();
                       s.back() = 2;
                       s.push_back(last / 2);
                       return ref::reshaped(x[0], s);
                   },
               .errors = {error("sizes do not multiply out", {{3, 4}},
                                [](const auto& x) {
                                    tg::unflatten(x, 1, {2, 3});
                                },
                                Expect::Shape, {"unflatten", "[2, 3]", "[3, 4]"}),
                          error("two -1s", {{3, 4}},
                                [](const auto& x) {
                                    tg::unflatten(x, 1, {-1, -1});
                                },
                                Expect::Shape, {"unflatten", "[-1, -1]", "only one"}),
                          error("no size fits the -1", {{6}},
                                [](const auto& x) {
                                    tg::unflatten(x, 0, {-1, 4});
                                },
                                Expect::Shape, {"unflatten", "[-1, 4]", "[6]"}),
                          error("empty sizes", {{6}}, [](const auto& x) { tg::unflatten(x, 0, {}); }, Expect::Shape,
                                {"unflatten", "[]", "[6]"}),
                          error("dim out of range", {{6}}, [](const auto& x) { tg::unflatten(x, 1, {6}); },
                                Expect::Value, {"unflatten", "dim 1", "[6]"})}},
        OpInfo{.name = "expand (to {2, -1, 3})",
               .op = "expand",
               .readme = {"`expand(x, sizes)`",
                          "size-1 dims broadcast to sizes (-1 keeps a size; new leading dims); a copy, not a view",
                          "dx = Σ of g over the expanded dims (sum_to(g, x.shape))"},
               .fn = op([](const auto& in) {
                   return tg::expand(in[0], {2, -1, 3});
               }),
               .cases = {{{3, 1}}, {{1, 1}}, {{1, 3}}, {{0, 1}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return ref::zip(x[0], ref::empty({2, x[0].shape()[0], 3}), [](double a, double) { return a; });
                   },
               .errors = {error("a dim not of size 1", {{2, 3}},
                                [](const auto& x) {
                                    tg::expand(x, {2, 4});
                                },
                                Expect::Shape, {"expand", "[2, 3]", "4", "size 1"}),
                          error("-1 in a new leading dim", {{2, 3}},
                                [](const auto& x) {
                                    tg::expand(x, {-1, 2, 3});
                                },
                                Expect::Value, {"expand", "-1", "[2, 3]"}),
                          error("fewer sizes than dims", {{2, 3}}, [](const auto& x) { tg::expand(x, {3}); },
                                Expect::Shape, {"expand", "[3]", "[2, 3]"})}},
        OpInfo{.name = "expand (0-d to {2, 3})",
               .op = "expand",
               .fn = op([](const auto& in) {
                   return tg::expand(in[0], {2, 3});
               }),
               .cases = {{{}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return ref::zip(x[0], ref::empty({2, 3}), [](double a, double) { return a; });
                   }},
        OpInfo{.name = "repeat ({2, 1, 3})",
               .op = "repeat",
               .readme = {"`repeat(x, repeats)`, `tile(x, reps)`",
                          "x repeated along each dim (tile pads reps with leading 1s); composed",
                          "dx = Σ of g's repeated blocks"},
               .fn = op([](const auto& in) {
                   return tg::repeat(in[0], {2, 1, 3});
               }),
               .cases = {{{2, 2}}, {{3}}, {{}}, {{1, 0}}, {{1, 2, 1}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return repeat_ref(x[0], {2, 1, 3});
                   },
               .errors = {error("fewer repeats than dims", {{2, 3}}, [](const auto& x) { tg::repeat(x, {2}); },
                                Expect::Value, {"repeat", "repeats", "[2, 3]"}),
                          error("a negative repeat", {{2, 3}},
                                [](const auto& x) {
                                    tg::repeat(x, {1, -1});
                                },
                                Expect::Value, {"repeat", "[1, -1]", "[2, 3]"})}},
        OpInfo{.name = "tile ({2})",
               .op = "tile",
               .fn = op([](const auto& in) { return tg::tile(in[0], {2}); }),
               .cases = {{{2, 3}}, {{3}}, {{}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       Sizes reps(std::max<std::size_t>(x[0].dimension(), 1), 1);
                       reps.back() = 2;
                       return repeat_ref(x[0], reps);
                   },
               .errors = {error("a negative rep", {{2, 3}}, [](const auto& x) { tg::tile(x, {-2}); }, Expect::Value,
                                {"tile", "reps", "[2, 3]"})}},
        OpInfo{.name = "movedim (0 to -1)",
               .op = "movedim",
               .readme = {"`movedim(x, source, destination)`", "dims moved, the others in order; composed: permute",
                          "dx = movedim(g, destination, source)"},
               .fn = op([](const auto& in) { return tg::movedim(in[0], 0, -1); }),
               .cases = {{{2, 3, 4}}, {{3}}, {{1, 0, 2}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       std::vector<std::size_t> order;
                       for (std::size_t i = 1; i < x[0].dimension(); ++i) order.push_back(i);
                       order.push_back(0);
                       return ref::permute(x[0], order);
                   },
               .errors = {error("dim out of range", {{2, 3}}, [](const auto& x) { tg::movedim(x, 2, 0); },
                                Expect::Value, {"movedim", "dim 2", "[2, 3]"})}},
        OpInfo{.name = "movedim ({0, 1} to {2, 0})",
               .op = "movedim",
               .fn = op([](const auto& in) {
                   return tg::movedim(in[0], {0, 1}, {2, 0});
               }),
               .cases = {{{2, 3, 4}}, {{1, 2, 0}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return ref::permute(x[0], {1, 2, 0});
                   },
               .errors = {error("a source dim twice", {{2, 3, 4}},
                                [](const auto& x) {
                                    tg::movedim(x, {0, -3}, {1, 2});
                                },
                                Expect::Value, {"movedim", "source", "[0, -3]", "[2, 3, 4]"}),
                          error("a destination twice", {{2, 3, 4}},
                                [](const auto& x) {
                                    tg::movedim(x, {0, 1}, {2, 2});
                                },
                                Expect::Value, {"movedim", "destination", "[2, 2]", "[2, 3, 4]"}),
                          error("lists of different lengths", {{2, 3, 4}},
                                [](const auto& x) {
                                    tg::movedim(x, {0, 1}, tg::Dims{1});
                                },
                                Expect::Value, {"movedim", "[0, 1]", "[1]", "[2, 3, 4]"})}},
        OpInfo{.name = "clone",
               .op = "clone",
               .readme = {"`clone(x)`", "a copy, on the tape", "dx = g"},
               .fn = op([](const auto& in) { return tg::clone(in[0]); }),
               .cases = {{{2, 3}}, {{}}, {{0, 3}}},
               .reference = [](const std::vector<Array>& x) { return x[0]; }},
    };
}

std::vector<OpInfo> cutting_rows() {
    return {
        OpInfo{.name = "pad ({1, 2}, value 0.5)",
               .op = "pad",
               .readme = {"`pad(x, pad, value)`",
                          "constant padding, pairs from the last dim: {left, right, top, bottom, ...}; negative "
                          "amounts crop",
                          "dx = pad(g, -pad): g with the padding cut away"},
               .fn = op([](const auto& in) {
                   return tg::pad(in[0], {1, 2}, 0.5);
               }),
               .cases = {{{2, 3}}, {{3}}, {{2, 0}}, {{1, 1}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return pad_ref(x[0], {1, 2}, 0.5);
                   },
               .errors = {error("odd length", {{2, 3}}, [](const auto& x) { tg::pad(x, {1}); }, Expect::Value,
                                {"pad", "[1]", "pairs"}),
                          error("more pairs than dims", {{2, 3}},
                                [](const auto& x) {
                                    tg::pad(x, {1, 1, 1, 1, 1, 1});
                                },
                                Expect::Value, {"pad", "3 pairs", "[2, 3]"}),
                          error("a crop larger than the dim", {{2, 3}},
                                [](const auto& x) {
                                    tg::pad(x, {0, 0, -2, -1});
                                },
                                Expect::Shape, {"pad", "[0, 0, -2, -1]", "[2, 3]", "dim 0"})}},
        OpInfo{.name = "pad ({-1, 2, 1, 0}: crop and pad)",
               .op = "pad",
               .fn = op([](const auto& in) {
                   return tg::pad(in[0], {-1, 2, 1, 0});
               }),
               .cases = {{{2, 3}}, {{1, 4, 3}}, {{0, 2}}, {{2, 1}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return pad_ref(x[0], {-1, 2, 1, 0}, 0.0);
                   }},
        OpInfo{.name = "pad (reflect, {2, 1, 1, 1})",
               .op = "pad",
               .readme = {"`pad(x, pad, PadMode::Reflect)`", "x mirrored at its edges (composed: slice, flip, concat)",
                          "dx = g's mirrored parts folded back onto the elements they copy"},
               .fn = op([](const auto& in) {
                   return tg::pad(in[0], {2, 1, 1, 1}, tg::PadMode::Reflect);
               }),
               .cases = {{{3, 4}}, {{2, 3, 3}}, {{2, 3}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return reflect_ref(x[0], {2, 1, 1, 1});
                   },
               .errors = {error("a reflect amount as large as the dim", {{2, 3}},
                                [](const auto& x) {
                                    tg::pad(x, {3, 0}, tg::PadMode::Reflect);
                                },
                                Expect::Value, {"pad", "reflect", "[3, 0]", "[2, 3]"}),
                          error("a negative reflect amount", {{2, 3}},
                                [](const auto& x) {
                                    tg::pad(x, {-1, 0}, tg::PadMode::Reflect);
                                },
                                Expect::Value, {"pad", "reflect", "[-1, 0]", "[2, 3]"}),
                          error("odd length (reflect)", {{2, 3}},
                                [](const auto& x) { tg::pad(x, {1}, tg::PadMode::Reflect); }, Expect::Value,
                                {"pad", "[1]", "pairs"})}},
        OpInfo{.name = "pad ({} of a 0-d x)",
               .op = "pad",
               .fn = op([](const auto& in) { return tg::pad(in[0], {}); }),
               .cases = {{{}}, {{2}}},
               .reference = [](const std::vector<Array>& x) { return x[0]; }},
        OpInfo{.name = "split (split_size 2, dim 1; pieces weighted 1, 2, ... and joined)",
               .op = "split",
               .readme = {"`split(x, split_size, dim)`, `split(x, sizes, dim)`, `chunk(x, chunks, dim)`",
                          "a std::vector of pieces along dim (chunk as PyTorch's: ceil(size / chunks) each, so "
                          "maybe fewer pieces); composed: slice",
                          "dx = each piece's g placed at its slice"},
               .fn = op([](const auto& in) { return weighted_concat(tg::split(in[0], 2, 1), 1); }),
               .cases = {{{2, 5}}, {{3, 4}}, {{1, 1}}, {{2, 0}}},
               .reference =
                   [](const std::vector<Array>& x) { return weighted_ref(x[0], even_sizes(x[0].shape()[1], 2), 1); },
               .errors = {error("negative split_size", {{2, 3}}, [](const auto& x) { tg::split(x, -1, 0); },
                                Expect::Value, {"split", "-1", "[2, 3]"}),
                          error("split_size 0 of a non-empty dim", {{2, 3}}, [](const auto& x) { tg::split(x, 0, 1); },
                                Expect::Value, {"split", "split_size 0", "[2, 3]"}),
                          error("0-d x", {{}}, [](const auto& x) { tg::split(x, 1, 0); }, Expect::Value,
                                {"split", "[]"})}},
        OpInfo{.name = "split (sizes {1, 3, 0, 1}, dim -1)",
               .op = "split",
               .fn = op([](const auto& in) {
                   return weighted_concat(tg::split(in[0], Sizes{1, 3, 0, 1}, -1), -1);
               }),
               .cases = {{{2, 5}}, {{5}}, {{0, 5}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return weighted_ref(x[0], {1, 3, 0, 1}, x[0].dimension() - 1);
                   },
               .errors = {error("sizes do not sum to the dim", {{2, 3}},
                                [](const auto& x) {
                                    tg::split(x, Sizes{1, 1}, 1);
                                },
                                Expect::Shape, {"split", "[1, 1]", "[2, 3]", "size 3"}),
                          error("a negative size", {{2, 3}},
                                [](const auto& x) {
                                    tg::split(x, Sizes{4, -1}, 1);
                                },
                                Expect::Value, {"split", "[4, -1]", "[2, 3]"})}},
        OpInfo{.name = "chunk (3 chunks, dim 0; pieces weighted and joined)",
               .op = "chunk",
               .fn = op([](const auto& in) { return weighted_concat(tg::chunk(in[0], 3, 0), 0); }),
               .cases = {{{5, 2}}, {{6}}, {{2, 3}}, {{0, 2}}, {{7}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       const std::size_t n = x[0].shape()[0];
                       return weighted_ref(x[0], even_sizes(n, (n + 2) / 3), 0);
                   },
               .errors = {error("chunks 0", {{2, 3}}, [](const auto& x) { tg::chunk(x, 0, 0); }, Expect::Value,
                                {"chunk", "chunks is 0", "[2, 3]"}),
                          error("dim out of range", {{2, 3}}, [](const auto& x) { tg::chunk(x, 3, 2); }, Expect::Value,
                                {"chunk", "dim 2", "[2, 3]"})}},
        OpInfo{.name = "narrow (dim 1, start -3, length 2)",
               .op = "narrow",
               .readme = {"`narrow(x, dim, start, length)`",
                          "length elements from start along dim (checked, not clamped); composed: slice",
                          "dx = g placed at [start, start + length), 0 elsewhere"},
               .fn = op([](const auto& in) { return tg::narrow(in[0], 1, -3, 2); }),
               .cases = {{{2, 4}}, {{1, 3}}, {{0, 5}}, {{2, 3, 2}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       Shape s = ref::shape_of(x[0]);
                       const std::size_t start = s[1] - 3;
                       s[1] = 2;
                       return gather(x[0], s, [start](Index idx) {
                           idx[1] += start;
                           return std::optional<Index>(idx);
                       });
                   },
               .errors = {error("start out of range", {{2, 3}}, [](const auto& x) { tg::narrow(x, 1, 4, 0); },
                                Expect::Value, {"narrow", "start 4", "[2, 3]"}),
                          error("length past the end", {{2, 3}}, [](const auto& x) { tg::narrow(x, 1, 1, 3); },
                                Expect::Value, {"narrow", "length 3", "[2, 3]"}),
                          error("negative length", {{2, 3}}, [](const auto& x) { tg::narrow(x, 0, 0, -1); },
                                Expect::Value, {"narrow", "length -1", "[2, 3]"})}},
        OpInfo{.name = "roll (shifts {1, -2}, dims {0, -1})",
               .op = "roll",
               .readme = {"`roll(x, shifts[, dims])`",
                          "elements shifted cyclically along dims (flattened without dims); composed: slice, concat",
                          "dx = roll(g, -shifts, dims)"},
               .fn = op([](const auto& in) {
                   return tg::roll(in[0], {1, -2}, {0, -1});
               }),
               .cases = {{{3, 4}}, {{2, 1}}, {{0, 3}}, {{1, 5}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       const Index s = ref::shape_of(x[0]);
                       return gather(x[0], s, [&s](Index idx) {
                           idx[0] = static_cast<std::size_t>(wrap(static_cast<std::int64_t>(idx[0]) - 1, s[0]));
                           idx[1] = static_cast<std::size_t>(wrap(static_cast<std::int64_t>(idx[1]) + 2, s[1]));
                           return std::optional<Index>(idx);
                       });
                   },
               .errors = {error("shifts and dims differ in length", {{2, 3}},
                                [](const auto& x) {
                                    tg::roll(x, {1, 2}, {0});
                                },
                                Expect::Value, {"roll", "[1, 2]", "[0]", "[2, 3]"}),
                          error("dim out of range", {{2, 3}}, [](const auto& x) { tg::roll(x, {1}, {2}); },
                                Expect::Value, {"roll", "dim 2", "[2, 3]"}),
                          error("several shifts without dims", {{2, 3}},
                                [](const auto& x) {
                                    tg::roll(x, {1, 2});
                                },
                                Expect::Value, {"roll", "[1, 2]", "[2, 3]"})}},
        OpInfo{.name = "roll (flattened, shift 5)",
               .op = "roll",
               .fn = op([](const auto& in) { return tg::roll(in[0], {5}); }),
               .cases = {{{2, 3}}, {{}}, {{4}}, {{0, 2}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       Array out = x[0];
                       const auto n = static_cast<std::int64_t>(x[0].size());
                       for (std::int64_t k = 0; k < n; ++k) {
                           out.data()[static_cast<std::size_t>(k)] =
                               x[0].data()[static_cast<std::size_t>(wrap(k - 5, n))];
                       }
                       return out;
                   }},
    };
}

std::vector<OpInfo> arranging_rows() {
    return {
        OpInfo{.name = "flip ({0, -1})",
               .op = "flip",
               .readme = {"`flip(x, dims)`", "reversed along dims", "dx = flip(g, dims)"},
               .fn = op([](const auto& in) {
                   return tg::flip(in[0], {0, -1});
               }),
               .cases = {{{2, 3}}, {{3, 1, 2}}, {{2, 0}}, {{1, 1}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       const Index s = ref::shape_of(x[0]);
                       return gather(x[0], s, [&s](Index idx) {
                           idx[0] = s[0] - 1 - idx[0];
                           idx.back() = s.back() - 1 - idx.back();
                           return std::optional<Index>(idx);
                       });
                   },
               .errors = {error("a dim twice", {{2, 3}},
                                [](const auto& x) {
                                    tg::flip(x, {1, -1});
                                },
                                Expect::Value, {"flip", "[1, -1]", "[2, 3]"}),
                          error("dim out of range", {{2, 3}}, [](const auto& x) { tg::flip(x, {2}); }, Expect::Value,
                                {"flip", "dim 2", "[2, 3]"})}},
        OpInfo{.name = "flip (no dims)",
               .op = "flip",
               .fn = op([](const auto& in) { return tg::flip(in[0], {}); }),
               .cases = {{{}}, {{3}}},
               .reference = [](const std::vector<Array>& x) { return x[0]; }},
        OpInfo{
            .name = "diagonal (offset 0, dims 0, 1)",
            .op = "diagonal",
            .readme = {"`diagonal(x, offset, dim1, dim2)`",
                       "the diagonal of the (dim1, dim2) planes, moved to the last dim",
                       "dx = g placed on the diagonal, 0 elsewhere"},
            .fn = op([](const auto& in) { return tg::diagonal(in[0]); }),
            .cases = {{{3, 3}}, {{2, 4}}, {{4, 2, 2}}, {{0, 3}}, {{1, 1}}},
            .reference = [](const std::vector<Array>& x) { return diagonal_ref(x[0], 0, 0, 1); },
            .errors = {error("dim1 and dim2 the same dim", {{2, 3}}, [](const auto& x) { tg::diagonal(x, 0, 1, -1); },
                             Expect::Value, {"diagonal", "dim1", "[2, 3]"}),
                       error("1-D x", {{3}}, [](const auto& x) { tg::diagonal(x); }, Expect::Value,
                             {"diagonal", "dim 1", "[3]"})}},
        OpInfo{.name = "diagonal (offset -1, dims 1, -1)",
               .op = "diagonal",
               .fn = op([](const auto& in) { return tg::diagonal(in[0], -1, 1, -1); }),
               .cases = {{{2, 3, 4}}, {{2, 4, 2}}, {{3, 2, 1}}},
               .reference = [](const std::vector<Array>& x) { return diagonal_ref(x[0], -1, 1, 2); }},
        OpInfo{.name = "diagonal (offset 2, dims -1, 0)",
               .op = "diagonal",
               .fn = op([](const auto& in) { return tg::diagonal(in[0], 2, -1, 0); }),
               .cases = {{{3, 2, 4}}, {{5, 3}}},
               .reference = [](const std::vector<Array>& x) { return diagonal_ref(x[0], 2, x[0].dimension() - 1, 0); }},
        OpInfo{.name = "tril (diagonal 0)",
               .op = "tril",
               .readme = {"`tril(x, diagonal)`, `triu(x, diagonal)`",
                          "the lower / upper triangle of the last two dims, 0 elsewhere",
                          "dx = tril(g, diagonal) / triu(g, diagonal)"},
               .fn = op([](const auto& in) { return tg::tril(in[0]); }),
               .cases = {{{3, 3}}, {{2, 3, 4}}, {{1, 1}}, {{0, 3}}},
               .reference = [](const std::vector<Array>& x) { return triangle_ref(x[0], 0, true); },
               .errors = {error("1-D x", {{3}}, [](const auto& x) { tg::tril(x); }, Expect::Shape,
                                {"tril", "[3]", "2 dims"})}},
        OpInfo{.name = "tril (diagonal -1)",
               .op = "tril",
               .fn = op([](const auto& in) { return tg::tril(in[0], -1); }),
               .cases = {{{3, 4}}, {{4, 2}}},
               .reference = [](const std::vector<Array>& x) { return triangle_ref(x[0], -1, true); }},
        OpInfo{.name = "triu (diagonal 0)",
               .op = "triu",
               .fn = op([](const auto& in) { return tg::triu(in[0]); }),
               .cases = {{{3, 3}}, {{2, 4, 3}}, {{1, 1}}},
               .reference = [](const std::vector<Array>& x) { return triangle_ref(x[0], 0, false); },
               .errors = {error("0-d x", {{}}, [](const auto& x) { tg::triu(x); }, Expect::Shape,
                                {"triu", "[]", "2 dims"})}},
        OpInfo{.name = "triu (diagonal 1)",
               .op = "triu",
               .fn = op([](const auto& in) { return tg::triu(in[0], 1); }),
               .cases = {{{3, 4}}, {{4, 2}}},
               .reference = [](const std::vector<Array>& x) { return triangle_ref(x[0], 1, false); }},
    };
}

std::vector<OpInfo> layout_rows() {
    auto rows = reshaping_rows();
    for (auto& row : cutting_rows()) rows.push_back(std::move(row));
    for (auto& row : arranging_rows()) rows.push_back(std::move(row));
    return rows;
}

const RegisterFamily registered{{.name = "layout", .order = 25, .rows = layout_rows}};

}  // namespace

}  // namespace optable
