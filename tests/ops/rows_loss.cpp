// Rows for the elementwise and per-sample losses (ops/loss.hpp): mse, half_sum_squares, l1,
// smooth_l1, huber, the binary cross-entropies with their weights, kl_div, cosine_embedding and
// margin_ranking; each with every reduction it takes. The classification losses are in
// rows_loss_class.cpp.
#include <cmath>

#include "loss_rows.hpp"

namespace optable {

namespace {

using namespace loss;
const Domain probability{0.05, 0.95};
const Domain unit{0.0, 1.0};
const Domain positive{0.2, 2.0};
const std::vector<std::vector<Shape>> pair_cases = {{{2, 3}, {2, 3}}, {{4}, {4}}, {{}, {}}, {{0, 3}, {0, 3}}};

// f(a, b) per element, reduced over all elements.
template <class F>
Array elementwise_loss(const Array& a, const Array& b, Reduction r, F f) {
    Array terms = ref::empty(ref::shape_of(a));
    for (std::size_t i = 0; i < a.size(); ++i) terms.data()[i] = f(a.data()[i], b.data()[i]);
    return reduce_by(r, terms, static_cast<double>(a.size()));
}

// x at the i-th element of a tensor of shape `shape`, x broadcast to it (trailing alignment).
double broadcast_at(const Array& x, const ref::Index& shape, std::size_t i) {
    const ref::Index idx = ref::unravel(i, shape);
    const ref::Index sx = ref::shape_of(x);
    ref::Index at(sx.size());
    for (std::size_t d = 0; d < sx.size(); ++d) at[d] = sx[d] == 1 ? 0 : idx[idx.size() - sx.size() + d];
    return x.data()[ref::ravel(at, sx)];
}

// Mean of an empty input is NaN, which no reference comparison accepts: Mean rows keep the
// non-empty cases (numeric_edges_test checks the NaN).
std::vector<std::vector<Shape>> cases_for(Reduction r, std::vector<std::vector<Shape>> cases) {
    if (r == Reduction::Mean) std::erase_if(cases, [](const auto& c) { return ref::count(c[0]) == 0; });
    return cases;
}

// A row for a loss of two same-shaped inputs `call(a, b, reduction)` whose terms are term(a, b)
// per element, with the shape-mismatch and BatchMean error rows and its own.
template <class Call, class F>
OpInfo pair_row(const std::string& name, Reduction r, ReadmeLine line, Call call, F term,
                std::vector<ErrorCase> extra = {}) {
    std::vector<ErrorCase> errors = {
        mismatch(name, [call, r](const Inputs64& in) { call(in[0], in[1], r); }),
        batchmean_refused(name, [call](const Inputs64& in) { call(in[0], in[1], Reduction::BatchMean); })};
    errors.insert(errors.end(), extra.begin(), extra.end());
    return OpInfo{.name = fmt::format("{} ({})", name, suffix(r)),
                  .op = name,
                  .readme = mean_only(r, std::move(line)),
                  .fn = op([call, r](const auto& in) { return call(in[0], in[1], r); }),
                  .cases = cases_for(r, pair_cases),
                  .reference = [r, term](const std::vector<Array>& x) { return elementwise_loss(x[0], x[1], r, term); },
                  .errors = std::move(errors)};
}

std::vector<OpInfo> regression_rows(Reduction r) {
    auto smooth = [](double beta) {
        return [beta](double p, double t) {
            const double d = std::abs(p - t);
            return beta == 0 ? d : d < beta ? 0.5 * d * d / beta : d - 0.5 * beta;
        };
    };
    auto huber = [](double p, double t) {
        const double d = std::abs(p - t);
        return d < 1.5 ? 0.5 * d * d : 1.5 * (d - 0.75);
    };
    std::vector<OpInfo> rows = {
        pair_row(
            "mse_loss", r, {"`mse_loss(p, t)`", "mean (p - t)²", "dp = 2 (p - t) / n"},
            [](const auto& a, const auto& b, Reduction red) { return tg::mse_loss(a, b, red); },
            [](double p, double t) { return (p - t) * (p - t); }),
        OpInfo{
            .name = fmt::format("half_sum_squares ({})", suffix(r)),
            .op = "half_sum_squares",
            .readme = mean_only(r, {"`half_sum_squares(p, t)`",
                                    "½ Σ (p - t)², per sample (the classic backpropagation cost)", "dp = p - t"}),
            .fn = op([r](const auto& in) { return tg::half_sum_squares(in[0], in[1], r); }),
            .cases = {{{2, 3}, {2, 3}}, {{4, 1}, {4, 1}}},
            .reference =
                [r](const std::vector<Array>& x) {
                    const std::size_t batch = x[0].shape()[0], width = x[0].size() / batch;
                    Array rows = ref::empty({batch});
                    for (std::size_t i = 0; i < batch; ++i) {
                        double row = 0;
                        for (std::size_t j = 0; j < width; ++j) {
                            const double d = x[0].data()[i * width + j] - x[1].data()[i * width + j];
                            row += 0.5 * d * d;
                        }
                        rows(i) = row;
                    }
                    return reduce_by(r, rows, static_cast<double>(batch));
                },
            .errors = {mismatch("half_sum_squares", [r](const Inputs64& in) { tg::half_sum_squares(in[0], in[1], r); }),
                       batchmean_refused(
                           "half_sum_squares",
                           [](const Inputs64& in) { tg::half_sum_squares(in[0], in[1], Reduction::BatchMean); })}},
        pair_row(
            "l1_loss", r, {"`l1_loss(p, t)`", "mean \\|p - t\\|", "dp = sign(p - t) / n"},
            [](const auto& a, const auto& b, Reduction red) { return tg::l1_loss(a, b, red); },
            [](double p, double t) { return std::abs(p - t); }),
        pair_row("smooth_l1_loss", r,
                 {"`smooth_l1_loss(p, t, reduction, beta)`",
                  "d = p - t: ½ d²/beta where \\|d\\| < beta, else \\|d\\| - ½ beta (beta = 0: l1); composed: clamp",
                  "dp = clamp(d / beta, -1, 1) / n"},
                 [](const auto& a, const auto& b, Reduction red) { return tg::smooth_l1_loss(a, b, red, 0.5); },
                 smooth(0.5),
                 {{"negative beta",
                   {{2}, {2}},
                   [](const Inputs64& in) { tg::smooth_l1_loss(in[0], in[1], Reduction::Mean, -1.0); },
                   Expect::Value,
                   {"smooth_l1_loss", "beta", "-1"}}}),
        pair_row("huber_loss", r,
                 {"`huber_loss(p, t, reduction, delta)`",
                  "½ d² where \\|d\\| < delta, else delta (\\|d\\| - ½ delta); composed: clamp",
                  "dp = clamp(d, -delta, delta) / n"},
                 [](const auto& a, const auto& b, Reduction red) { return tg::huber_loss(a, b, red, 1.5); }, huber,
                 {{"delta 0",
                   {{2}, {2}},
                   [](const Inputs64& in) { tg::huber_loss(in[0], in[1], Reduction::Mean, 0.0); },
                   Expect::Value,
                   {"huber_loss", "delta", "0"}}}),
    };
    if (r == Reduction::Mean) {  // the limits: beta = 0 is l1, beta = 1 is PyTorch's default
        for (double beta : {0.0, 1.0}) {
            OpInfo row = pair_row(
                "smooth_l1_loss", r, {},
                [beta](const auto& a, const auto& b, Reduction red) { return tg::smooth_l1_loss(a, b, red, beta); },
                smooth(beta));
            row.name = fmt::format("smooth_l1_loss (beta {}, mean)", beta);
            rows.push_back(std::move(row));
        }
    }
    return rows;
}

// -w (y log p + (1 - y) log(1 - p)), w broadcast: inputs p, y, then w when weighted.
Array bce_ref(const std::vector<Array>& x, Reduction r) {
    Array terms = ref::empty(ref::shape_of(x[0]));
    for (std::size_t i = 0; i < terms.size(); ++i) {
        const double p = x[0].data()[i], y = x[1].data()[i];
        const double w = x.size() > 2 ? broadcast_at(x[2], ref::shape_of(x[0]), i) : 1.0;
        terms.data()[i] = -w * (y * std::log(p) + (1 - y) * std::log(1 - p));
    }
    return reduce_by(r, terms, static_cast<double>(terms.size()));
}

// w ((1 - y) z + (1 + (pw - 1) y) log(1 + e^-z)): inputs z, y, then w and pw when given.
Array bce_logits_ref(const std::vector<Array>& x, Reduction r) {
    const ref::Index shape = ref::shape_of(x[0]);
    Array terms = ref::empty(shape);
    for (std::size_t i = 0; i < terms.size(); ++i) {
        const double z = x[0].data()[i], y = x[1].data()[i];
        const double w = x.size() > 2 ? broadcast_at(x[2], shape, i) : 1.0;
        const double pw = x.size() > 3 ? broadcast_at(x[3], shape, i) : 1.0;
        terms.data()[i] = w * ((1 - y) * z + (1 + (pw - 1) * y) * std::log1p(std::exp(-z)));
    }
    return reduce_by(r, terms, static_cast<double>(terms.size()));
}

std::vector<OpInfo> binary_rows(Reduction r) {
    const std::string bce = "binary_cross_entropy", logits = "binary_cross_entropy_with_logits";
    auto bce_call = [](const auto& p, const auto& y, Reduction red) { return tg::binary_cross_entropy(p, y, red); };
    auto logits_call = [](const auto& z, const auto& y, Reduction red) {
        return tg::binary_cross_entropy_with_logits(z, y, red);
    };
    OpInfo plain_bce =
        pair_row(bce, r,
                 {"`binary_cross_entropy(p, y[, weight])`", "-w (y log p + (1-y) log(1-p)), logs clamped at -100",
                  "dp = g w (p - y) / max(p(1-p), 1e-12)"},
                 bce_call, [](double p, double y) { return -(y * std::log(p) + (1 - y) * std::log(1 - p)); },
                 {{"p outside [0, 1]",
                   {{2}},
                   [r](const Inputs64& in) {
                       tg::binary_cross_entropy(tg::TensorD({0.5, 1.5}), in[0], r);
                   },
                   Expect::Value,
                   {bce, "p", "1.5"}}});
    plain_bce.domains = {probability, unit};
    OpInfo plain_logits = pair_row(
        logits, r,
        {"`binary_cross_entropy_with_logits(z, y[, weight, pos_weight])`",
         "w ((1 - y) z + (1 + (pw - 1) y) softplus(-z)), stable", "dz = g w ((1 - y) - (1 + (pw - 1) y) sigmoid(-z))"},
        logits_call, [](double z, double y) { return std::log1p(std::exp(z)) - y * z; });
    plain_logits.domains = {Domain{-3.0, 3.0}, unit};
    return {
        std::move(plain_bce),
        std::move(plain_logits),
        OpInfo{.name = fmt::format("binary_cross_entropy (weight, {})", suffix(r)),
               .op = bce,
               .fn = op([r](const auto& in) { return tg::binary_cross_entropy(in[0], in[1], in[2], r); }),
               .cases = {{{2, 3}, {2, 3}, {3}}, {{2, 3}, {2, 3}, {2, 3}}, {{4}, {4}, {1}}, {{}, {}, {}}},
               .domains = {probability, unit, positive},
               .reference = [r](const std::vector<Array>& x) { return bce_ref(x, r); },
               .errors = {{"weight that does not broadcast to p",
                           {{2, 3}, {2, 3}, {2}},
                           [r](const Inputs64& in) { tg::binary_cross_entropy(in[0], in[1], in[2], r); },
                           Expect::Shape,
                           {bce, "weight", "[2]", "[2, 3]"}}}},
        OpInfo{
            .name = fmt::format("binary_cross_entropy_with_logits (weight, pos_weight, {})", suffix(r)),
            .op = logits,
            .fn =
                op([r](const auto& in) { return tg::binary_cross_entropy_with_logits(in[0], in[1], in[2], in[3], r); }),
            .cases = {{{2, 3}, {2, 3}, {2, 3}, {3}}, {{4}, {4}, {1}, {4}}, {{}, {}, {}, {}}},
            .domains = {Domain{-3.0, 3.0}, unit, positive, Domain{0.5, 3.0}},
            .reference = [r](const std::vector<Array>& x) { return bce_logits_ref(x, r); },
            .errors = {{"weight larger than z",
                        {{3}, {3}, {2, 3}},
                        [r](const Inputs64& in) { tg::binary_cross_entropy_with_logits(in[0], in[1], in[2], {}, r); },
                        Expect::Shape,
                        {logits, "weight", "[2, 3]", "[3]"}},
                       {"pos_weight not along the last dim",
                        {{2, 3}, {2, 3}, {2}},
                        [r](const Inputs64& in) {
                            tg::binary_cross_entropy_with_logits(in[0], in[1], tg::TensorD(), in[2], r);
                        },
                        Expect::Shape,
                        {logits, "pos_weight", "[2]", "[2, 3]"}}}},
        OpInfo{
            .name = fmt::format("binary_cross_entropy_with_logits (pos_weight only, {})", suffix(r)),
            .op = logits,
            .fn = op([r](const auto& in) { return tg::binary_cross_entropy_with_logits(in[0], in[1], {}, in[2], r); }),
            .cases = {{{3, 2}, {3, 2}, {2}}},
            .domains = {Domain{-3.0, 3.0}, unit, Domain{0.5, 3.0}},
            .reference =
                [r](const std::vector<Array>& x) {
                    return bce_logits_ref({x[0], x[1], Array(1.0), x[2]}, r);
                }},
    };
}

// kl_div's terms, inputs (log-probabilities, target), reduced; BatchMean divides by dim 0.
Array kl_ref(const std::vector<Array>& x, Reduction r, bool log_target) {
    const Array terms = ref::zip(x[0], x[1], [log_target](double in, double t) {
        return log_target ? std::exp(t) * (t - in) : (t == 0 ? 0.0 : t * std::log(t)) - t * in;
    });
    if (r != Reduction::BatchMean) return reduce_by(r, terms, static_cast<double>(terms.size()));
    return reduce_by(Reduction::Mean, terms, x[0].dimension() == 0 ? 1.0 : static_cast<double>(x[0].shape()[0]));
}

std::vector<OpInfo> kl_rows(Reduction r) {
    std::vector<OpInfo> rows;
    for (bool log_target : {false, true}) {
        rows.push_back(
            OpInfo{.name = fmt::format("kl_div ({}{})", log_target ? "log_target, " : "", suffix(r)),
                   .op = "kl_div",
                   .readme = log_target ? ReadmeLine{}
                                        : mean_only(r, {"`kl_div(logq, p[, reduction, log_target])`",
                                                        "p (log p - logq), 0 where p = 0; Mean over all elements, "
                                                        "Reduction::BatchMean over dim 0",
                                                        "dlogq = -p, dp = log p + 1 - logq"}),
                   .fn = op([r, log_target](const auto& in) { return tg::kl_div(in[0], in[1], r, log_target); }),
                   .cases = cases_for(r, {{{3, 4}, {3, 4}}, {{5}, {5}}, {{}, {}}, {{0, 2}, {0, 2}}}),
                   .domains = {Domain{-3.0, 0.0}, log_target ? Domain{-3.0, 0.0} : probability},
                   .reference = [r, log_target](const std::vector<Array>& x) { return kl_ref(x, r, log_target); },
                   .errors = {mismatch("kl_div", [r](const Inputs64& in) { tg::kl_div(in[0], in[1], r); }),
                              {"negative target",
                               {{2}},
                               [r](const Inputs64& in) {
                                   tg::kl_div(in[0], tg::TensorD({0.5, -0.5}), r);
                               },
                               Expect::Value,
                               {"kl_div", "target", "-0.5"}}}});
    }
    if (r == Reduction::BatchMean) {  // the empty batch's BatchMean is NaN, as Mean's
        for (auto& row : rows) std::erase_if(row.cases, [](const auto& c) { return ref::count(c[0]) == 0; });
    }
    return rows;
}

// y = 1, -1, 1, ... for the samples of x1 (one 0-d 1 for an unbatched [D]).
template <class T>
tg::Tensor<T> signs_for(const Shape& x1) {
    if (x1.size() == 1) return tg::Tensor<T>(T(1));
    xt::xarray<T> y = xt::xarray<T>::from_shape({x1[0]});
    for (std::size_t i = 0; i < y.size(); ++i) y(i) = i % 2 == 0 ? T(1) : T(-1);
    return tg::Tensor<T>(std::move(y));
}

// 1 - cos or max(0, cos - margin) per sample, cos with PyTorch's 1e-12 under each squared norm.
Array cosine_ref(const std::vector<Array>& x, Reduction r, double margin) {
    const bool batched = x[0].dimension() == 2;
    const std::size_t n = batched ? x[0].shape()[0] : 1, d = x[0].size() / std::max<std::size_t>(n, 1);
    Array terms = batched ? ref::empty({n}) : ref::empty({});
    for (std::size_t i = 0; i < n; ++i) {
        double dot = 0, m1 = 1e-12, m2 = 1e-12;
        for (std::size_t j = 0; j < d; ++j) {
            const double a = x[0].data()[i * d + j], b = x[1].data()[i * d + j];
            dot += a * b;
            m1 += a * a;
            m2 += b * b;
        }
        const double cos = dot / std::sqrt(m1 * m2);
        terms.data()[i] = i % 2 == 0 ? 1 - cos : std::max(0.0, cos - margin);
    }
    return reduce_by(r, terms, static_cast<double>(n));
}

std::vector<OpInfo> pair_embedding_rows(Reduction r) {
    return {
        OpInfo{.name = fmt::format("cosine_embedding_loss ({})", suffix(r)),
               .op = "cosine_embedding_loss",
               .readme = mean_only(r, {"`cosine_embedding_loss(x1, x2, y[, margin])`",
                                       "1 - cos(x1, x2) where y = 1, max(0, cos - margin) where y = -1; composed",
                                       "dx1 = ∓ d cos / dx1 where the term is active"}),
               .fn = op([r](const auto& in) {
                   using T = typename TensorOf<decltype(in)>::value_type;
                   return tg::cosine_embedding_loss(in[0], in[1], signs_for<T>(in[0].shape()), -0.2, r);
               }),
               .cases = {{{4, 3}, {4, 3}}, {{5}, {5}}, {{1, 2}, {1, 2}}},
               .reference = [r](const std::vector<Array>& x) { return cosine_ref(x, r, -0.2); },
               .errors = {{"y of 0",
                           {{2, 3}, {2, 3}},
                           [r](const Inputs64& in) {
                               tg::cosine_embedding_loss(in[0], in[1], tg::TensorD({1.0, 0.0}), 0.0, r);
                           },
                           Expect::Value,
                           {"cosine_embedding_loss", "y", "1 or -1", "element 1 is 0"}},
                          {"y of the wrong length",
                           {{2, 3}, {2, 3}},
                           [r](const Inputs64& in) {
                               tg::cosine_embedding_loss(in[0], in[1], tg::TensorD({1.0, -1.0, 1.0}), 0.0, r);
                           },
                           Expect::Shape,
                           {"cosine_embedding_loss", "[2, 3]", "[3]"}},
                          mismatch("cosine_embedding_loss",
                                   [r](const Inputs64& in) {
                                       tg::cosine_embedding_loss(in[0], in[1], tg::TensorD({1.0, 1.0}), 0.0, r);
                                   })}},
        OpInfo{.name = fmt::format("margin_ranking_loss ({})", suffix(r)),
               .op = "margin_ranking_loss",
               .readme =
                   mean_only(r, {"`margin_ranking_loss(x1, x2, y[, margin])`",
                                 "max(0, -y (x1 - x2) + margin); composed: clamp", "dx1 = -y where the term is > 0"}),
               .fn = op([r](const auto& in) { return tg::margin_ranking_loss(in[0], in[1], in[2], 0.3, r); }),
               .cases = cases_for(r, {{{2, 3}, {2, 3}, {2, 3}}, {{5}, {5}, {5}}, {{}, {}, {}}, {{0}, {0}, {0}}}),
               .domains = {Domain{}, Domain{}, Domain{-1.0, 1.0}},
               .reference =
                   [r](const std::vector<Array>& x) {
                       Array terms = ref::empty(ref::shape_of(x[0]));
                       for (std::size_t i = 0; i < terms.size(); ++i) {
                           const double d = x[0].data()[i] - x[1].data()[i];
                           terms.data()[i] = std::max(0.0, -x[2].data()[i] * d + 0.3);
                       }
                       return reduce_by(r, terms, static_cast<double>(terms.size()));
                   },
               .errors = {{"y of another shape",
                           {{2, 3}, {2, 3}, {3}},
                           [r](const Inputs64& in) { tg::margin_ranking_loss(in[0], in[1], in[2], 0.0, r); },
                           Expect::Shape,
                           {"margin_ranking_loss", "y", "[3]", "[2, 3]"}}}},
    };
}

std::vector<OpInfo> loss_rows() {
    std::vector<OpInfo> rows;
    for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
        for (auto family : {regression_rows, binary_rows, kl_rows, pair_embedding_rows}) {
            for (auto& row : family(r)) rows.push_back(std::move(row));
        }
    }
    for (auto& row : kl_rows(Reduction::BatchMean)) rows.push_back(std::move(row));
    return rows;
}

const RegisterFamily registered{{.name = "loss", .order = 40, .rows = loss_rows}};

}  // namespace

}  // namespace optable
