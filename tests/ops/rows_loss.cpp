// Rows for the losses.
#include <cmath>

#include "op_table.hpp"
#include "reference.hpp"

namespace optable {

namespace {

using tg::Reduction;
const Domain probability{0.05, 0.95};
const Domain unit{0.0, 1.0};
const std::vector<std::vector<Shape>> logits_cases = {{{3, 4}}, {{1, 2}}, {{2, 5}}};

// The terms (per element or per sample) reduced as the loss does: their sum, divided by `count`
// for Mean, or the terms themselves for None.
Array reduce_by(Reduction r, const Array& terms, std::size_t count) {
    if (r == Reduction::None) return terms;
    double total = 0;
    for (double v : terms) total += v;
    return Array(r == Reduction::Mean ? total / static_cast<double>(count) : total);
}

const char* suffix(Reduction r) {
    return r == Reduction::Mean ? "mean" : r == Reduction::Sum ? "sum" : "none";
}

// README.md shows each loss once: its Reduction::Mean row carries the line.
ReadmeLine mean_only(Reduction r, ReadmeLine line) {
    return r == Reduction::Mean ? line : ReadmeLine{};
}

// f(a, b) per element, reduced (None: per element; Mean: divided by `count`).
template <class F>
Array elementwise_loss(const Array& a, const Array& b, Reduction r, std::size_t count, F f) {
    Array terms = ref::empty(ref::shape_of(a));
    for (std::size_t i = 0; i < a.size(); ++i) terms.data()[i] = f(a.data()[i], b.data()[i]);
    return reduce_by(r, terms, count);
}

// f(a, b) summed over each sample's (row's) elements, reduced over the rows (None: one per row).
template <class F>
Array per_sample_loss(const Array& a, const Array& b, Reduction r, F f) {
    const std::size_t batch = a.shape()[0], width = a.size() / batch;
    Array rows = ref::empty({batch});
    for (std::size_t i = 0; i < batch; ++i) {
        double row = 0;
        for (std::size_t j = 0; j < width; ++j) row += f(a.data()[i * width + j], b.data()[i * width + j]);
        rows(i) = row;
    }
    return reduce_by(r, rows, batch);
}

// -((1 - e) log_softmax[i, t_i] + e/C sum_j log_softmax[i, j]) per row, reduced over the batch.
Array cross_entropy_ref(const Array& logits, Reduction r, double smoothing) {
    const Array ls = ref::log_softmax(logits, 1);
    const std::size_t batch = logits.shape()[0], classes = logits.shape()[1];
    const auto labels = labels_for(ref::shape_of(logits));
    Array rows = ref::empty({batch});
    for (std::size_t i = 0; i < batch; ++i) {
        double row = 0;
        for (std::size_t j = 0; j < classes; ++j) row += ls(i, j);
        const double target = ls(i, static_cast<std::size_t>(labels[i]));
        rows(i) = -((1 - smoothing) * target + smoothing / static_cast<double>(classes) * row);
    }
    return reduce_by(r, rows, batch);
}

ErrorCase mismatch(const std::string& name, std::function<void(const Inputs64&)> call) {
    return {"shapes differ", {{2, 3}, {3, 2}}, std::move(call), Expect::Shape, {name, "[2, 3]", "[3, 2]"}};
}

std::vector<ErrorCase> label_errors(const std::string& name,
                                    std::function<void(const tg::TensorD&, const tg::Labels&)> f) {
    return {{"one label too few",
             {{3, 4}},
             [f](const Inputs64& in) {
                 f(in[0], {0, 1});
             },
             Expect::Shape,
             {name, "[3, 4]"}},
            {"label past the last class",
             {{3, 4}},
             [f](const Inputs64& in) {
                 f(in[0], {0, 4, 1});
             },
             Expect::Value,
             {name, "4"}},
            {"negative label",
             {{3, 4}},
             [f](const Inputs64& in) {
                 f(in[0], {0, -1, 1});
             },
             Expect::Value,
             {name, "-1"}},
            {"1-D logits", {{4}}, [f](const Inputs64& in) { f(in[0], {0}); }, Expect::Shape, {name, "[4]"}}};
}

std::vector<OpInfo> squared_error_rows(Reduction r) {
    return {
        OpInfo{.name = fmt::format("mse_loss ({})", suffix(r)),
               .op = "mse_loss",
               .readme = mean_only(r, {"`mse_loss(p, t)`", "mean (p - t)²", "dp = 2 (p - t) / n"}),
               .fn = op([r](const auto& in) { return tg::mse_loss(in[0], in[1], r); }),
               .cases = {{{2, 3}, {2, 3}}, {{4}, {4}}, {{}, {}}},
               .reference =
                   [r](const std::vector<Array>& x) {
                       return elementwise_loss(x[0], x[1], r, x[0].size(),
                                               [](double p, double t) { return (p - t) * (p - t); });
                   },
               .errors = {mismatch("mse_loss", [r](const Inputs64& in) { tg::mse_loss(in[0], in[1], r); })}},
        OpInfo{.name = fmt::format("half_sum_squares ({})", suffix(r)),
               .op = "half_sum_squares",
               .readme = mean_only(r, {"`half_sum_squares(p, t)`",
                                       "½ Σ (p - t)², per sample (the classic backpropagation cost)", "dp = p - t"}),
               .fn = op([r](const auto& in) { return tg::half_sum_squares(in[0], in[1], r); }),
               .cases = {{{2, 3}, {2, 3}}, {{4, 1}, {4, 1}}},
               .reference =
                   [r](const std::vector<Array>& x) {
                       return per_sample_loss(x[0], x[1], r,
                                              [](double p, double t) { return 0.5 * (p - t) * (p - t); });
                   },
               .errors = {mismatch("half_sum_squares",
                                   [r](const Inputs64& in) { tg::half_sum_squares(in[0], in[1], r); })}},
    };
}

std::vector<OpInfo> classification_rows(Reduction r) {
    return {
        OpInfo{.name = fmt::format("cross_entropy (labels, {})", suffix(r)),
               .op = "cross_entropy",
               .readme = mean_only(
                   r, {"`cross_entropy(z, labels)`", "-log softmax(z)[label], optional label smoothing, one fused pass",
                       "dz = softmax(z) - onehot (closed form)"}),
               .fn = op([r](const auto& in) { return tg::cross_entropy(in[0], labels_for(in[0].shape()), r); }),
               .cases = logits_cases,
               .reference = [r](const std::vector<Array>& x) { return cross_entropy_ref(x[0], r, 0.0); },
               .errors = label_errors("cross_entropy",
                                      [r](const tg::TensorD& x, const tg::Labels& l) { tg::cross_entropy(x, l, r); })},
        OpInfo{.name = fmt::format("cross_entropy (probabilities, {})", suffix(r)),
               .op = "cross_entropy",
               .readme = mean_only(r, {"`cross_entropy(z, probs)`", "-Σ y log softmax(z)", "dz = softmax(z) Σ y - y"}),
               .fn = op([r](const auto& in) { return tg::cross_entropy(in[0], in[1], r); }),
               .cases = {{{3, 4}, {3, 4}}, {{1, 2}, {1, 2}}},
               .domains = {Domain{}, unit},
               .reference =
                   [r](const std::vector<Array>& x) {
                       const Array ls = ref::log_softmax(x[0], 1);
                       return per_sample_loss(ls, x[1], r, [](double l, double y) { return -y * l; });
                   },
               .errors = {{"shapes differ",
                           {{3, 4}, {3, 3}},
                           [r](const Inputs64& in) { tg::cross_entropy(in[0], in[1], r); },
                           Expect::Shape,
                           {"cross_entropy", "[3, 4]", "[3, 3]"}}}},
        OpInfo{.name = fmt::format("nll_loss ({})", suffix(r)),
               .op = "nll_loss",
               .readme = mean_only(r, {"`nll_loss(logp, labels)`", "-logp[label]", "dlogp = -1 at the label"}),
               .fn = op([r](const auto& in) { return tg::nll_loss(in[0], labels_for(in[0].shape()), r); }),
               .cases = logits_cases,
               .reference =
                   [r](const std::vector<Array>& x) {
                       const auto labels = labels_for(ref::shape_of(x[0]));
                       Array rows = ref::empty({labels.numel()});
                       for (std::size_t i = 0; i < labels.numel(); ++i)
                           rows(i) = -x[0](i, static_cast<std::size_t>(labels[i]));
                       return reduce_by(r, rows, labels.numel());
                   },
               .errors =
                   label_errors("nll_loss", [r](const tg::TensorD& x, const tg::Labels& l) { tg::nll_loss(x, l, r); })},
    };
}

std::vector<OpInfo> binary_rows(Reduction r) {
    return {
        OpInfo{
            .name = fmt::format("binary_cross_entropy ({})", suffix(r)),
            .op = "binary_cross_entropy",
            .readme = mean_only(r, {"`binary_cross_entropy(p, y)`", "-(y log p + (1-y) log(1-p)), logs clamped at -100",
                                    "dp = g (p - y) / max(p(1-p), 1e-12)"}),
            .fn = op([r](const auto& in) { return tg::binary_cross_entropy(in[0], in[1], r); }),
            .cases = {{{2, 3}, {2, 3}}, {{4}, {4}}, {{}, {}}},
            .domains = {probability, unit},
            .reference =
                [r](const std::vector<Array>& x) {
                    return elementwise_loss(x[0], x[1], r, x[0].size(), [](double p, double y) {
                        return -(y * std::log(p) + (1 - y) * std::log(1 - p));
                    });
                },
            .errors = {mismatch("binary_cross_entropy",
                                [r](const Inputs64& in) { tg::binary_cross_entropy(in[0], in[1], r); }),
                       {"p outside [0, 1]",
                        {{2}},
                        [r](const Inputs64& in) {
                            tg::binary_cross_entropy(tg::TensorD({0.5, 1.5}), in[0], r);
                        },
                        Expect::Value,
                        {"binary_cross_entropy", "p", "1.5"}}}},
        OpInfo{
            .name = fmt::format("binary_cross_entropy_with_logits ({})", suffix(r)),
            .op = "binary_cross_entropy_with_logits",
            .readme = mean_only(r, {"`binary_cross_entropy_with_logits(z, y)`", "softplus(z) - y z, stable",
                                    "dz = g (sigmoid(z) - y)"}),
            .fn = op([r](const auto& in) { return tg::binary_cross_entropy_with_logits(in[0], in[1], r); }),
            .cases = {{{2, 3}, {2, 3}}, {{4}, {4}}, {{}, {}}},
            .domains = {Domain{-3.0, 3.0}, unit},
            .reference =
                [r](const std::vector<Array>& x) {
                    return elementwise_loss(x[0], x[1], r, x[0].size(),
                                            [](double z, double y) { return std::log1p(std::exp(z)) - y * z; });
                },
            .errors = {mismatch("binary_cross_entropy_with_logits",
                                [r](const Inputs64& in) { tg::binary_cross_entropy_with_logits(in[0], in[1], r); })}},
    };
}

std::vector<OpInfo> loss_rows() {
    std::vector<OpInfo> rows;
    for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
        for (auto family : {squared_error_rows, classification_rows, binary_rows}) {
            for (auto& row : family(r)) rows.push_back(std::move(row));
        }
    }
    for (Reduction r : {Reduction::Mean, Reduction::None}) {
        rows.push_back(OpInfo{
            .name = fmt::format("cross_entropy (labels, label_smoothing 0.1, {})", suffix(r)),
            .op = "cross_entropy",
            .fn = op([r](const auto& in) { return tg::cross_entropy(in[0], labels_for(in[0].shape()), r, 0.1); }),
            .cases = logits_cases,
            .reference = [r](const std::vector<Array>& x) { return cross_entropy_ref(x[0], r, 0.1); },
            .errors = {
                {"label_smoothing above 1",
                 {{3, 4}},
                 [](const Inputs64& in) { tg::cross_entropy(in[0], labels_for(in[0].shape()), Reduction::Mean, 1.5); },
                 Expect::Value,
                 {"cross_entropy", "label_smoothing", "1.5"}}}});
    }
    return rows;
}

const RegisterFamily registered{{.name = "loss", .order = 40, .rows = loss_rows}};

}  // namespace

}  // namespace optable
