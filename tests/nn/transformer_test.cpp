// TransformerEncoderLayer and TransformerEncoder: PyTorch's state_dict keys, forward against a
// plain-loop reference (post-norm and pre-norm, ReLU and GELU, causal), causality, gradients.
#include <cmath>
#include <map>

#include <catch2/catch.hpp>
#include <tapegrad/tapegrad.hpp>
#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>

namespace tg = tapegrad;
namespace nn = tapegrad::nn;

namespace {

using Mat = xt::xtensor<double, 2>;

Mat param(const nn::Module<double>& m, const std::string& name) {
    for (const auto& [key, p] : m.named_parameters())
        if (key == name) {
            const xt::xarray<double>& v = p.value();
            return v.dimension() == 1 ? Mat(xt::reshape_view(v, {std::size_t(1), v.size()})) : Mat(v);
        }
    FAIL("no parameter " << name);
    return {};
}

// y = x W^T + b for x [S, in], W [out, in], b [1, out].
Mat linear(const Mat& x, const Mat& w, const Mat& b) {
    Mat y = xt::zeros<double>({x.shape(0), w.shape(0)});
    for (std::size_t s = 0; s < x.shape(0); ++s)
        for (std::size_t o = 0; o < w.shape(0); ++o) {
            double acc = b(0, o);
            for (std::size_t i = 0; i < x.shape(1); ++i) acc += x(s, i) * w(o, i);
            y(s, o) = acc;
        }
    return y;
}

// Each row normalised with its biased variance, then scaled and shifted.
Mat layer_norm(const Mat& x, const Mat& g, const Mat& b, double eps) {
    Mat y = x;
    const auto n = static_cast<double>(x.shape(1));
    for (std::size_t s = 0; s < x.shape(0); ++s) {
        double mean = 0, var = 0;
        for (std::size_t i = 0; i < x.shape(1); ++i) mean += x(s, i) / n;
        for (std::size_t i = 0; i < x.shape(1); ++i) var += (x(s, i) - mean) * (x(s, i) - mean) / n;
        for (std::size_t i = 0; i < x.shape(1); ++i)
            y(s, i) = (x(s, i) - mean) / std::sqrt(var + eps) * g(0, i) + b(0, i);
    }
    return y;
}

// Multi-head self-attention of one sequence x [S, E], optionally causal.
Mat self_attention(const Mat& x, const Mat& w_in, const Mat& b_in, const Mat& w_out, const Mat& b_out,
                   std::size_t heads, bool causal) {
    const std::size_t S = x.shape(0), E = x.shape(1), d = E / heads;
    const Mat qkv = linear(x, w_in, b_in);  // [S, 3E]: q, k, v side by side
    Mat joined = xt::zeros<double>({S, E});
    for (std::size_t h = 0; h < heads; ++h)
        for (std::size_t i = 0; i < S; ++i) {
            std::vector<double> score(S, -INFINITY);
            double top = -INFINITY;
            for (std::size_t j = 0; j < S && (!causal || j <= i); ++j) {
                double dot = 0;
                for (std::size_t c = 0; c < d; ++c) dot += qkv(i, h * d + c) * qkv(j, E + h * d + c);
                score[j] = dot / std::sqrt(static_cast<double>(d));
                top = std::max(top, score[j]);
            }
            double total = 0;
            for (auto& s : score) total += (s = std::exp(s - top));
            for (std::size_t j = 0; j < S; ++j)
                for (std::size_t c = 0; c < d; ++c)
                    joined(i, h * d + c) += score[j] / total * qkv(j, 2 * E + h * d + c);
        }
    return linear(joined, w_out, b_out);
}

double activate(double v, nn::TransformerActivation a) {
    return a == nn::TransformerActivation::GELU ? 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))) : std::max(v, 0.0);
}

// One encoder layer on one sequence, from the layer's parameters named `prefix`*.
Mat reference_layer(const nn::Module<double>& m, const std::string& prefix, const Mat& x,
                    const nn::TransformerEncoderLayerOptions& o, bool causal) {
    auto p = [&](const std::string& name) { return param(m, prefix + name); };
    auto sa = [&](const Mat& h) {
        return self_attention(h, p("self_attn.in_proj_weight"), p("self_attn.in_proj_bias"),
                              p("self_attn.out_proj.weight"), p("self_attn.out_proj.bias"), o.nhead, causal);
    };
    auto ff = [&](const Mat& h) {
        Mat hidden = linear(h, p("linear1.weight"), p("linear1.bias"));
        for (auto& v : hidden) v = activate(v, o.activation);
        return linear(hidden, p("linear2.weight"), p("linear2.bias"));
    };
    auto norm1 = [&](const Mat& h) { return layer_norm(h, p("norm1.weight"), p("norm1.bias"), o.layer_norm_eps); };
    auto norm2 = [&](const Mat& h) { return layer_norm(h, p("norm2.weight"), p("norm2.bias"), o.layer_norm_eps); };
    if (o.norm_first) {
        const Mat h = x + sa(norm1(x));
        return h + ff(norm2(h));
    }
    const Mat h = norm1(x + sa(x));
    return norm2(h + ff(h));
}

// Parameters moved off PyTorch's initial values (zero biases, unit norms) so every term is tested.
void perturb(nn::Module<double>& m, tg::Generator& gen) {
    tg::NoGradGuard no_grad;
    for (auto& p : m.parameters()) p.add_(tg::randn<double>(p.shape(), gen), 0.3);
}

std::vector<std::string> names_of(const nn::Module<double>& m) {
    std::vector<std::string> out;
    for (const auto& [name, p] : m.named_parameters()) out.push_back(name);
    return out;
}

}  // namespace

TEST_CASE("TransformerEncoderLayer: parameters carry PyTorch's state_dict keys and shapes", "[nn][transformer]") {
    tg::Generator gen(1);
    nn::TransformerEncoderLayer<double> layer({.d_model = 8, .nhead = 2, .dim_feedforward = 16}, gen);
    CHECK(names_of(layer) ==
          std::vector<std::string>{"self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
                                   "self_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight",
                                   "linear2.bias", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"});
    CHECK(layer.num_parameters() == 3 * 8 * 8 + 3 * 8 + 8 * 8 + 8 + 16 * 8 + 16 + 8 * 16 + 8 + 4 * 8);
    nn::TransformerEncoder<double> encoder({.d_model = 8, .nhead = 2, .dim_feedforward = 16}, 2, gen, true);
    const auto names = names_of(encoder);
    REQUIRE(names.size() == 2 * 12 + 2);
    CHECK(names[0] == "layers.0.self_attn.in_proj_weight");
    CHECK(names[12] == "layers.1.self_attn.in_proj_weight");
    CHECK(names[24] == "norm.weight");
    CHECK(names[25] == "norm.bias");
}

TEST_CASE("TransformerEncoderLayer: forward equals a plain-loop layer, post-norm and pre-norm", "[nn][transformer]") {
    for (const bool norm_first : {false, true}) {
        for (const auto activation : {nn::TransformerActivation::ReLU, nn::TransformerActivation::GELU}) {
            for (const bool causal : {false, true}) {
                CAPTURE(norm_first, static_cast<int>(activation), causal);
                tg::Generator gen(7);
                const nn::TransformerEncoderLayerOptions o{.d_model = 6,
                                                           .nhead = 3,
                                                           .dim_feedforward = 10,
                                                           .activation = activation,
                                                           .batch_first = true,
                                                           .norm_first = norm_first};
                nn::TransformerEncoderLayer<double> layer(o, gen);
                perturb(layer, gen);
                layer.eval();  // no dropout: the reference has none
                const auto x = tg::randn<double>({2, 5, 6}, gen);
                const auto y = layer.forward(x, {.is_causal = causal});
                REQUIRE(y.shape() == tg::Shape{2, 5, 6});
                for (std::size_t n = 0; n < 2; ++n) {
                    const Mat xs = xt::view(x.value(), n, xt::all(), xt::all());
                    const Mat expected = reference_layer(layer, "", xs, o, causal);
                    const Mat got = xt::view(y.value(), n, xt::all(), xt::all());
                    CHECK(xt::allclose(got, expected, 1e-12, 1e-12));
                }
            }
        }
    }
}

TEST_CASE("TransformerEncoder: layers in turn, then the final norm, with a causal mask as a tensor",
          "[nn][transformer]") {
    tg::Generator gen(8);
    const nn::TransformerEncoderLayerOptions o{.d_model = 4, .nhead = 2, .dim_feedforward = 8, .norm_first = true};
    nn::TransformerEncoder<double> encoder(o, 2, gen, /*final_norm=*/true);
    perturb(encoder, gen);
    encoder.eval();
    const auto x = tg::randn<double>({5, 1, 4}, gen);  // [S, N, E]: batch_first is false
    const auto y = encoder.forward(x, {.mask = nn::causal_mask<double>(5)});
    Mat h = xt::view(x.value(), xt::all(), 0, xt::all());
    for (std::size_t i = 0; i < 2; ++i) h = reference_layer(encoder, "layers." + std::to_string(i) + ".", h, o, true);
    h = layer_norm(h, param(encoder, "norm.weight"), param(encoder, "norm.bias"), o.layer_norm_eps);
    const Mat got = xt::view(y.value(), xt::all(), 0, xt::all());
    CHECK(xt::allclose(got, h, 1e-12, 1e-12));
    // The same through is_causal.
    CHECK(encoder.forward(x, {.is_causal = true}).value() == y.value());
}

TEST_CASE("TransformerEncoder: a causal stack's output at position i does not depend on later positions",
          "[nn][transformer]") {
    tg::Generator gen(9);
    nn::TransformerEncoder<double> encoder({.d_model = 8, .nhead = 2, .dim_feedforward = 16, .batch_first = true}, 3,
                                           gen);
    encoder.eval();
    const auto x = tg::randn<double>({1, 6, 8}, gen);
    auto changed = x.detach();
    {
        tg::NoGradGuard no_grad;
        xt::view(changed.mutable_value(), 0, 4, xt::all()) += 1.0;  // position 4 changes
    }
    const xt::xarray<double> a = encoder.forward(x, {.is_causal = true}).value();
    const xt::xarray<double> b = encoder.forward(changed, {.is_causal = true}).value();
    const xt::xarray<double> a_before = xt::view(a, 0, xt::range(0, 4), xt::all());
    const xt::xarray<double> b_before = xt::view(b, 0, xt::range(0, 4), xt::all());
    CHECK(a_before == b_before);
    const bool position_4_same = xt::allclose(xt::view(a, 0, 4, xt::all()), xt::view(b, 0, 4, xt::all()));
    CHECK_FALSE(position_4_same);
}

TEST_CASE("TransformerEncoderLayer: dropout acts in training mode only, and the float64 twin replays it",
          "[nn][transformer]") {
    tg::Generator gen(10);
    nn::TransformerEncoderLayer<float> layer({.d_model = 8, .nhead = 2, .dim_feedforward = 16, .dropout = 0.5}, gen);
    const auto x = tg::randn<float>({4, 2, 8}, gen);
    layer.eval();
    const auto evaluated = layer(x).value();
    CHECK(layer(x).value() == evaluated);
    layer.train();
    auto twin = layer.to_float64();
    const xt::xarray<double> trained = xt::cast<double>(layer(x).value());
    CHECK_FALSE(xt::allclose(trained, xt::cast<double>(evaluated)));
    CHECK(xt::allclose(twin->forward(x.to<double>()).value(), trained, 1e-5, 1e-5));
}

TEST_CASE("TransformerEncoderLayer: bad settings are ValueErrors naming the module", "[nn][transformer][errors]") {
    tg::Generator gen(11);
    CHECK_THROWS_AS(nn::TransformerEncoderLayer<float>({.d_model = 6, .nhead = 4}, gen), tg::ValueError);
    CHECK_THROWS_WITH(nn::TransformerEncoderLayer<float>({.d_model = 6, .nhead = 4}, gen),
                      Catch::Matchers::Contains("TransformerEncoderLayer") && Catch::Matchers::Contains("nhead"));
    CHECK_THROWS_AS(nn::TransformerEncoder<float>({.d_model = 4, .nhead = 2}, 0, gen), tg::ValueError);
}
