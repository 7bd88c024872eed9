// Rows for the classification losses (ops/loss.hpp): cross_entropy with class indices (class
// weights, ignore_index, label smoothing, N-d and unbatched inputs) and with class probabilities,
// and nll_loss; each with every reduction. The references compute log_softmax, the weighted sums and
// Mean's denominator per target position with plain loops.
#include <cmath>
#include <optional>

#include "loss_rows.hpp"

namespace optable {

namespace {

using namespace loss;
const Domain weights{0.5, 2.0};
const Domain unit{0.0, 1.0};

// Logits [N, C], [N, C, d1, ...] and an unbatched [C] (class dim 1, or 0).
std::size_t class_dim(const ref::Index& shape) {
    return shape.size() == 1 ? 0 : 1;
}

// Targets for scores of `shape`: position p gets class (2p + 1) % C, or, with `ignore`, every third
// position (p % 3 == 1) gets the ignore index instead.
tg::Labels targets_for(const Shape& shape, std::optional<std::int64_t> ignore = {}) {
    Shape targets_shape = shape;
    targets_shape.erase(targets_shape.begin() + static_cast<std::ptrdiff_t>(class_dim(shape)));
    tg::Labels t = tg::Labels::full(targets_shape, 0);
    const auto classes = static_cast<std::int64_t>(shape[class_dim(shape)]);
    for (std::size_t p = 0; p < t.numel(); ++p) {
        t[p] = ignore && p % 3 == 1 ? *ignore : static_cast<std::int64_t>(2 * p + 1) % classes;
    }
    return t;
}

// What a classification row passes: class weights (input 1) or none, ignore_index, label smoothing.
struct Options {
    bool weighted = false;
    std::optional<std::int64_t> ignore = {};  // also puts ignored targets into targets_for
    double smoothing = 0.0;
    bool nll = false;  // the scores are log-probabilities (nll_loss), not logits
};

// -(1 - e) w_t logp_t - e/C sum_c w_c logp_c per target position (0 where ignored), reduced;
// Mean divides by the sum of w_t over the positions not ignored.
Array class_loss_ref(const std::vector<Array>& x, Reduction r, const Options& o) {
    const ref::Index shape = ref::shape_of(x[0]);
    const std::size_t cd = class_dim(shape), classes = shape[cd];
    const std::size_t samples = cd == 0 ? 1 : shape[0],
                      inner = ref::count(shape) / std::max<std::size_t>(samples * classes, 1);
    const tg::Labels targets = targets_for(shape, o.ignore);
    auto w = [&](std::size_t c) { return o.weighted ? x[1](c) : 1.0; };
    Array losses = ref::empty(ref::Index(targets.shape().begin(), targets.shape().end()));
    double denominator = 0;
    for (std::size_t p = 0; p < targets.numel(); ++p) {
        const std::size_t n = p / inner, k = p % inner;
        std::vector<double> logp(classes);
        for (std::size_t c = 0; c < classes; ++c) logp[c] = x[0].data()[(n * classes + c) * inner + k];
        if (!o.nll) {
            double m = -INFINITY, s = 0;
            for (double v : logp) m = std::max(m, v);
            for (double v : logp) s += std::exp(v - m);
            for (double& v : logp) v -= m + std::log(s);
        }
        losses.data()[p] = 0;
        if (o.ignore && targets[p] == *o.ignore) continue;
        const auto t = static_cast<std::size_t>(targets[p]);
        double loss = -(1 - o.smoothing) * w(t) * logp[t];
        for (std::size_t c = 0; c < classes; ++c) loss -= o.smoothing / static_cast<double>(classes) * w(c) * logp[c];
        losses.data()[p] = loss;
        denominator += w(t);
    }
    return reduce_by(r, losses, denominator);
}

// The logits' cases, with a [C] weight after each when weighted.
std::vector<std::vector<Shape>> class_cases(Reduction r, bool weighted) {
    std::vector<std::vector<Shape>> cases;
    for (const Shape& s : std::vector<Shape>{{3, 4}, {1, 2}, {2, 3, 2, 2}, {4}, {2, 3, 5}, {0, 3}}) {
        // An empty batch: Mean is NaN (numeric_edges_test), and with a weight (no gradient) the
        // generic test could not tell the empty Jacobian from one never checked.
        if (s[0] == 0 && (r == Reduction::Mean || weighted)) continue;
        std::vector<Shape> c = {s};
        if (weighted) c.push_back({s[class_dim(s)]});
        cases.push_back(c);
    }
    return cases;
}

std::string describe(const Options& o, Reduction r) {
    std::string what = o.weighted ? "weight, " : "";
    if (o.ignore) what += fmt::format("ignore_index {}, ", *o.ignore);
    if (o.smoothing != 0) what += fmt::format("label_smoothing {}, ", o.smoothing);
    return what + suffix(r);
}

template <class T>
tg::CrossEntropyOptions<T> xent_options(const std::vector<tg::Tensor<T>>& in, const Options& o, Reduction r) {
    return {.weight = o.weighted ? in[1] : tg::Tensor<T>(),
            .ignore_index = o.ignore.value_or(-100),
            .label_smoothing = o.smoothing,
            .reduction = r};
}

std::vector<ErrorCase> label_errors(
    const std::string& name,
    const std::function<void(const tg::TensorD&, const tg::Labels&, const tg::CrossEntropyOptions<double>&)>& f) {
    return {
        {"one target too few",
         {{3, 4}},
         [f](const Inputs64& in) {
             f(in[0], {0, 1}, {});
         },
         Expect::Shape,
         {name, "[3, 4]", "[2]", "expected [3]"}},
        {"target past the last class",
         {{3, 4}},
         [f](const Inputs64& in) {
             f(in[0], {0, 4, 1}, {});
         },
         Expect::Value,
         {name, "target 4", "[0, 4)"}},
        {"negative target that is not ignore_index",
         {{3, 4}},
         [f](const Inputs64& in) {
             f(in[0], {0, -100, 1}, {.ignore_index = -1});
         },
         Expect::Value,
         {name, "target -100", "ignore_index -1"}},
        {"1-d logits with a 1-d target",
         {{4}},
         [f](const Inputs64& in) { f(in[0], {0}, {}); },
         Expect::Shape,
         {name, "[4]", "[1]", "expected []"}},
        {"N-d targets of the wrong shape",
         {{2, 3, 4}},
         [f](const Inputs64& in) {
             f(in[0], {{0, 1, 2}, {0, 1, 2}}, {});
         },
         Expect::Shape,
         {name, "[2, 3, 4]", "[2, 3]", "expected [2, 4]"}},
        {"0-d scores",
         {{}},
         [f](const Inputs64& in) { f(in[0], tg::Labels::full({}, 0), {}); },
         Expect::Shape,
         {name, "0-d"}},
        {"weight of the wrong length",
         {{3, 4}, {3}},
         [f](const Inputs64& in) {
             f(in[0], {0, 1, 2}, {.weight = in[1]});
         },
         Expect::Shape,
         {name, "weight", "[3]", "expected [4]"}},
        {"weight 2-d",
         {{3, 4}, {1, 4}},
         [f](const Inputs64& in) {
             f(in[0], {0, 1, 2}, {.weight = in[1]});
         },
         Expect::Shape,
         {name, "weight", "[1, 4]"}},
        {"weight that requires grad",
         {{3, 4}, {4}},
         [f](const Inputs64& in) {
             f(in[0], {0, 1, 2}, {.weight = tg::TensorD(in[1].value(), true)});
         },
         Expect::Value,
         {name, "weight requires grad", "detach"}},
        {"Reduction::BatchMean",
         {{3, 4}},
         [f](const Inputs64& in) {
             f(in[0], {0, 1, 2}, {.reduction = Reduction::BatchMean});
         },
         Expect::Value,
         {name, "BatchMean"}},
    };
}

std::vector<OpInfo> label_rows(Reduction r) {
    const std::vector<Options> variants = {
        {},
        {.weighted = true, .ignore = -100, .smoothing = 0.1},
        {.weighted = true, .ignore = 0},
        {.ignore = -100, .smoothing = 0.25},
        {.smoothing = 1.0},
    };
    std::vector<OpInfo> rows;
    for (const Options& o : variants) {
        const bool plain = !o.weighted && !o.ignore && o.smoothing == 0;
        rows.push_back(OpInfo{
            .name = fmt::format("cross_entropy (labels, {})", describe(o, r)),
            .op = "cross_entropy",
            .readme = plain
                          ? mean_only(r, {"`cross_entropy(z, labels[, options])`",
                                          "(1-e) w_t (-log softmax(z)_t) + e/C Σ w_c (-log softmax(z)_c) per "
                                          "target; weight, ignore_index, label smoothing e; N-d; one fused pass",
                                          "dz = s softmax(z) - T, T = (1-e) w_t onehot + e/C w, s = Σ T (closed form)"})
                          : ReadmeLine{},
            .fn = op([r, o](const auto& in) {
                return tg::cross_entropy(in[0], targets_for(in[0].shape(), o.ignore), xent_options(in, o, r));
            }),
            .cases = class_cases(r, o.weighted),
            .domains = {Domain{}, weights},
            .reference = [r, o](const std::vector<Array>& x) { return class_loss_ref(x, r, o); },
            .errors =
                plain ? label_errors("cross_entropy",
                                     [r](const tg::TensorD& x, const tg::Labels& l, tg::CrossEntropyOptions<double> c) {
                                         if (c.reduction == Reduction::Mean) c.reduction = r;
                                         tg::cross_entropy(x, l, c);
                                     })
                      : std::vector<ErrorCase>{},
            .differentiable = {true, false}});
    }
    rows.front().errors.push_back(
        {"label_smoothing above 1",
         {{3, 4}},
         [](const Inputs64& in) { tg::cross_entropy(in[0], targets_for(in[0].shape()), Reduction::Mean, 1.5); },
         Expect::Value,
         {"cross_entropy", "label_smoothing", "1.5"}});
    // The positional form (reduction, label_smoothing) is the options form.
    rows.push_back(
        OpInfo{.name = fmt::format("cross_entropy (labels, positional label_smoothing 0.1, {})", suffix(r)),
               .op = "cross_entropy",
               .fn = op([r](const auto& in) { return tg::cross_entropy(in[0], targets_for(in[0].shape()), r, 0.1); }),
               .cases = class_cases(r, false),
               .reference = [r](const std::vector<Array>& x) { return class_loss_ref(x, r, {.smoothing = 0.1}); }});
    return rows;
}

// -Σ_c w_c y'_c logp_c per position, y' = (1 - e) y + e / C; Mean over the positions (numel / C).
Array prob_loss_ref(const std::vector<Array>& x, Reduction r, const Options& o) {
    const ref::Index shape = ref::shape_of(x[0]);
    const std::size_t cd = class_dim(shape), classes = shape[cd];
    const Array logp = ref::log_softmax(x[0], cd);
    ref::Index out_shape = shape;
    out_shape.erase(out_shape.begin() + static_cast<std::ptrdiff_t>(cd));
    Array losses = ref::empty(out_shape);
    std::fill(losses.begin(), losses.end(), 0.0);
    for (std::size_t i = 0; i < x[0].size(); ++i) {
        ref::Index idx = ref::unravel(i, shape);
        const std::size_t c = idx[cd];
        idx.erase(idx.begin() + static_cast<std::ptrdiff_t>(cd));
        const double y = (1 - o.smoothing) * x[1].data()[i] + o.smoothing / static_cast<double>(classes);
        losses.data()[ref::ravel(idx, out_shape)] -= (o.weighted ? x[2](c) : 1.0) * y * logp.data()[i];
    }
    return reduce_by(r, losses, static_cast<double>(losses.size()));
}

std::vector<OpInfo> probability_rows(Reduction r) {
    std::vector<OpInfo> rows;
    for (const Options& o : {Options{}, Options{.weighted = true, .smoothing = 0.2}}) {
        std::vector<std::vector<Shape>> cases;
        for (const Shape& s : std::vector<Shape>{{3, 4}, {1, 2}, {2, 3, 2}, {4}}) {
            cases.push_back(o.weighted ? std::vector<Shape>{s, s, {s[class_dim(s)]}} : std::vector<Shape>{s, s});
        }
        rows.push_back(OpInfo{
            .name = fmt::format("cross_entropy (probabilities, {})", describe(o, r)),
            .op = "cross_entropy",
            .readme = o.weighted ? ReadmeLine{}
                                 : mean_only(r, {"`cross_entropy(z, probs[, options])`",
                                                 "-Σ w y' log softmax(z), y' = (1-e) y + e/C; Mean over samples",
                                                 "dz = softmax(z) Σ w y' - w y'; composed"}),
            .fn = op([r, o](const auto& in) {
                using T = typename TensorOf<decltype(in)>::value_type;
                return tg::cross_entropy(in[0], in[1],
                                         tg::CrossEntropyOptions<T>{.weight = o.weighted ? in[2] : tg::Tensor<T>(),
                                                                    .label_smoothing = o.smoothing,
                                                                    .reduction = r});
            }),
            .cases = cases,
            .domains = {Domain{}, unit, weights},
            .reference = [r, o](const std::vector<Array>& x) { return prob_loss_ref(x, r, o); },
            .errors = o.weighted
                          ? std::vector<ErrorCase>{}
                          : std::vector<ErrorCase>{
                                {"shapes differ",
                                 {{3, 4}, {3, 3}},
                                 [r](const Inputs64& in) { tg::cross_entropy(in[0], in[1], r); },
                                 Expect::Shape,
                                 {"cross_entropy", "[3, 4]", "[3, 3]"}},
                                {"ignore_index >= 0",
                                 {{3, 4}, {3, 4}},
                                 [](const Inputs64& in) { tg::cross_entropy(in[0], in[1], {.ignore_index = 0}); },
                                 Expect::Value,
                                 {"cross_entropy", "ignore_index is 0", "negative"}},
                                {"weight of the wrong length",
                                 {{3, 4}, {3, 4}, {5}},
                                 [](const Inputs64& in) { tg::cross_entropy(in[0], in[1], {.weight = in[2]}); },
                                 Expect::Shape,
                                 {"cross_entropy", "weight", "[5]", "expected [4]"}},
                                {"negative label_smoothing",
                                 {{3, 4}, {3, 4}},
                                 [](const Inputs64& in) { tg::cross_entropy(in[0], in[1], {.label_smoothing = -0.5}); },
                                 Expect::Value,
                                 {"cross_entropy", "label_smoothing", "-0.5"}}}});
    }
    return rows;
}

std::vector<OpInfo> nll_rows(Reduction r) {
    std::vector<OpInfo> rows;
    for (const Options& o : {Options{.nll = true}, Options{.weighted = true, .ignore = -100, .nll = true}}) {
        rows.push_back(OpInfo{
            .name = fmt::format("nll_loss ({})", describe(o, r)),
            .op = "nll_loss",
            .readme = o.weighted ? ReadmeLine{}
                                 : mean_only(r, {"`nll_loss(logp, labels[, options])`",
                                                 "-w_t logp_t per target (weight, ignore_index; N-d)",
                                                 "dlogp = -w_t at the target"}),
            .fn = op([r, o](const auto& in) {
                using T = typename TensorOf<decltype(in)>::value_type;
                return tg::nll_loss(in[0], targets_for(in[0].shape(), o.ignore),
                                    tg::NLLLossOptions<T>{.weight = o.weighted ? in[1] : tg::Tensor<T>(),
                                                          .ignore_index = o.ignore.value_or(-100),
                                                          .reduction = r});
            }),
            .cases = class_cases(r, o.weighted),
            .domains = {Domain{-3.0, 0.0}, weights},
            .reference = [r, o](const std::vector<Array>& x) { return class_loss_ref(x, r, o); },
            .errors = o.weighted
                          ? std::vector<ErrorCase>{}
                          : label_errors("nll_loss",
                                         [r](const tg::TensorD& x, const tg::Labels& l,
                                             const tg::CrossEntropyOptions<double>& c) {
                                             tg::nll_loss(
                                                 x, l,
                                                 {.weight = c.weight,
                                                  .ignore_index = c.ignore_index,
                                                  .reduction = c.reduction == Reduction::Mean ? r : c.reduction});
                                         }),
            .differentiable = {true, false}});
    }
    return rows;
}

std::vector<OpInfo> loss_class_rows() {
    std::vector<OpInfo> rows;
    for (Reduction r : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
        for (auto family : {label_rows, probability_rows, nll_rows}) {
            for (auto& row : family(r)) rows.push_back(std::move(row));
        }
    }
    return rows;
}

const RegisterFamily registered{{.name = "loss_class", .order = 41, .rows = loss_class_rows}};

}  // namespace

}  // namespace optable
