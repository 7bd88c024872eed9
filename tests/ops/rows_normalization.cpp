// Rows for the normalisation ops of ops/normalization.hpp: layer_norm, rms_norm, group_norm and
// batch_norm. The references are plain loops in long double: each group's mean, then its biased
// variance from the deviations (two passes), then (x - mean) / sqrt(var + eps) and the affine part.
// Inputs around 1e6 (float32 against this reference) and batch_norm's running statistics are
// tested in normalization_test.cpp.
#include <cmath>
#include <cstdint>
#include <vector>

#include "op_table.hpp"
#include "reference.hpp"

namespace optable {

namespace {

/// x seen as [outer, groups, inner], standardised per group (over outer and inner).
Array standardize_ref(const Array& x, std::size_t groups, std::size_t inner, bool center, double eps) {
    Array out = ref::empty(ref::shape_of(x));
    const std::size_t outer = groups * inner == 0 ? 0 : x.size() / (groups * inner);
    for (std::size_t b = 0; b < groups; ++b) {
        auto at = [&](std::size_t a, std::size_t c) { return (a * groups + b) * inner + c; };
        const auto n = static_cast<long double>(outer * inner);
        long double mean = 0, var = 0;
        if (center) {
            for (std::size_t a = 0; a < outer; ++a)
                for (std::size_t c = 0; c < inner; ++c) mean += x.data()[at(a, c)];
            mean /= n;
        }
        for (std::size_t a = 0; a < outer; ++a)
            for (std::size_t c = 0; c < inner; ++c) var += (x.data()[at(a, c)] - mean) * (x.data()[at(a, c)] - mean);
        var /= n;
        for (std::size_t a = 0; a < outer; ++a)
            for (std::size_t c = 0; c < inner; ++c)
                out.data()[at(a, c)] = static_cast<double>((x.data()[at(a, c)] - mean) / std::sqrt(var + eps));
    }
    return out;
}

/// y w + b, w and b of shape `as` (broadcast against y); inputs past `first` are w then b. A y
/// with no elements is returned as it is (ref::zip broadcasts a size-0 dim against 1 to 1).
Array affine_ref(Array y, const std::vector<Array>& in, std::size_t first, std::size_t count, const ref::Index& as) {
    if (y.size() == 0) return y;
    for (std::size_t i = first; i < first + count && i < in.size(); ++i) {
        Array p = in[i];
        p.reshape(as);
        y = ref::zip(y, p, [i, first](double v, double q) { return i == first ? v * q : v + q; });
    }
    return y;
}

std::size_t product(const ref::Index& s, std::size_t from, std::size_t to) {
    std::size_t n = 1;
    for (std::size_t i = from; i < to; ++i) n *= s[i];
    return n;
}

/// [C, 1, ..., 1] against x [N, C, *].
ref::Index channel_shape(const Array& x) {
    ref::Index s(x.dimension() - 1, 1);
    s[0] = x.shape()[1];
    return s;
}

/// layer_norm / rms_norm over the trailing dims of the weight's rank (or the last dim without one).
Array trailing_ref(const std::vector<Array>& in, bool center, double eps, std::size_t affine_count) {
    const Array& x = in[0];
    const std::size_t k = in.size() > 1 ? in[1].dimension() : 1, nd = x.dimension();
    const ref::Index s = ref::shape_of(x);
    const Array y = standardize_ref(x, product(s, 0, nd - k), product(s, nd - k, nd), center, eps);
    const ref::Index ns(s.begin() + static_cast<std::ptrdiff_t>(nd - k), s.end());
    return affine_ref(y, in, 1, affine_count, ns);
}

Array group_norm_ref(const std::vector<Array>& in, std::size_t groups) {
    const Array& x = in[0];
    const ref::Index s = ref::shape_of(x);
    const Array y = standardize_ref(x, s[0] * groups, s[1] / groups * product(s, 2, s.size()), true, 1e-5);
    return affine_ref(y, in, 1, 2, channel_shape(x));
}

Array batch_norm_train_ref(const std::vector<Array>& in) {
    const Array& x = in[0];
    const ref::Index s = ref::shape_of(x);
    return affine_ref(standardize_ref(x, s[1], product(s, 2, s.size()), true, 1e-5), in, 1, 2, channel_shape(x));
}

/// (x - rm) / sqrt(rv + eps) w + b; inputs x, rm, rv, w, b.
Array batch_norm_eval_ref(const std::vector<Array>& in) {
    const Array& x = in[0];
    const ref::Index s = ref::shape_of(x), cs = channel_shape(x);
    Array rm = in[1], rv = in[2];
    rm.reshape(cs);
    rv.reshape(cs);
    const Array centred = ref::zip(x, rm, [](double v, double m) { return v - m; });
    const Array y = ref::zip(centred, rv, [](double v, double var) { return v / std::sqrt(var + 1e-5); });
    return affine_ref(y, in, 3, 2, cs);
}

/// normalized_shape = the weight's shape (the row's second input).
template <class X>
std::vector<std::int64_t> trailing_of(const X& w) {
    return std::vector<std::int64_t>(w.shape().begin(), w.shape().end());
}

std::vector<OpInfo> layer_rms_rows() {
    return {
        OpInfo{.name = "layer_norm (weight, bias)",
               .op = "layer_norm",
               .readme = {"`layer_norm(x, normalized_shape[, w, b, eps])`",
                          "(x - mean) / √(var + eps) w + b over the trailing dims, var biased, two passes",
                          "dx = r (g' - mean(g') - x̂ mean(g' x̂)), g' = g w, r = 1/√(var + eps); dw = Σ g x̂; db = Σ g"},
               .fn = op([](const auto& in) { return tg::layer_norm(in[0], trailing_of(in[1]), in[1], in[2]); }),
               .cases = {{{2, 5}, {5}, {5}},
                         {{3, 2, 4}, {2, 4}, {2, 4}},
                         {{4}, {4}, {4}},
                         {{3, 1}, {1}, {1}},
                         {{0, 3}, {3}, {3}}},
               .reference = [](const std::vector<Array>& x) { return trailing_ref(x, true, 1e-5, 2); },
               .errors = {error_case("normalized_shape not the trailing dims", {{2, 3}},
                                     [](const tg::TensorD& x) { tg::layer_norm(x, {2}); }, Expect::Shape,
                                     {"layer_norm", "normalized_shape [2]", "[2, 3]"}),
                          error_case("normalized_shape longer than x", {{3}},
                                     [](const tg::TensorD& x) {
                                         tg::layer_norm(x, {1, 3});
                                     },
                                     Expect::Shape, {"layer_norm", "normalized_shape [1, 3]", "[3]"}),
                          error_case(
                              "weight of the wrong shape", {{2, 3}, {2}},
                              [](const tg::TensorD& x) { tg::layer_norm(x, {3}, tg::TensorD(tg::ones<double>({2}))); },
                              Expect::Shape, {"layer_norm", "weight", "[2]", "[3]"}),
                          error_case("bias of the wrong shape", {{2, 3}},
                                     [](const tg::TensorD& x) {
                                         tg::layer_norm(x, {3}, {}, tg::ones<double>({1, 3}));
                                     },
                                     Expect::Shape, {"layer_norm", "bias", "[1, 3]", "[3]"}),
                          error_case("negative eps", {{2, 3}},
                                     [](const tg::TensorD& x) { tg::layer_norm(x, {3}, {}, {}, -1); }, Expect::Value,
                                     {"layer_norm", "eps = -1"})}},
        OpInfo{.name = "layer_norm (no affine, last dim)",
               .op = "layer_norm",
               .fn = op([](const auto& in) {
                   return tg::layer_norm(in[0], {static_cast<std::int64_t>(in[0].shape().back())});
               }),
               .cases = {{{2, 3, 4}}, {{6}}, {{2, 1}}},
               .reference = [](const std::vector<Array>& x) { return trailing_ref(x, true, 1e-5, 0); }},
        OpInfo{.name = "rms_norm (weight, eps 1e-6)",
               .op = "rms_norm",
               .readme = {"`rms_norm(x, normalized_shape[, w, eps])`",
                          "x / √(mean(x²) + eps) w over the trailing dims (eps: the dtype's epsilon by default)",
                          "dx = r (g' - x̂ mean(g' x̂)), g' = g w, r = 1/√(mean(x²) + eps); dw = Σ g x̂"},
               .fn = op([](const auto& in) { return tg::rms_norm(in[0], trailing_of(in[1]), in[1], 1e-6); }),
               .cases = {{{2, 5}, {5}}, {{3, 2, 4}, {2, 4}}, {{3, 1}, {1}}, {{0, 2}, {2}}},
               .reference = [](const std::vector<Array>& x) { return trailing_ref(x, false, 1e-6, 1); },
               .errors = {error_case("normalized_shape not the trailing dims", {{2, 3}},
                                     [](const tg::TensorD& x) {
                                         tg::rms_norm(x, {2, 2});
                                     },
                                     Expect::Shape, {"rms_norm", "normalized_shape [2, 2]", "[2, 3]"}),
                          error_case("weight of the wrong shape", {{2, 3}},
                                     [](const tg::TensorD& x) { tg::rms_norm(x, {3}, tg::ones<double>({4})); },
                                     Expect::Shape, {"rms_norm", "weight", "[4]", "[3]"})}},
        OpInfo{.name = "rms_norm (no weight, default eps)",
               .op = "rms_norm",
               .fn = op([](const auto& in) {
                   return tg::rms_norm(in[0], {static_cast<std::int64_t>(in[0].shape().back())});
               }),
               .cases = {{{2, 3, 4}}, {{5}}},
               // float64's epsilon; float32's (1.2e-7 against mean(x²) ~ 1) moves y by less than fwd32.
               .reference = [](const std::vector<Array>& x) { return trailing_ref(x, false, 0x1p-52, 0); }},
    };
}

std::vector<OpInfo> group_batch_rows() {
    const Domain positive{0.5, 2.0};
    return {
        OpInfo{.name = "group_norm (2 groups, weight, bias)",
               .op = "group_norm",
               .readme = {"`group_norm(x, num_groups[, w, b, eps])`",
                          "per sample and group of channels of x [N, C, *]: (x - mean) / √(var + eps) w[c] + b[c]",
                          "as layer_norm over each group; dw[c] = Σ g x̂, db[c] = Σ g over N and *"},
               .fn = op([](const auto& in) { return tg::group_norm(in[0], 2, in[1], in[2]); }),
               .cases = {{{2, 4, 3}, {4}, {4}}, {{3, 2}, {2}, {2}}, {{1, 4, 2, 2}, {4}, {4}}, {{0, 2, 3}, {2}, {2}}},
               .reference = [](const std::vector<Array>& x) { return group_norm_ref(x, 2); },
               .errors = {error_case("channels not divisible by the groups", {{2, 3, 2}},
                                     [](const tg::TensorD& x) { tg::group_norm(x, 2); }, Expect::Value,
                                     {"group_norm", "num_groups = 2", "3 channels", "[2, 3, 2]"}),
                          error_case("no groups", {{2, 4}}, [](const tg::TensorD& x) { tg::group_norm(x, 0); },
                                     Expect::Value, {"group_norm", "num_groups = 0"}),
                          error_case("x of rank 1", {{4}}, [](const tg::TensorD& x) { tg::group_norm(x, 2); },
                                     Expect::Shape, {"group_norm", "x", "[4]"}),
                          error_case("weight of the wrong shape", {{2, 4}},
                                     [](const tg::TensorD& x) { tg::group_norm(x, 2, tg::ones<double>({2})); },
                                     Expect::Shape, {"group_norm", "weight", "[2]", "[4]"}),
                          error_case("bias of the wrong shape", {{2, 4, 3}},
                                     [](const tg::TensorD& x) {
                                         tg::group_norm(x, 2, {}, tg::ones<double>({4, 1}));
                                     },
                                     Expect::Shape, {"group_norm", "bias", "[4, 1]", "[4]"})}},
        OpInfo{.name = "group_norm (one channel per group)",
               .op = "group_norm",
               .fn = op([](const auto& in) { return tg::group_norm(in[0], 3, in[1], in[2]); }),
               .cases = {{{2, 3, 4}, {3}, {3}}, {{2, 3, 1, 2}, {3}, {3}}},
               .reference = [](const std::vector<Array>& x) { return group_norm_ref(x, 3); }},
        OpInfo{
            .name = "batch_norm (training, weight, bias)",
            .op = "batch_norm",
            .readme = {"`batch_norm(x, running_mean, running_var[, w, b, training, momentum, eps])`",
                       "per channel of x [N, C, *]: batch statistics in training (running ones updated, "
                       "unbiased var), running ones in eval",
                       "training: as layer_norm over N and *; eval: dx = g w / √(running_var + eps); "
                       "dw[c] = Σ g x̂, db[c] = Σ g"},
            .fn = op([](const auto& in) { return tg::batch_norm(in[0], {}, {}, in[1], in[2], true); }),
            .cases = {{{4, 3}, {3}, {3}}, {{2, 3, 2}, {3}, {3}}, {{2, 2, 2, 2}, {2}, {2}}, {{2, 1}, {1}, {1}}},
            .reference = batch_norm_train_ref,
            .errors =
                {error_case("one value per channel when training", {{1, 3}},
                            [](const tg::TensorD& x) { tg::batch_norm(x, {}, {}, {}, {}, true); }, Expect::Value,
                            {"batch_norm", "more than 1 value per channel", "[1, 3]"}),
                 error_case("running_mean of the wrong size", {{2, 3}},
                            [](const tg::TensorD& x) {
                                tg::batch_norm(x, tg::zeros<double>({2}), tg::ones<double>({3}), {}, {}, true);
                            },
                            Expect::Shape, {"batch_norm", "running_mean", "[2]", "[3]"}),
                 error_case(
                     "running_var of the wrong size", {{2, 3, 2}},
                     [](const tg::TensorD& x) { tg::batch_norm(x, tg::zeros<double>({3}), tg::ones<double>({6})); },
                     Expect::Shape, {"batch_norm", "running_var", "[6]", "[3]"}),
                 error_case("weight of the wrong shape", {{2, 3}},
                            [](const tg::TensorD& x) { tg::batch_norm(x, {}, {}, tg::ones<double>({2}), {}, true); },
                            Expect::Shape, {"batch_norm", "weight", "[2]", "[3]"}),
                 error_case("bias of the wrong shape", {{2, 3}},
                            [](const tg::TensorD& x) { tg::batch_norm(x, {}, {}, {}, tg::ones<double>({4}), true); },
                            Expect::Shape, {"batch_norm", "bias", "[4]", "[3]"}),
                 error_case("eval without running statistics", {{2, 3}},
                            [](const tg::TensorD& x) { tg::batch_norm(x, {}, {}); }, Expect::Value,
                            {"batch_norm", "running_mean", "[2, 3]"}),
                 error_case("x of rank 1", {{3}}, [](const tg::TensorD& x) { tg::batch_norm(x, {}, {}, {}, {}, true); },
                            Expect::Shape, {"batch_norm", "x", "[3]"})}},
        OpInfo{.name = "batch_norm (training, running statistics given, no affine)",
               .op = "batch_norm",
               .fn = op([](const auto& in) {
                   using T = typename std::decay_t<decltype(in[0])>::value_type;
                   const std::size_t c = in[0].shape()[1];
                   return tg::batch_norm(in[0], tg::zeros<T>({c}), tg::ones<T>({c}), {}, {}, true);
               }),
               .cases = {{{3, 2}}, {{2, 3, 3}}},
               .reference = batch_norm_train_ref},
        OpInfo{.name = "batch_norm (eval: running statistics, weight, bias)",
               .op = "batch_norm",
               .fn = op([](const auto& in) { return tg::batch_norm(in[0], in[1], in[2], in[3], in[4], false); }),
               .cases = {{{4, 3}, {3}, {3}, {3}, {3}}, {{2, 2, 3}, {2}, {2}, {2}, {2}}, {{1, 2}, {2}, {2}, {2}, {2}}},
               .domains = {Domain{}, Domain{}, positive, Domain{}, Domain{}},
               .reference = batch_norm_eval_ref},
    };
}

std::vector<OpInfo> normalization_rows() {
    auto rows = layer_rms_rows();
    for (auto& row : group_batch_rows()) rows.push_back(std::move(row));
    return rows;
}

const RegisterFamily registered{{.name = "normalization", .order = 34, .rows = normalization_rows}};

}  // namespace

}  // namespace optable
