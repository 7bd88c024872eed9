// Rows for scaled_dot_product_attention (ops/attention.hpp). The reference is attention written
// out with loops over the broadcast batch, the queries and the keys: scores, masks, a max-shifted
// softmax (a row with no key taking part gives weights 0, PyTorch >= 2.5's _safe_softmax), the
// dropout draws taken from the same seeded Generator in the same order, and the weighted sum.
#include <cmath>
#include <functional>
#include <limits>
#include <optional>

#include "op_table.hpp"
#include "reference.hpp"

namespace optable {

namespace {

using Index = ref::Index;

/// The flat index into an array of shape `s` read by the element at `idx` of a broadcast result
/// (trailing alignment, a size-1 dim reads index 0).
std::size_t read_at(const Index& idx, const Index& s) {
    Index sub(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) sub[i] = s[i] == 1 ? 0 : idx[i + idx.size() - s.size()];
    return ref::ravel(sub, s);
}

Index batch_dims(const Array& x) {
    return Index(x.shape().begin(), x.shape().end() - 2);
}

Index broadcast_dims(const Index& a, const Index& b) {
    const std::size_t n = std::max(a.size(), b.size());
    Index out(n);
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
        const std::size_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
        out[i] = da == 1 ? db : da;
    }
    return out;
}

/// What the reference applies besides q, k and v.
struct RefOptions {
    std::function<bool(const Index& scores_idx)> keep = {};  // boolean mask: true = takes part
    const Array* additive = nullptr;
    bool causal = false;
    std::optional<double> scale = std::nullopt;
    double dropout_p = 0;
    std::uint64_t seed = 0;
};

/// The attention weights [batch..., L, S] (batch: q's and k's broadcast).
Array weights_ref(const Array& q, const Array& k, const RefOptions& o) {
    const Index batch = broadcast_dims(batch_dims(q), batch_dims(k));
    const std::size_t l_len = q.shape()[q.dimension() - 2], e = q.shape().back();
    const std::size_t s_len = k.shape()[k.dimension() - 2];
    const double scale = o.scale ? *o.scale : e == 0 ? 1.0 : 1.0 / std::sqrt(double(e));
    Index shape = batch;
    shape.push_back(l_len);
    shape.push_back(s_len);
    Array w = ref::empty(shape);
    tg::Generator gen(o.seed);
    const double inf = std::numeric_limits<double>::infinity();
    for (std::size_t t = 0; t < ref::count(batch); ++t) {
        const Index idx = ref::unravel(t, batch);
        const std::size_t fq = read_at(idx, batch_dims(q)), fk = read_at(idx, batch_dims(k));
        for (std::size_t i = 0; i < l_len; ++i) {
            double* row = w.data() + (t * l_len + i) * s_len;
            double top = -inf;
            for (std::size_t j = 0; j < s_len; ++j) {
                Index at = idx;
                at.push_back(i);
                at.push_back(j);
                double s = 0;
                for (std::size_t p = 0; p < e; ++p)
                    s += q.data()[(fq * l_len + i) * e + p] * k.data()[(fk * s_len + j) * e + p];
                s *= scale;
                if (o.keep && !o.keep(at)) s = -inf;
                if (o.additive) s += o.additive->data()[read_at(at, ref::shape_of(*o.additive))];
                if (o.causal && j > i) s = -inf;
                row[j] = s;
                top = std::max(top, s);
            }
            double total = 0;
            for (std::size_t j = 0; j < s_len; ++j) total += row[j] = top == -inf ? 0.0 : std::exp(row[j] - top);
            for (std::size_t j = 0; j < s_len; ++j) {
                row[j] = total == 0 ? 0.0 : row[j] / total;
                if (o.dropout_p > 0) row[j] = gen.uniform() < o.dropout_p ? 0.0 : row[j] / (1 - o.dropout_p);
            }
        }
    }
    return w;
}

/// The weights times v, over the batch dims of the weights and v broadcast together.
Array attention_ref(const Array& q, const Array& k, const Array& v, const RefOptions& o) {
    const Array w = weights_ref(q, k, o);
    const Index batch = broadcast_dims(batch_dims(w), batch_dims(v));
    const std::size_t l_len = w.shape()[w.dimension() - 2], s_len = w.shape().back(), ev = v.shape().back();
    Index shape = batch;
    shape.push_back(l_len);
    shape.push_back(ev);
    Array out = ref::empty(shape);
    for (std::size_t t = 0; t < ref::count(batch); ++t) {
        const Index idx = ref::unravel(t, batch);
        const std::size_t fw = read_at(idx, batch_dims(w)), fv = read_at(idx, batch_dims(v));
        for (std::size_t i = 0; i < l_len; ++i) {
            for (std::size_t c = 0; c < ev; ++c) {
                double sum = 0;
                for (std::size_t j = 0; j < s_len; ++j)
                    sum += w.data()[(fw * l_len + i) * s_len + j] * v.data()[(fv * s_len + j) * ev + c];
                out.data()[(t * l_len + i) * ev + c] = sum;
            }
        }
    }
    return out;
}

/// A fixed boolean pattern over [..., L, S]: row 1 of every matrix has no key taking part (the
/// fully masked row), elsewhere (i + 2 j + batch) % 3 != 0 masks about a third out.
bool pattern(const Index& at) {
    const std::size_t n = at.size(), i = at[n - 2], j = at[n - 1];
    std::size_t b = 0;
    for (std::size_t d = 0; d + 2 < n; ++d) b += at[d];
    return i != 1 && (i + 2 * j + b) % 3 != 0;
}

/// The pattern as a Mask of `shape` (its dims before the last two are the batch dims it has).
tg::Mask pattern_mask(const Shape& shape) {
    tg::Mask m = tg::Mask::full(shape, false);
    for (std::size_t f = 0; f < m.numel(); ++f) m[f] = pattern(ref::unravel(f, shape));
    return m;
}

ErrorCase sdpa_error(std::string what, std::vector<Shape> shapes, std::function<void(const Inputs64&)> call,
                     Expect expect, std::vector<std::string> fragments) {
    fragments.insert(fragments.begin(), "scaled_dot_product_attention");
    return {std::move(what), std::move(shapes), std::move(call), expect, std::move(fragments)};
}

std::vector<OpInfo> attention_rows() {
    const auto plain = [](const Inputs64& in) { tg::scaled_dot_product_attention(in[0], in[1], in[2]); };
    return {
        OpInfo{
            .name = "scaled_dot_product_attention",
            .op = "scaled_dot_product_attention",
            .readme = {"`scaled_dot_product_attention(q, k, v[, mask, is_causal, dropout_p, scale, gen])`",
                       "softmax(scale q kᵀ + mask) v, mask boolean (true = takes part) or additive, causal, "
                       "dropout; a fully masked row gives 0 (composed: matmul, where, softmax)",
                       "dv = wᵀ g, ds = w ⊙ (g vᵀ − rowsum(g vᵀ ⊙ w)), dq = scale ds k, dk = scale dsᵀ q, "
                       "d(additive mask) = ds"},
            .fn = op([](const auto& in) { return tg::scaled_dot_product_attention(in[0], in[1], in[2]); }),
            .cases = {{{3, 4}, {5, 4}, {5, 2}},              // L != S
                      {{2, 3, 4}, {2, 3, 4}, {2, 3, 3}},     // a batch
                      {{2, 1, 3, 4}, {3, 5, 4}, {1, 5, 2}},  // batch dims broadcast
                      {{1, 1}, {1, 1}, {1, 1}},
                      {{0, 4}, {3, 4}, {3, 2}},   // no query
                      {{2, 0}, {3, 0}, {3, 2}},   // E = 0: uniform weights
                      {{2, 3}, {0, 3}, {0, 2}}},  // no key: the output is 0
            .reference = [](const std::vector<Array>& x) { return attention_ref(x[0], x[1], x[2], {}); },
            .errors =
                {sdpa_error("E of q and k differ", {{3, 4}, {5, 3}, {5, 2}}, plain, Expect::Shape,
                            {"q has shape [3, 4]", "k has shape [5, 3]", "4 vs 3"}),
                 sdpa_error("S of k and v differ", {{3, 4}, {5, 4}, {6, 2}}, plain, Expect::Shape,
                            {"k has shape [5, 4]", "v has shape [6, 2]", "5 vs 6"}),
                 sdpa_error("batch dims do not broadcast", {{2, 3, 4}, {3, 5, 4}, {5, 2}}, plain, Expect::Shape,
                            {"[2, 3, 4]", "[3, 5, 4]", "do not broadcast"}),
                 sdpa_error("q 1-D", {{4}, {5, 4}, {5, 2}}, plain, Expect::Shape, {"q has shape [4]", "2-d"}),
                 sdpa_error("mask not broadcastable", {{3, 4}, {5, 4}, {5, 2}},
                            [](const Inputs64& in) {
                                tg::scaled_dot_product_attention(in[0], in[1], in[2], tg::Mask::full({3, 4}, true));
                            },
                            Expect::Shape, {"attn_mask has shape [3, 4]", "[3, 5]"}),
                 sdpa_error("mask enlarging the scores", {{3, 4}, {5, 4}, {5, 2}},
                            [](const Inputs64& in) {
                                tg::scaled_dot_product_attention(in[0], in[1], in[2],
                                                                 tg::TensorD(xt::zeros<double>({2, 3, 5})));
                            },
                            Expect::Shape, {"attn_mask has shape [2, 3, 5]", "[3, 5]"}),
                 sdpa_error(
                     "is_causal with a mask", {{3, 4}, {5, 4}, {5, 2}},
                     [](const Inputs64& in) {
                         tg::scaled_dot_product_attention(in[0], in[1], in[2], tg::Mask::full({3, 5}, true), true);
                     },
                     Expect::Value, {"is_causal", "attn_mask"}),
                 sdpa_error(
                     "dropout_p above 1", {{3, 4}, {5, 4}, {5, 2}},
                     [](const Inputs64& in) { tg::scaled_dot_product_attention(in[0], in[1], in[2], {}, false, 1.5); },
                     Expect::Value, {"dropout_p", "1.5"}),
                 sdpa_error("undefined v", {{3, 4}, {5, 4}},
                            [](const Inputs64& in) { tg::scaled_dot_product_attention(in[0], in[1], tg::TensorD()); },
                            Expect::Value, {"v", "undefined"})}},
        OpInfo{
            .name = "scaled_dot_product_attention (is_causal)",
            .op = "scaled_dot_product_attention",
            .fn = op([](const auto& in) { return tg::scaled_dot_product_attention(in[0], in[1], in[2], {}, true); }),
            .cases = {{{3, 4}, {3, 4}, {3, 2}},
                      {{2, 3, 3}, {2, 5, 3}, {2, 5, 2}},  // L < S: the top-left triangle
                      {{5, 3}, {3, 3}, {3, 2}}},          // L > S: the last rows see every key
            .reference = [](const std::vector<Array>& x) { return attention_ref(x[0], x[1], x[2], {.causal = true}); }},
        OpInfo{.name = "scaled_dot_product_attention (boolean mask [L, S], a fully masked row)",
               .op = "scaled_dot_product_attention",
               .fn = op([](const auto& in) {
                   const std::size_t l_len = in[0].shape()[in[0].ndim() - 2], s_len = in[1].shape()[in[1].ndim() - 2];
                   return tg::scaled_dot_product_attention(in[0], in[1], in[2], pattern_mask({l_len, s_len}));
               }),
               .cases = {{{3, 2}, {4, 2}, {4, 3}}, {{2, 3, 2}, {2, 4, 2}, {4, 1}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       // The [L, S] mask broadcast over the batch: the pattern of batch index 0.
                       return attention_ref(x[0], x[1], x[2], {.keep = [](const Index& at) {
                                                return pattern({at[at.size() - 2], at[at.size() - 1]});
                                            }});
                   }},
        OpInfo{.name = "scaled_dot_product_attention (boolean mask [..., L, S], custom scale)",
               .op = "scaled_dot_product_attention",
               .fn = op([](const auto& in) {
                   const std::size_t s_len = in[1].shape()[in[1].ndim() - 2];
                   Shape shape = in[0].shape();
                   shape.back() = s_len;
                   return tg::scaled_dot_product_attention(in[0], in[1], in[2], pattern_mask(shape), false, 0, 0.7);
               }),
               .cases = {{{2, 3, 2}, {2, 4, 2}, {2, 4, 3}}, {{2, 2, 3, 2}, {4, 2}, {2, 1, 4, 2}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return attention_ref(x[0], x[1], x[2], {.keep = pattern, .scale = 0.7});
                   }},
        OpInfo{.name = "scaled_dot_product_attention (additive mask)",
               .op = "scaled_dot_product_attention",
               .fn = op([](const auto& in) { return tg::scaled_dot_product_attention(in[0], in[1], in[2], in[3]); }),
               .cases = {{{3, 4}, {5, 4}, {5, 2}, {3, 5}},
                         {{2, 3, 4}, {2, 5, 4}, {5, 2}, {1, 5}},  // a key-padding-like mask, broadcast
                         {{2, 2, 3, 4}, {2, 1, 5, 4}, {5, 2}, {2, 1, 3, 5}}},
               .reference =
                   [](const std::vector<Array>& x) { return attention_ref(x[0], x[1], x[2], {.additive = &x[3]}); }},
        OpInfo{.name = "scaled_dot_product_attention (additive mask with -inf, a fully masked row)",
               .op = "scaled_dot_product_attention",
               .fn = op([](const auto& in) {
                   using T = typename std::decay_t<decltype(in[0])>::value_type;
                   const T inf = std::numeric_limits<T>::infinity();
                   // Row 0 sees keys 0 and 2, row 1 none; the mask is a constant, never differentiated.
                   const tg::Tensor<T> mask({{T(0), -inf, T(0.5)}, {-inf, -inf, -inf}});
                   return tg::scaled_dot_product_attention(in[0], in[1], in[2], mask);
               }),
               .cases = {{{2, 2}, {3, 2}, {3, 2}}, {{2, 2, 2}, {3, 2}, {2, 3, 1}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       const double inf = std::numeric_limits<double>::infinity();
                       const Array mask = {{0.0, -inf, 0.5}, {-inf, -inf, -inf}};
                       return attention_ref(x[0], x[1], x[2], {.additive = &mask});
                   }},
        OpInfo{.name = "scaled_dot_product_attention (dropout_p 0.3, fixed seed)",
               .op = "scaled_dot_product_attention",
               .fn = op([](const auto& in) {
                   tg::Generator gen(11);  // the same draws on every call, so gradcheck sees one function
                   return tg::scaled_dot_product_attention(in[0], in[1], in[2], {}, false, 0.3, std::nullopt, &gen);
               }),
               .cases = {{{3, 4}, {5, 4}, {5, 2}}, {{2, 3, 2}, {2, 4, 2}, {2, 4, 3}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return attention_ref(x[0], x[1], x[2], {.dropout_p = 0.3, .seed = 11});
                   }},
        OpInfo{
            .name = "attention_weights",
            .op = "attention_weights",
            .readme = {"`attention_weights(q, k[, mask, is_causal, dropout_p, scale, gen])`",
                       "dropout(softmax(scale q kᵀ + mask)): the weights of scaled_dot_product_attention",
                       "as scaled_dot_product_attention's, from dw = g"},
            .fn = op([](const auto& in) { return tg::attention_weights(in[0], in[1]); }),
            .cases = {{{3, 4}, {5, 4}}, {{2, 1, 3, 4}, {3, 5, 4}}, {{0, 2}, {3, 2}}, {{2, 3}, {0, 3}}},
            .reference = [](const std::vector<Array>& x) { return weights_ref(x[0], x[1], {}); },
            .errors = {error_case("E of q and k differ", {{3, 4}},
                                  [](const tg::TensorD& q) {
                                      tg::attention_weights(q, tg::TensorD(xt::zeros<double>({5, 3})));
                                  },
                                  Expect::Shape, {"attention_weights", "q has shape [3, 4]", "k has shape [5, 3]"})}},
        OpInfo{.name = "attention_weights (boolean mask, dropout_p 0.5, fixed seed)",
               .op = "attention_weights",
               .fn = op([](const auto& in) {
                   tg::Generator gen(5);
                   return tg::attention_weights(in[0], in[1], pattern_mask({2, 3, 4}), false, 0.5, std::nullopt, &gen);
               }),
               .cases = {{{2, 3, 2}, {2, 4, 2}}, {{2, 3, 2}, {4, 2}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return weights_ref(x[0], x[1], {.keep = pattern, .dropout_p = 0.5, .seed = 5});
                   }},
    };
}

const RegisterFamily registered{{.name = "attention", .order = 36, .rows = attention_rows}};

}  // namespace

}  // namespace optable
