// Per-sample gradients and their norms: against a closed form (one Dense with a squared error),
// float64 central finite differences of each sample's loss (tiny models, every path), a loop of
// tapegrad::grad calls (larger models: the fast path against the exact one) and the norms of the
// materialised gradients; the refusals; nothing of the user's changed after a throw.
#include <catch2/catch.hpp>

#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>
#include <xtensor/xview.hpp>

namespace tg = tapegrad;
namespace nn = tapegrad::nn;
using tg::TensorD;
using Array = xt::xarray<double>;

namespace {

bool close(const Array& a, const Array& b, double tol) {
    return a.shape() == b.shape() && xt::allclose(a, b, tol, tol);
}

// Sample i's loss as a number: the model on x[i:i+1] (nothing recorded).
template <class Model, class X, class Y, class LossFn>
double sample_loss(Model& model, LossFn& loss_fn, const X& x, const Y& y, std::int64_t i) {
    tg::NoGradGuard no_grad;
    auto xi = nn::detail::sample_rows(x, i, i + 1);
    auto yi = nn::detail::sample_rows(y, i, i + 1);
    return loss_fn(model(xi), yi).item();
}

// d loss_i / d p by float64 central differences, as [B, *p.shape], for every parameter.
template <class Model, class X, class Y, class LossFn>
std::vector<Array> finite_differences(Model& model, LossFn loss_fn, const X& x, const Y& y) {
    const double h = 1e-6;
    const auto batch = static_cast<std::int64_t>(x.shape()[0]);
    std::vector<Array> out;
    for (auto& [name, p] : model.named_parameters()) {
        tg::Shape shape{static_cast<std::size_t>(batch)};
        shape.insert(shape.end(), p.shape().begin(), p.shape().end());
        Array g = xt::zeros<double>(shape);
        for (std::int64_t i = 0; i < batch; ++i)
            for (std::size_t j = 0; j < p.numel(); ++j) {
                double* v = p.mutable_value().data() + j;
                const double saved = *v;
                *v = saved + h;
                const double up = sample_loss(model, loss_fn, x, y, i);
                *v = saved - h;
                const double down = sample_loss(model, loss_fn, x, y, i);
                *v = saved;
                g.data()[static_cast<std::size_t>(i) * p.numel() + j] = (up - down) / (2 * h);
            }
        out.push_back(std::move(g));
    }
    return out;
}

// d loss_i / d p for each sample by its own forward and tapegrad::grad, as [B, *p.shape].
template <class Model, class X, class Y, class LossFn>
std::vector<Array> grad_loop(Model& model, LossFn loss_fn, const X& x, const Y& y) {
    const auto batch = static_cast<std::int64_t>(x.shape()[0]);
    std::vector<TensorD> params;
    std::vector<Array> out;
    for (auto& [name, p] : model.named_parameters()) {
        params.push_back(p);
        tg::Shape shape{static_cast<std::size_t>(batch)};
        shape.insert(shape.end(), p.shape().begin(), p.shape().end());
        out.push_back(xt::zeros<double>(shape));
    }
    for (std::int64_t i = 0; i < batch; ++i) {
        auto loss = tg::sum(loss_fn(model(nn::detail::sample_rows(x, i, i + 1)), nn::detail::sample_rows(y, i, i + 1)));
        auto g = tg::grad<double>({loss}, params, {}, std::nullopt, false, true);
        for (std::size_t k = 0; k < params.size(); ++k)
            if (g[k].defined())
                std::copy_n(g[k].value().data(), g[k].numel(),
                            out[k].data() + i * static_cast<std::int64_t>(g[k].numel()));
    }
    return out;
}

// Checks per_sample_grads against `expected` (one array per parameter, named_parameters order) and
// per_sample_grad_norms against the norms of the materialised gradients.
template <class Model, class X, class Y, class LossFn>
void check_all(Model& model, LossFn loss_fn, const X& x, const Y& y, const std::vector<Array>& expected, double tol) {
    auto got = nn::per_sample_grads(model, loss_fn, x, y);
    const auto names = model.named_parameters();
    REQUIRE(got.size() == expected.size());
    const auto batch = x.shape()[0];
    Array squares = xt::zeros<double>({batch});
    for (std::size_t k = 0; k < got.size(); ++k) {
        INFO(got[k].first);
        CHECK(got[k].first == names[k].first);
        const Array& g = got[k].second.value();
        CHECK(close(g, expected[k], tol));
        for (std::size_t i = 0; i < batch; ++i) {
            const std::size_t row = g.size() / batch;
            for (std::size_t j = 0; j < row; ++j) squares(i) += g.data()[i * row + j] * g.data()[i * row + j];
        }
    }
    auto norms = nn::per_sample_grad_norms(model, loss_fn, x, y);
    const Array& n = norms.value();
    const Array want = xt::sqrt(squares);
    CHECK(close(n, want, 1e-10));
}

// The per-sample squared error summed over the features: [B, out] -> [B].
auto squared_error = [](const TensorD& out, const TensorD& y) {
    auto d = tg::reshape(out - y, std::vector<std::int64_t>{static_cast<std::int64_t>(out.shape()[0]), -1});
    return tg::sum(d * d, tg::Dims{1});
};
auto cross_entropy = [](const TensorD& logits, const tg::Labels& y) {
    return tg::cross_entropy(logits, y, tg::Reduction::None);
};

TensorD uniform(const tg::Shape& shape, std::uint64_t seed) {
    tg::Generator gen(seed);
    return tg::rand<double>(shape, gen, -1.0, 1.0);
}

// A custom module: y = tanh(x * scale) with its own parameter, then a Dense it calls itself.
struct Scaled : nn::Module<double> {
    TensorD scale;
    TensorD unused;  // a parameter forward never reads: zero per-sample gradients
    std::shared_ptr<nn::Dense<double>> inner;
    bool fail = false;
    explicit Scaled(tg::Generator& gen) {
        scale = register_parameter("scale", uniform({3}, 7));
        unused = register_parameter("unused", uniform({2}, 8));
        inner = std::dynamic_pointer_cast<nn::Dense<double>>(
            register_module("inner", std::make_shared<nn::Dense<double>>(3, 2, gen)));
    }
    TensorD forward(const TensorD& x) override {
        if (fail) throw std::runtime_error("Scaled: asked to fail");
        return (*inner)(tg::tanh(x * scale));
    }
    std::string name() const override { return "Scaled"; }
};

// An embedding and an output layer tied to its table, on token ids [B, T].
struct TiedLM : nn::Module<double> {
    std::shared_ptr<nn::Embedding<double>> emb;
    std::shared_ptr<nn::Dense<double>> head;
    explicit TiedLM(tg::Generator& gen) {
        emb = std::make_shared<nn::Embedding<double>>(5, 3, gen);
        register_module("emb", emb);
        head = std::make_shared<nn::Dense<double>>(emb->weight(), gen);
        register_module("head", head);
    }
    TensorD operator()(const tg::Indices& idx) { return (*head)(tg::tanh((*emb)(idx))); }
    std::string name() const override { return "TiedLM"; }
};

}  // namespace

TEST_CASE("per_sample_grads: one Dense with a squared error is the closed form 2 (W a + b - y) a^T",
          "[nn][per_sample]") {
    tg::Generator gen(3);
    nn::Dense<double> layer(3, 2, gen);
    const Array w = layer.weight().value(), b = layer.bias().value();
    TensorD x = uniform({4, 3}, 11), y = uniform({4, 2}, 12);
    Array gw = xt::zeros<double>({4, 2, 3}), gb = xt::zeros<double>({4, 2});
    for (std::size_t i = 0; i < 4; ++i)
        for (std::size_t o = 0; o < 2; ++o) {
            double r = b(o) - y.value()(i, o);
            for (std::size_t k = 0; k < 3; ++k) r += w(o, k) * x.value()(i, k);
            gb(i, o) = 2 * r;
            for (std::size_t k = 0; k < 3; ++k) gw(i, o, k) = 2 * r * x.value()(i, k);
        }
    check_all(layer, squared_error, x, y, {gw, gb}, 1e-12);
    CHECK_FALSE(layer.weight().grad().defined());
    CHECK_FALSE(layer.bias().grad().defined());
}

TEST_CASE("per_sample_grads: an MLP of Dense layers (fast path) matches finite differences", "[nn][per_sample]") {
    tg::Generator gen(5);
    auto model =
        nn::Sequential<double>{std::make_shared<nn::Dense<double>>(3, 4, gen), std::make_shared<nn::Tanh<double>>(),
                               std::make_shared<nn::Dense<double>>(4, 3, gen, false)};
    TensorD x = uniform({5, 3}, 21);
    tg::Labels y = {0, 2, 1, 1, 0};
    check_all(model, cross_entropy, x, y, finite_differences(model, cross_entropy, x, y), 1e-7);
}

TEST_CASE("per_sample_grads: Dense on a sequence [B, T, in] matches finite differences, Gram and materialised norms",
          "[nn][per_sample]") {
    tg::Generator gen(6);
    // T = 2: T^2 = 4 < in * out (ghost norm through the Gram matrices); T = 5: 25 > 3 * 4 (materialised).
    for (std::int64_t steps : {2, 5}) {
        auto model =
            nn::Sequential<double>{std::make_shared<nn::Dense<double>>(3, 4, gen), std::make_shared<nn::GELU<double>>(),
                                   std::make_shared<nn::Dense<double>>(4, 2, gen)};
        TensorD x = uniform({3, static_cast<std::size_t>(steps), 3}, 30 + steps);
        TensorD y = uniform({3, static_cast<std::size_t>(steps), 2}, 40 + steps);
        INFO("T = " << steps);
        check_all(model, squared_error, x, y, finite_differences(model, squared_error, x, y), 1e-7);
    }
}

TEST_CASE("per_sample_grads: a Dense called twice and a weight tied between two Dense layers add their calls",
          "[nn][per_sample]") {
    tg::Generator gen(8);
    auto first = std::make_shared<nn::Dense<double>>(3, 3, gen);
    auto tied = std::make_shared<nn::Dense<double>>(first->weight(), gen);
    auto model = nn::Sequential<double>{first, std::make_shared<nn::Tanh<double>>(), first,
                                        std::make_shared<nn::Sigmoid<double>>(), tied};
    REQUIRE(model.named_parameters().size() == 3);  // 0.weight, 0.bias, 4.bias
    TensorD x = uniform({4, 3}, 51), y = uniform({4, 3}, 52);
    check_all(model, squared_error, x, y, finite_differences(model, squared_error, x, y), 1e-7);
}

TEST_CASE("per_sample_grads: LayerNorm (fast), custom modules, RMSNorm, an LSTM (loop) match finite differences",
          "[nn][per_sample]") {
    tg::Generator gen(9);
    SECTION("a custom root module (its own parameter and a Dense it calls)") {
        Scaled model(gen);
        TensorD x = uniform({3, 3}, 61), y = uniform({3, 2}, 62);
        check_all(model, squared_error, x, y, finite_differences(model, squared_error, x, y), 1e-7);
    }
    SECTION("a Sequential of Dense and LayerNorm (fast) or RMSNorm (loop), on [B, in] and [B, T, in]") {
        for (bool rms : {false, true})
            for (std::size_t steps : {0, 2}) {
                nn::Module<double>::ModulePtr norm =
                    std::make_shared<nn::LayerNorm<double>>(std::vector<std::int64_t>{4});
                if (rms) norm = std::make_shared<nn::RMSNorm<double>>(std::vector<std::int64_t>{4}, 1e-5);
                auto model = nn::Sequential<double>{std::make_shared<nn::Dense<double>>(3, 4, gen), norm,
                                                    std::make_shared<nn::Dense<double>>(4, 2, gen)};
                // The norm's weight and bias start at 1 and 0: move them off so that their gradients matter.
                for (auto& [name, p] : model.named_parameters())
                    if (name.rfind("1.", 0) == 0) p.mutable_value() += uniform(p.shape(), 63).value();
                tg::Shape xs{4, 3}, ys{4, 2};
                if (steps != 0) xs = {4, steps, 3}, ys = {4, steps, 2};
                TensorD x = uniform(xs, 64), y = uniform(ys, 65);
                INFO((rms ? "RMSNorm" : "LayerNorm") << ", T = " << steps);
                check_all(model, squared_error, x, y, finite_differences(model, squared_error, x, y), 1e-7);
            }
    }
    SECTION("an LSTM (batch first) then a Dense: all by the loop") {
        auto model = nn::Sequential<double>{
            std::make_shared<nn::LSTM<double>>(3, 2, gen, nn::RecurrentOptions{.batch_first = true}),
            std::make_shared<nn::Dense<double>>(2, 2, gen)};
        TensorD x = uniform({3, 2, 3}, 67), y = uniform({3, 2, 2}, 68);
        check_all(model, squared_error, x, y, finite_differences(model, squared_error, x, y), 1e-7);
    }
    SECTION("an embedding with a tied output layer, on token ids") {
        TiedLM model(gen);
        tg::Indices ids = {{0, 4, 2}, {1, 1, 3}, {4, 0, 0}};
        TensorD y = uniform({3, 3, 5}, 66);
        REQUIRE(model.named_parameters().size() == 2);  // emb.weight (also head.weight), head.bias
        check_all(model, squared_error, ids, y, finite_differences(model, squared_error, ids, y), 1e-7);
    }
}

TEST_CASE("per_sample_grads: the fast path equals a loop of tapegrad::grad calls on a larger model to 1e-10",
          "[nn][per_sample]") {
    tg::Generator gen(10);
    auto model = nn::Sequential<double>{
        std::make_shared<nn::Flatten<double>>(), std::make_shared<nn::Dense<double>>(12, 16, gen),
        std::make_shared<nn::ReLU<double>>(),    std::make_shared<nn::Dense<double>>(16, 16, gen),
        std::make_shared<nn::Tanh<double>>(),    std::make_shared<nn::Dense<double>>(16, 5, gen)};
    TensorD x = uniform({9, 3, 4}, 71);
    tg::Labels y = {0, 1, 2, 3, 4, 0, 1, 2, 3};
    check_all(model, cross_entropy, x, y, grad_loop(model, cross_entropy, x, y), 1e-10);
    // One sample, and a mixed model (RMSNorm by the loop) on a batch of one.
    TensorD one = tg::slice(x, 0, 4, 5);
    tg::Labels one_y = {4};
    check_all(model, cross_entropy, one, one_y, grad_loop(model, cross_entropy, one, one_y), 1e-10);
    auto mixed =
        nn::Sequential<double>{std::make_shared<nn::Flatten<double>>(), std::make_shared<nn::Dense<double>>(12, 6, gen),
                               std::make_shared<nn::RMSNorm<double>>(std::vector<std::int64_t>{6}),
                               std::make_shared<nn::LayerNorm<double>>(std::vector<std::int64_t>{6}),
                               std::make_shared<nn::Dense<double>>(6, 5, gen)};
    check_all(mixed, cross_entropy, one, one_y, grad_loop(mixed, cross_entropy, one, one_y), 1e-10);
    check_all(mixed, cross_entropy, x, y, grad_loop(mixed, cross_entropy, x, y), 1e-10);
}

TEST_CASE("per_sample_grads: refuses an empty batch, BatchNorm in training and a loss that is not per sample",
          "[nn][per_sample]") {
    tg::Generator gen(12);
    auto model = nn::Sequential<double>{std::make_shared<nn::Dense<double>>(3, 4, gen),
                                        std::make_shared<nn::BatchNorm1d<double>>(4),
                                        std::make_shared<nn::Dense<double>>(4, 2, gen)};
    TensorD x = uniform({3, 3}, 81), y = uniform({3, 2}, 82);
    CHECK_THROWS_AS(nn::per_sample_grads(model, squared_error, x, y), tg::ValueError);
    CHECK_THROWS_WITH(nn::per_sample_grad_norms(model, squared_error, x, y),
                      Catch::Contains("BatchNorm1d '1' is in training mode"));
    model.eval();  // running statistics: samples independent again
    check_all(model, squared_error, x, y, finite_differences(model, squared_error, x, y), 1e-7);
    model.train();

    nn::Dense<double> layer(3, 2, gen);
    TensorD empty(xt::xarray<double>(xt::zeros<double>({0, 3})));
    TensorD empty_y(xt::xarray<double>(xt::zeros<double>({0, 2})));
    CHECK_THROWS_WITH(nn::per_sample_grads(layer, squared_error, empty, empty_y), Catch::Contains("B = 0"));
    auto mean_loss = [](const TensorD& out, const TensorD& t) { return tg::mse_loss(out, t); };
    CHECK_THROWS_WITH(nn::per_sample_grads(layer, mean_loss, x, y), Catch::Contains("shape [3]"));
    auto elementwise = [](const TensorD& out, const TensorD& t) { return tg::mse_loss(out, t, tg::Reduction::None); };
    CHECK_THROWS_AS(nn::per_sample_grad_norms(layer, elementwise, x, y), tg::ValueError);
    TensorD scalar(1.0);
    CHECK_THROWS_AS(nn::per_sample_grads(layer, squared_error, scalar, y), tg::ValueError);
    TensorD two = tg::slice(y, 0, 0, 2);
    CHECK_THROWS_WITH(nn::per_sample_grads(layer, squared_error, x, two), Catch::Contains("target has shape [2, 2]"));
    CHECK_THROWS_AS(nn::per_sample_grads(layer, cross_entropy, x, tg::Labels{0, 1}), tg::ValueError);
}

TEST_CASE("per_sample_grads: after a throwing loss_fn or model, no grad, no hook and the mode are left changed",
          "[nn][per_sample]") {
    tg::Generator gen(13);
    auto scaled = std::make_shared<Scaled>(gen);
    auto dense = std::make_shared<nn::Dense<double>>(2, 2, gen);
    nn::Sequential<double> model{std::make_shared<nn::Dense<double>>(3, 2, gen), std::make_shared<nn::Tanh<double>>(),
                                 dense};
    model.eval();
    int user_hook_calls = 0;
    auto handle = dense->register_forward_hook([&](nn::Module<double>&, const TensorD&, const TensorD&) -> TensorD {
        ++user_hook_calls;
        return {};
    });
    TensorD x = uniform({3, 3}, 91), y = uniform({3, 2}, 92);
    auto throwing = [](const TensorD&, const TensorD&) -> TensorD { throw std::runtime_error("loss_fn failed"); };
    CHECK_THROWS_WITH(nn::per_sample_grads(model, throwing, x, y), "loss_fn failed");
    CHECK_THROWS_WITH(nn::per_sample_grad_norms(model, throwing, x, y), "loss_fn failed");
    CHECK(user_hook_calls == 2);  // the user's hook ran in both calls and is still there
    for (const auto& p : model.parameters()) CHECK_FALSE(p.grad().defined());
    CHECK_FALSE(model.is_training());
    // The hooks per_sample_grads registered are gone: the next calls record only their own calls and
    // match the reference (a leftover hook would add stale calls or write to a destroyed plan).
    const auto reference = grad_loop(model, squared_error, x, y);  // 3 more calls of the user's hook
    check_all(model, squared_error, x, y, reference, 1e-10);       // 2 more (one forward each)
    CHECK(user_hook_calls == 7);
    handle.remove();

    scaled->fail = true;
    CHECK_THROWS_WITH(nn::per_sample_grads(*scaled, squared_error, x, y), "Scaled: asked to fail");
    for (const auto& p : scaled->parameters()) CHECK_FALSE(p.grad().defined());
    CHECK(scaled->is_training());
}

TEST_CASE("per_sample_grads: float32 agrees with the float64 computation", "[nn][per_sample]") {
    tg::Generator gen(14);
    nn::Sequential<float> model{std::make_shared<nn::Dense<float>>(3, 4, gen), std::make_shared<nn::Tanh<float>>(),
                                std::make_shared<nn::Dense<float>>(4, 3, gen)};
    auto model64 = model.to_float64();
    TensorD x64 = uniform({5, 3}, 101);
    tg::Tensor<float> x(xt::xarray<float>(xt::cast<float>(x64.value())));
    tg::Labels y = {2, 0, 1, 2, 1};
    auto ce32 = [](const tg::Tensor<float>& logits, const tg::Labels& t) {
        return tg::cross_entropy(logits, t, tg::Reduction::None);
    };
    auto got = nn::per_sample_grads(model, ce32, x, y);
    auto want = nn::per_sample_grads(*model64, cross_entropy, x64, y);
    REQUIRE(got.size() == want.size());
    for (std::size_t k = 0; k < got.size(); ++k) {
        const Array g = xt::cast<double>(got[k].second.value());
        CHECK(close(g, want[k].second.value(), 1e-5));
    }
    const Array n = xt::cast<double>(nn::per_sample_grad_norms(model, ce32, x, y).value());
    CHECK(close(n, nn::per_sample_grad_norms(*model64, cross_entropy, x64, y).value(), 1e-5));
}

TEST_CASE("per_sample_grads: Dense layers of a Sequential take one forward, everything else one per sample",
          "[nn][per_sample]") {
    tg::Generator gen(15);
    auto forwards = [](nn::Module<double>& model, auto& x, auto& y) {
        int calls = 0;
        auto handle = model.register_forward_hook([&](nn::Module<double>&, const TensorD&, const TensorD&) -> TensorD {
            ++calls;
            return {};
        });
        nn::per_sample_grads(model, squared_error, x, y);
        handle.remove();
        return calls;
    };
    TensorD x = uniform({4, 3}, 111), y = uniform({4, 2}, 112);
    auto mlp =
        nn::Sequential<double>{std::make_shared<nn::Dense<double>>(3, 4, gen), std::make_shared<nn::ReLU<double>>(),
                               std::make_shared<nn::Dense<double>>(4, 2, gen)};
    CHECK(forwards(mlp, x, y) == 1);
    auto with_norm = nn::Sequential<double>{std::make_shared<nn::Dense<double>>(3, 4, gen),
                                            std::make_shared<nn::LayerNorm<double>>(std::vector<std::int64_t>{4}),
                                            std::make_shared<nn::RMSNorm<double>>(std::vector<std::int64_t>{4}),
                                            std::make_shared<nn::Dense<double>>(4, 2, gen)};
    CHECK(forwards(with_norm, x, y) == 1 + 4);  // the batch for Dense and LayerNorm, then the loop for RMSNorm
    with_norm.named_parameters()[4].second.requires_grad_(false);  // RMSNorm's weight frozen
    CHECK(forwards(with_norm, x, y) == 1);
    CHECK(nn::per_sample_grads(with_norm, squared_error, x, y).size() == 6);  // frozen parameters left out
    Scaled custom(gen);
    CHECK(forwards(custom, x, y) == 4);  // a custom module: only the loop
}

TEST_CASE("per_sample_grads: Conv1d and Conv2d (fast: groups, stride, padding, dilation) match finite differences",
          "[nn][per_sample]") {
    tg::Generator gen(16);
    int forwards = 0;
    auto count = [&](nn::Module<double>&, const TensorD&, const TensorD&) -> TensorD {
        ++forwards;
        return {};
    };
    SECTION("Conv2d: 2 groups, stride 2, padding 1") {
        auto model = nn::Sequential<double>{
            std::make_shared<nn::Conv2d<double>>(2, 4, 3, gen, 2, 1, 1, 2), std::make_shared<nn::Tanh<double>>(),
            std::make_shared<nn::Flatten<double>>(), std::make_shared<nn::Dense<double>>(4 * 3 * 3, 2, gen)};
        TensorD x = uniform({3, 2, 5, 5}, 121), y = uniform({3, 2}, 122);
        check_all(model, squared_error, x, y, finite_differences(model, squared_error, x, y), 1e-7);
        auto handle = model.register_forward_hook(count);
        nn::per_sample_grads(model, squared_error, x, y);
        handle.remove();
        CHECK(forwards == 1);  // no loop over samples
    }
    SECTION("Conv1d: dilation 2, padding 1, no bias; and a batch of one") {
        auto model = nn::Sequential<double>{
            std::make_shared<nn::Conv1d<double>>(2, 3, 2, gen, 1, 1, 2, 1, false), std::make_shared<nn::Tanh<double>>(),
            std::make_shared<nn::Flatten<double>>(), std::make_shared<nn::Dense<double>>(3 * 6, 2, gen)};
        TensorD x = uniform({3, 2, 6}, 123), y = uniform({3, 2}, 124);
        check_all(model, squared_error, x, y, finite_differences(model, squared_error, x, y), 1e-7);
        TensorD one = tg::slice(x, 0, 1, 2), one_y = tg::slice(y, 0, 1, 2);
        check_all(model, squared_error, one, one_y, grad_loop(model, squared_error, one, one_y), 1e-10);
    }
}

TEST_CASE("per_sample_grads: a Sequential run in checkpointed segments gives the same gradients", "[nn][per_sample]") {
    tg::Generator gen(17);
    nn::Sequential<double> model = nn::mlp<double>({3, 5, 5, 2}, nn::Activation::Tanh, gen);
    TensorD x = uniform({4, 3}, 131), y = uniform({4, 2}, 132);
    const auto reference = grad_loop(model, squared_error, x, y);
    model.set_checkpoint_segments(2);  // the layers' outputs are not on the loss's graph: the loop takes them
    check_all(model, squared_error, x, y, reference, 1e-10);
}

TEST_CASE("per_sample_grads: works under the caller's NoGradGuard and leaves grad mode off", "[nn][per_sample]") {
    tg::Generator gen(18);
    nn::Sequential<double> model = nn::mlp<double>({3, 4, 2}, nn::Activation::Tanh, gen);
    TensorD x = uniform({3, 3}, 141), y = uniform({3, 2}, 142);
    const auto reference = grad_loop(model, squared_error, x, y);
    tg::NoGradGuard no_grad;
    check_all(model, squared_error, x, y, reference, 1e-10);
    CHECK_FALSE(tg::is_grad_enabled());
}

TEST_CASE("per_sample_grads: Embedding (fast: scatter-add of each sample's rows) with repeated ids and padding_idx",
          "[nn][per_sample]") {
    tg::Generator gen(17);
    // Sample 0 repeats id 2, sample 1 holds the padding id 1 twice, sample 3 is all padding.
    tg::Indices ids = {{2, 0, 2}, {1, 3, 1}, {5, 5, 4}, {1, 1, 1}};
    // Samples whose calls the model's index forward hooks see: the batch once on the fast path.
    auto forwards = [](nn::Module<double>& model, auto& x, auto& y, auto loss) {
        int calls = 0;
        auto handle =
            model.register_index_forward_hook([&](nn::Module<double>&, const tg::Indices&, const TensorD&) -> TensorD {
                ++calls;
                return {};
            });
        nn::per_sample_grads(model, loss, x, y);
        handle.remove();
        return calls;
    };
    // Finite differences move the padding row too (the lookup reads it), but the padding row gets no
    // gradient (PyTorch's padding_idx): the expected value there is 0.
    auto without_padding_row = [](std::vector<Array> fd, std::size_t slot, std::size_t row) {
        xt::view(fd[slot], xt::all(), row, xt::all()) = 0.0;
        return fd;
    };
    SECTION("a Sequential: Embedding (padding_idx 1), Flatten, Tanh, Dense") {
        auto emb = std::make_shared<nn::Embedding<double>>(6, 3, gen, 1);
        auto model =
            nn::Sequential<double>{emb, std::make_shared<nn::Flatten<double>>(), std::make_shared<nn::Tanh<double>>(),
                                   std::make_shared<nn::Dense<double>>(9, 2, gen)};
        TensorD y = uniform({4, 2}, 131);
        check_all(model, squared_error, ids, y,
                  without_padding_row(finite_differences(model, squared_error, ids, y), 0, 1), 1e-7);
        check_all(model, squared_error, ids, y, grad_loop(model, squared_error, ids, y), 1e-10);
        CHECK(forwards(model, ids, y, squared_error) == 1);
        auto got = nn::per_sample_grads(model, squared_error, ids, y);
        CHECK(xt::all(xt::equal(xt::view(got[0].second.value(), xt::all(), 1, xt::all()), 0.0)));
        CHECK(xt::all(xt::equal(xt::view(got[0].second.value(), 3, xt::all(), xt::all()), 0.0)));  // all padding
        // Sample 0 (ids 2, 0, 2): rows 1, 3, 4, 5 get nothing; row 2 two tokens' rows.
        for (std::size_t row : {1, 3, 4, 5})
            CHECK(xt::all(xt::equal(xt::view(got[0].second.value(), 0, row, xt::all()), 0.0)));
    }
    SECTION("the Embedding as the model, on ids [B, T] and on one id per sample [B]") {
        nn::Embedding<double> emb(6, 3, gen, 1);
        TensorD y = uniform({4, 3, 3}, 132);
        check_all(emb, squared_error, ids, y, without_padding_row(finite_differences(emb, squared_error, ids, y), 0, 1),
                  1e-7);
        check_all(emb, squared_error, ids, y, grad_loop(emb, squared_error, ids, y), 1e-10);
        CHECK(forwards(emb, ids, y, squared_error) == 1);
        tg::Indices one = {0, 2, 2, 1};
        TensorD y1 = uniform({4, 3}, 133);
        check_all(emb, squared_error, one, y1, grad_loop(emb, squared_error, one, y1), 1e-10);
    }
    SECTION("an output layer tied to the table: both uses add (materialised, also for the norms)") {
        auto emb = std::make_shared<nn::Embedding<double>>(6, 3, gen);
        auto model = nn::Sequential<double>{emb, std::make_shared<nn::Tanh<double>>(),
                                            std::make_shared<nn::Dense<double>>(emb->weight(), gen)};
        REQUIRE(model.named_parameters().size() == 2);  // 0.weight (also 2.weight), 2.bias
        TensorD y = uniform({4, 3, 6}, 134);
        check_all(model, squared_error, ids, y, grad_loop(model, squared_error, ids, y), 1e-10);
        check_all(model, squared_error, ids, y, finite_differences(model, squared_error, ids, y), 1e-7);
        CHECK(forwards(model, ids, y, squared_error) == 1);
    }
}
