// nn::MultiheadAttention against multi-head attention written out with loops in float64
// (projections, heads, max-shifted softmax, merge, out_proj), and its gradients against central
// finite differences.
#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include <catch2/catch.hpp>
#include <xtensor/xview.hpp>

#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
using Arr = xt::xarray<double>;

namespace {

const double kInf = std::numeric_limits<double>::infinity();

/// The reference's masks over [N, H, L, S]: an additive score per element (-inf = masked out).
using ScoreMask = std::function<double(std::size_t n, std::size_t h, std::size_t i, std::size_t j)>;

struct RefOut {
    Arr output;   // [N, L, E]
    Arr weights;  // [N, H, L, S]
};

/// y[n, t, o] = sum_c x[n, t, c] W[row0 + o, c] + b[row0 + o] for o < out.
Arr project(const Arr& x, const Arr& w, const Arr* b, std::size_t row0, std::size_t out) {
    const std::size_t n = x.shape()[0], len = x.shape()[1], in = x.shape()[2];
    Arr y = Arr::from_shape({n, len, out});
    for (std::size_t a = 0; a < n; ++a)
        for (std::size_t t = 0; t < len; ++t)
            for (std::size_t o = 0; o < out; ++o) {
                double s = b ? (*b)(row0 + o) : 0.0;
                for (std::size_t c = 0; c < in; ++c) s += x(a, t, c) * w(row0 + o, c);
                y(a, t, o) = s;
            }
    return y;
}

/// Multi-head attention on batch-major inputs [N, L, E], [N, S, kdim], [N, S, vdim].
RefOut mha_ref(const Arr& query, const Arr& key, const Arr& value, const Arr& wq, const Arr& wk, const Arr& wv,
               const Arr* b_in, const Arr& w_out, const Arr& b_out, std::size_t heads, const ScoreMask& mask) {
    const std::size_t e = wq.shape()[0], d = e / heads;
    const std::size_t n = query.shape()[0], l_len = query.shape()[1], s_len = key.shape()[1];
    // wq/wk/wv hold their rows at 0; the bias is [3E] with q, k, v parts at 0, E, 2E.
    Arr bq = b_in ? Arr(xt::view(*b_in, xt::range(0, e))) : Arr(), bk, bv;
    if (b_in) {
        bk = xt::view(*b_in, xt::range(e, 2 * e));
        bv = xt::view(*b_in, xt::range(2 * e, 3 * e));
    }
    const Arr q = project(query, wq, b_in ? &bq : nullptr, 0, e), k = project(key, wk, b_in ? &bk : nullptr, 0, e);
    const Arr v = project(value, wv, b_in ? &bv : nullptr, 0, e);
    Arr w = Arr::from_shape({n, heads, l_len, s_len});
    Arr merged = xt::zeros<double>({n, l_len, e});
    for (std::size_t a = 0; a < n; ++a)
        for (std::size_t h = 0; h < heads; ++h)
            for (std::size_t i = 0; i < l_len; ++i) {
                double top = -kInf;
                for (std::size_t j = 0; j < s_len; ++j) {
                    double s = 0;
                    for (std::size_t c = 0; c < d; ++c) s += q(a, i, h * d + c) * k(a, j, h * d + c);
                    s = s / std::sqrt(double(d)) + (mask ? mask(a, h, i, j) : 0.0);
                    w(a, h, i, j) = s;
                    top = std::max(top, s);
                }
                double total = 0;
                for (std::size_t j = 0; j < s_len; ++j)
                    total += w(a, h, i, j) = top == -kInf ? 0.0 : std::exp(w(a, h, i, j) - top);
                for (std::size_t j = 0; j < s_len; ++j) {
                    w(a, h, i, j) = total == 0 ? 0.0 : w(a, h, i, j) / total;
                    for (std::size_t c = 0; c < d; ++c) merged(a, i, h * d + c) += w(a, h, i, j) * v(a, j, h * d + c);
                }
            }
    return {project(merged, w_out, &b_out, 0, e), w};
}

/// The reference for a module with packed in_proj_weight.
RefOut mha_ref(const tg::nn::MultiheadAttention<double>& m, const Arr& query, const Arr& key, const Arr& value,
               const ScoreMask& mask = {}) {
    const std::size_t e = m.embed_dim();
    const Arr& w = m.in_proj_weight().value();
    const Arr wq = xt::view(w, xt::range(0, e)), wk = xt::view(w, xt::range(e, 2 * e));
    const Arr wv = xt::view(w, xt::range(2 * e, 3 * e));
    const Arr bias = m.in_proj_bias().value();
    return mha_ref(query, key, value, wq, wk, wv, &bias, m.out_proj().weight().value(), m.out_proj().bias().value(),
                   m.num_heads(), mask);
}

tg::TensorD random(const tg::Shape& shape, tg::Generator& gen) {
    Arr a = Arr::from_shape(shape);
    for (auto& x : a) x = gen.uniform(-1, 1);
    return tg::TensorD(a);
}

/// The biases are zero after construction; give them values so that they are tested.
void randomise_biases(tg::nn::MultiheadAttention<double>& m, tg::Generator& gen) {
    tg::NoGradGuard guard;
    for (tg::TensorD b : {m.in_proj_bias(), m.out_proj().bias()})  // handles: the module's own state
        for (auto& x : b.mutable_value()) x = gen.uniform(-0.5, 0.5);
}

bool close(const Arr& a, const Arr& b, double tol = 1e-12) {
    return a.shape() == b.shape() && xt::allclose(a, b, tol, tol);
}

Arr seq_major(const Arr& x) {  // [L, N, E] <-> [N, L, E]
    return xt::transpose(x, {1, 0, 2});
}

}  // namespace

TEST_CASE("MultiheadAttention: parameter names, shapes and PyTorch's initialisation", "[nn][attention]") {
    tg::Generator gen(1);
    tg::nn::MultiheadAttention<float> m(8, 2, gen);
    const auto named = m.named_parameters();
    REQUIRE(named.size() == 4);
    CHECK(named[0].first == "in_proj_weight");
    CHECK(named[0].second.shape() == tg::Shape{24, 8});
    CHECK(named[1].first == "in_proj_bias");
    CHECK(named[1].second.shape() == tg::Shape{24});
    CHECK(named[2].first == "out_proj.weight");
    CHECK(named[2].second.shape() == tg::Shape{8, 8});
    CHECK(named[3].first == "out_proj.bias");
    CHECK(xt::amax(xt::abs(named[1].second.value()))() == 0.0F);
    CHECK(xt::amax(xt::abs(named[3].second.value()))() == 0.0F);
    // xavier_uniform_: U(-a, a) with a = sqrt(6 / (fan_in + fan_out)) = sqrt(6 / 32).
    const float bound = std::sqrt(6.0F / 32.0F), spread = xt::amax(xt::abs(named[0].second.value()))();
    CHECK(spread <= bound);
    CHECK(spread > 0.8F * bound);
    // Linear's default for out_proj.weight: U(-1/sqrt(8), 1/sqrt(8)).
    CHECK(xt::amax(xt::abs(named[2].second.value()))() <= 1.0F / std::sqrt(8.0F));

    tg::nn::MultiheadAttention<float> kv(8, 2, gen, 0, true, false, 3, 5);
    std::vector<std::pair<std::string, tg::Shape>> got;
    for (const auto& [name, t] : kv.named_parameters()) got.emplace_back(name, t.shape());
    CHECK(got == std::vector<std::pair<std::string, tg::Shape>>{{"q_proj_weight", {8, 8}},
                                                                {"k_proj_weight", {8, 3}},
                                                                {"v_proj_weight", {8, 5}},
                                                                {"in_proj_bias", {24}},
                                                                {"out_proj.weight", {8, 8}},
                                                                {"out_proj.bias", {8}}});
    tg::nn::MultiheadAttention<float> nobias(8, 2, gen, 0, false);
    CHECK(nobias.named_parameters().size() == 2);
    CHECK_THROWS_AS(tg::nn::MultiheadAttention<float>(6, 4, gen), tg::ValueError);
}

TEST_CASE("MultiheadAttention: forward equals the loop reference, batch_first or not", "[nn][attention]") {
    tg::Generator gen(2);
    for (const bool batch_first : {false, true}) {
        tg::nn::MultiheadAttention<double> m(4, 2, gen, 0, true, batch_first);
        randomise_biases(m, gen);
        const tg::TensorD q = random({2, 3, 4}, gen), k = random({2, 5, 4}, gen), v = random({2, 5, 4}, gen);
        const auto layout = [&](const tg::TensorD& x) { return batch_first ? x : tg::TensorD(seq_major(x.value())); };
        const RefOut want = mha_ref(m, q.value(), k.value(), v.value());
        const auto got = m.forward(layout(q), layout(k), layout(v));
        const Arr out = batch_first ? got.output.value() : seq_major(got.output.value());
        CHECK(close(out, want.output));
        CHECK(close(got.weights.value(), xt::mean(want.weights, {1})));
        const auto per_head = m.forward(layout(q), layout(k), layout(v), {.average_attn_weights = false});
        CHECK(close(per_head.weights.value(), want.weights));
        const auto no_weights = m.forward(layout(q), layout(k), layout(v), {.need_weights = false});
        CHECK_FALSE(no_weights.weights.defined());
        CHECK(close(no_weights.output.value(), got.output.value()));
        // Self-attention (one tensor for query, key and value) takes the packed projection.
        const auto self = m.forward(layout(q), layout(q), layout(q));
        const Arr self_out = batch_first ? self.output.value() : seq_major(self.output.value());
        CHECK(close(self_out, mha_ref(m, q.value(), q.value(), q.value()).output));
    }
}

TEST_CASE("MultiheadAttention: attn_mask (boolean and additive) and key_padding_mask", "[nn][attention]") {
    tg::Generator gen(3);
    tg::nn::MultiheadAttention<double> m(4, 2, gen, 0, true, true);
    randomise_biases(m, gen);
    const tg::TensorD q = random({2, 3, 4}, gen), k = random({2, 5, 4}, gen), v = random({2, 5, 4}, gen);
    // Boolean [L, S], true = NOT allowed (PyTorch's MultiheadAttention convention).
    const tg::Mask banned = {
        {false, true, false, false, true}, {true, false, false, true, false}, {false, false, true, false, false}};
    const tg::Mask pad = {{false, false, false, false, true}, {false, true, false, false, false}};
    const ScoreMask both = [&](std::size_t n, std::size_t, std::size_t i, std::size_t j) {
        return banned[i * 5 + j] || pad[n * 5 + j] ? -kInf : 0.0;
    };
    for (const bool need_weights : {true, false}) {
        const auto got =
            m.forward(q, k, v, {.key_padding_mask = pad, .need_weights = need_weights, .attn_mask = banned});
        const RefOut want = mha_ref(m, q.value(), k.value(), v.value(), both);
        CHECK(close(got.output.value(), want.output));
        if (need_weights) CHECK(close(got.weights.value(), xt::mean(want.weights, {1})));
    }
    // Additive [N * H, L, S] with key_padding_mask.
    const tg::TensorD add = random({4, 3, 5}, gen);
    const ScoreMask additive = [&](std::size_t n, std::size_t h, std::size_t i, std::size_t j) {
        return pad[n * 5 + j] ? -kInf : add.value()(n * 2 + h, i, j);
    };
    const auto got = m.forward(q, k, v, {.key_padding_mask = pad, .attn_mask = add, .average_attn_weights = false});
    const RefOut want = mha_ref(m, q.value(), k.value(), v.value(), additive);
    CHECK(close(got.output.value(), want.output));
    CHECK(close(got.weights.value(), want.weights));
}

TEST_CASE("MultiheadAttention: is_causal and causal_mask", "[nn][attention]") {
    const Arr mask = tg::nn::causal_mask<double>(3).value();
    const Arr want = {{0.0, -kInf, -kInf}, {0.0, 0.0, -kInf}, {0.0, 0.0, 0.0}};
    CHECK(mask == want);
    tg::Generator gen(4);
    tg::nn::MultiheadAttention<double> m(4, 2, gen, 0, true, true);
    randomise_biases(m, gen);
    const tg::TensorD x = random({2, 3, 4}, gen);
    const ScoreMask causal = [](std::size_t, std::size_t, std::size_t i, std::size_t j) { return j > i ? -kInf : 0.0; };
    const RefOut ref = mha_ref(m, x.value(), x.value(), x.value(), causal);
    CHECK(close(m.forward(x, x, x, {.need_weights = false, .is_causal = true}).output.value(), ref.output));
    CHECK(close(m.forward(x, x, x, {.attn_mask = tg::nn::causal_mask<double>(3)}).output.value(), ref.output));
    // With a key_padding_mask the triangle is merged with it.
    const tg::Mask pad = {{false, false, true}, {false, false, false}};
    const ScoreMask merged = [&](std::size_t n, std::size_t, std::size_t i, std::size_t j) {
        return j > i || pad[n * 3 + j] ? -kInf : 0.0;
    };
    CHECK(close(m.forward(x, x, x, {.key_padding_mask = pad, .is_causal = true}).output.value(),
                mha_ref(m, x.value(), x.value(), x.value(), merged).output));
}

TEST_CASE("MultiheadAttention: a query whose every key is padding gets weights 0", "[nn][attention]") {
    tg::Generator gen(5);
    tg::nn::MultiheadAttention<double> m(4, 2, gen, 0, true, true);
    randomise_biases(m, gen);
    const tg::TensorD x = random({2, 3, 4}, gen);
    const tg::Mask pad = {{true, true, true}, {false, true, false}};
    const auto got = m.forward(x, x, x, {.key_padding_mask = pad});
    // PyTorch's MultiheadAttention gives NaN here; tapegrad gives weights 0, so the output is the
    // projection of zero heads: out_proj.bias.
    for (std::size_t i = 0; i < 3; ++i) {
        for (std::size_t c = 0; c < 4; ++c) CHECK(got.output.value()(0, i, c) == m.out_proj().bias().value()(c));
        for (std::size_t j = 0; j < 3; ++j) CHECK(got.weights.value()(0, i, j) == 0.0);
    }
    const ScoreMask padded = [&](std::size_t n, std::size_t, std::size_t, std::size_t j) {
        return pad[n * 3 + j] ? -kInf : 0.0;
    };
    CHECK(close(got.output.value(), mha_ref(m, x.value(), x.value(), x.value(), padded).output));
}

TEST_CASE("MultiheadAttention: unbatched inputs and kdim, vdim", "[nn][attention]") {
    tg::Generator gen(6);
    tg::nn::MultiheadAttention<double> m(4, 2, gen);
    randomise_biases(m, gen);
    const tg::TensorD q = random({3, 4}, gen), k = random({5, 4}, gen), v = random({5, 4}, gen);
    const auto got = m.forward(q, k, v, {.key_padding_mask = tg::Mask{false, false, true, false, false}});
    const auto batched = [](const tg::TensorD& x) { return Arr(xt::expand_dims(x.value(), 0)); };
    const ScoreMask pad = [](std::size_t, std::size_t, std::size_t, std::size_t j) { return j == 2 ? -kInf : 0.0; };
    const RefOut want = mha_ref(m, batched(q), batched(k), batched(v), pad);
    CHECK(close(got.output.value(), xt::view(want.output, 0)));
    CHECK(close(got.weights.value(), xt::view(xt::mean(want.weights, {1}), 0)));

    tg::nn::MultiheadAttention<double> kv(4, 2, gen, 0, true, true, 3, 2);
    randomise_biases(kv, gen);
    const tg::TensorD qq = random({2, 3, 4}, gen), kk = random({2, 5, 3}, gen), vv = random({2, 5, 2}, gen);
    const Arr b = kv.in_proj_bias().value();
    const auto named = kv.named_parameters();
    const RefOut ref =
        mha_ref(qq.value(), kk.value(), vv.value(), named[0].second.value(), named[1].second.value(),
                named[2].second.value(), &b, kv.out_proj().weight().value(), kv.out_proj().bias().value(), 2, {});
    CHECK(close(kv.forward(qq, kk, vv).output.value(), ref.output));
}

TEST_CASE("MultiheadAttention: dropout in training mode only", "[nn][attention]") {
    tg::Generator gen(7);
    tg::nn::MultiheadAttention<double> m(4, 2, gen, 0.5, true, true);
    const tg::TensorD x = random({2, 3, 4}, gen);
    m.eval();
    const Arr plain = m.forward(x, x, x, {.average_attn_weights = false}).weights.value();
    m.train();
    tg::Generator drops(8);
    const Arr dropped = m.forward(x, x, x, {.average_attn_weights = false, .gen = &drops}).weights.value();
    std::size_t zeros = 0;
    for (std::size_t i = 0; i < plain.size(); ++i) {
        const double y = dropped.data()[i];
        CHECK((y == 0.0 || std::abs(y - 2 * plain.data()[i]) < 1e-12));  // kept weights scaled by 1/(1 - p)
        zeros += y == 0.0;
    }
    CHECK(zeros > 0);
    CHECK(zeros < plain.size());
}

TEST_CASE("MultiheadAttention: float64 gradients match finite differences", "[nn][attention][gradcheck]") {
    tg::Generator gen(9);
    tg::nn::MultiheadAttention<float> single(4, 2, gen, 0, true, false);
    auto m = std::dynamic_pointer_cast<tg::nn::MultiheadAttention<double>>(single.to_float64());
    REQUIRE(m);
    randomise_biases(*m, gen);
    const tg::Mask pad = {{false, false, false, true}, {false, false, false, false}};
    const tg::TensorD add = random({3, 4}, gen);
    tg::TensorD q = random({3, 2, 4}, gen), k = random({4, 2, 4}, gen), v = random({4, 2, 4}, gen);
    q.requires_grad_();
    k.requires_grad_();
    v.requires_grad_();
    // Inputs: output and averaged weights both depend on them.
    const auto f = [&](const std::vector<tg::TensorD>& in) -> tg::TensorD {
        const auto r = m->forward(in[0], in[1], in[2], {.key_padding_mask = pad, .attn_mask = add});
        return tg::concat(std::vector<tg::TensorD>{tg::flatten(r.output), tg::flatten(r.weights)});
    };
    const auto result = tg::gradcheck<double>(f, {q, k, v});
    INFO(result.report());
    CHECK(result.ok);
    // Parameters: the tape's gradient of sum(u * output) against central differences of the
    // module's own forward with each parameter element moved by +-eps.
    const tg::TensorD u = random({3, 2, 4}, gen);
    const auto loss = [&] { return tg::sum(tg::mul(m->forward(q, k, v, {.attn_mask = add}).output, u)); };
    m->zero_grad();
    loss().backward();
    const double eps = 1e-6;
    for (auto& [name, p] : m->named_parameters()) {
        for (std::size_t i = 0; i < p.numel(); ++i) {
            double& x = p.mutable_value().data()[i];
            const double saved = x;
            x = saved + eps;
            const double up = loss().item();
            x = saved - eps;
            const double down = loss().item();
            x = saved;
            INFO(name << " element " << i);
            CHECK(p.grad().value().data()[i] == Approx((up - down) / (2 * eps)).margin(1e-7));
        }
    }
}

TEST_CASE("MultiheadAttention: shape errors name the module and the shapes", "[nn][attention][errors]") {
    tg::Generator gen(10);
    tg::nn::MultiheadAttention<double> m(4, 2, gen);
    const tg::TensorD x = random({3, 2, 4}, gen);
    CHECK_THROWS_WITH(m.forward(x, x, random({3, 4}, gen)),
                      Catch::Contains("MultiheadAttention") && Catch::Contains("[3, 4]"));
    CHECK_THROWS_WITH(m.forward(random({3, 2, 5}, gen), x, x),
                      Catch::Contains("MultiheadAttention") && Catch::Contains("[3, 2, 5]"));
    CHECK_THROWS_WITH(m.forward(x, x, x, {.key_padding_mask = tg::Mask::full({2, 4}, false)}),
                      Catch::Contains("key_padding_mask has shape [2, 4]") && Catch::Contains("[2, 3]"));
    CHECK_THROWS_WITH(m.forward(x, x, x, {.attn_mask = tg::Mask::full({2, 3, 3}, false)}),
                      Catch::Contains("attn_mask has shape [2, 3, 3]") && Catch::Contains("[4, 3, 3]"));
}
