// functional_call: a module run with substitute parameters and buffers, checked against closed
// forms computed with plain loops and against float64 finite differences; the module is left as it
// was, also after errors and throwing calls.
#include <catch2/catch.hpp>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

// recurrent.hpp first: it opens tapegrad::nn::detail, in which functional_call.hpp's template must
// not look for tapegrad::detail's Reparametrization (the bench includes them in this order).
#include <tapegrad/nn/recurrent.hpp>

#include <tapegrad/nn/functional_call.hpp>
#include <tapegrad/tapegrad.hpp>
#include "autograd/says.hpp"

namespace tg = tapegrad;
namespace nn = tapegrad::nn;
using tg::TensorD;
using Array = xt::xarray<double>;

namespace {

bool close(const Array& a, const Array& b, double tol = 1e-10) {
    return a.shape() == b.shape() && xt::allclose(a, b, tol, tol);
}

// x W^T + b with loops.
Array affine(const Array& x, const Array& w, const Array& b) {
    Array y = xt::zeros<double>({x.shape()[0], w.shape()[0]});
    for (std::size_t n = 0; n < x.shape()[0]; ++n)
        for (std::size_t o = 0; o < w.shape()[0]; ++o) {
            y(n, o) = b(o);
            for (std::size_t i = 0; i < w.shape()[1]; ++i) y(n, o) += x(n, i) * w(o, i);
        }
    return y;
}

// Each named tensor's handle and a copy of its values, to show a module was left as it was.
struct Snapshot {
    std::vector<std::pair<std::string, TensorD>> handles;
    std::vector<Array> values;
    explicit Snapshot(const nn::Module<double>& m) {
        for (const auto& entry : m.named_parameters()) handles.push_back(entry);
        for (const auto& entry : m.named_buffers()) handles.push_back(entry);
        for (const auto& [name, t] : handles) values.push_back(t.value());
    }
    bool same_as(const nn::Module<double>& m) const { return Snapshot(m).handles_equal(*this); }
    bool handles_equal(const Snapshot& other) const {
        if (handles.size() != other.handles.size()) return false;
        for (std::size_t i = 0; i < handles.size(); ++i) {
            if (handles[i].first != other.handles[i].first || !handles[i].second.same(other.handles[i].second) ||
                values[i] != other.values[i])
                return false;
        }
        return true;
    }
};

TensorD tensor(const Array& a, bool requires_grad = false) {
    return TensorD(a, requires_grad);
}

}  // namespace

TEST_CASE("functional_call runs a Dense layer with the given weight and bias, and leaves its own",
          "[functional_call]") {
    tg::Generator gen(3);
    nn::Dense<double> layer(3, 2, gen);
    const Snapshot before(layer);
    const Array x = {{1.0, -2.0, 0.5}, {0.25, 3.0, -1.0}};
    const Array w = {{0.5, -1.0, 2.0}, {1.5, 0.25, -0.75}};
    const Array b = {0.1, -0.2};

    const TensorD y = nn::functional_call(layer, {{"weight", tensor(w)}, {"bias", tensor(b)}}, tensor(x));
    CHECK(close(y.value(), affine(x, w, b)));
    CHECK(before.same_as(layer));
    CHECK(close(layer(tensor(x)).value(), affine(x, before.values[0], before.values[1])));

    SECTION("a key left out keeps the module's own tensor") {
        const TensorD only_w = nn::functional_call(layer, {{"weight", tensor(w)}}, tensor(x));
        CHECK(close(only_w.value(), affine(x, w, before.values[1])));
    }
    SECTION("inside the call the module lists the substitutes") {
        const TensorD sub = tensor(w);
        nn::functional_call(layer, {{"weight", sub}}, [&](nn::Module<double>& m) {
            CHECK(m.named_parameters()[0].second.same(sub));
            CHECK(layer.weight().same(sub));
            return 0;
        });
        CHECK(before.same_as(layer));
    }
}

TEST_CASE("functional_call: gradients flow to the substitutes, not to the module's parameters", "[functional_call]") {
    tg::Generator gen(4);
    nn::Sequential<double> model{std::make_shared<nn::Dense<double>>(3, 2, gen)};
    const Array x = {{1.0, -2.0, 0.5}, {0.25, 3.0, -1.0}, {2.0, 0.0, 1.0}};
    const TensorD w(Array{{0.5, -1.0, 2.0}, {1.5, 0.25, -0.75}}, true);
    const TensorD loss = tg::sum(nn::functional_call(model, {{"0.weight", w}}, tensor(x)));
    loss.backward();
    // d sum(x W^T + b) / dW[o, i] = sum_n x[n, i], for every o.
    const Array column = xt::sum(x, {0});
    REQUIRE(w.grad().defined());
    CHECK(close(w.grad().value(), Array{{column(0), column(1), column(2)}, {column(0), column(1), column(2)}}));
    CHECK_FALSE(model.named_parameters()[0].second.grad().defined());
    // The bias was not substituted: it is the module's own and receives its gradient, 3 per output.
    REQUIRE(model.named_parameters()[1].second.grad().defined());
    CHECK(close(model.named_parameters()[1].second.grad().value(), Array{3.0, 3.0}));
}

TEST_CASE("func::hessian of a loss with respect to a layer's weight, through functional_call", "[functional_call]") {
    tg::Generator gen(5);
    const Array x = {{1.0, -2.0, 0.5}, {0.25, 3.0, -1.0}, {2.0, 0.0, 1.0}, {-1.0, 0.5, 0.5}};
    const Array y = {{0.5, -1.0}, {2.0, 0.0}, {1.0, 1.0}, {-0.5, 0.25}};

    SECTION("a linear layer and a squared error: H[o,i,p,j] = 2 delta_op sum_n x[n,i] x[n,j]") {
        nn::Sequential<double> model{std::make_shared<nn::Dense<double>>(3, 2, gen)};
        const auto loss = [&](const TensorD& w) {
            return tg::mse_loss(nn::functional_call(model, {{"0.weight", w}}, tensor(x)), tensor(y),
                                tg::Reduction::Sum);
        };
        const TensorD h = tg::func::hessian(loss)(model.named_parameters()[0].second);
        Array expect = xt::zeros<double>({2, 3, 2, 3});
        for (std::size_t o = 0; o < 2; ++o)
            for (std::size_t i = 0; i < 3; ++i)
                for (std::size_t j = 0; j < 3; ++j)
                    for (std::size_t n = 0; n < 4; ++n) expect(o, i, o, j) += 2 * x(n, i) * x(n, j);
        CHECK(close(h.value(), expect));
    }
    SECTION("a tanh network: against second differences of the loss in float64") {
        nn::Sequential<double> model{std::make_shared<nn::Dense<double>>(3, 4, gen),
                                     std::make_shared<nn::Tanh<double>>(),
                                     std::make_shared<nn::Dense<double>>(4, 2, gen)};
        const Snapshot before(model);
        const auto loss = [&](const TensorD& w) {
            return tg::mse_loss(nn::functional_call(model, {{"2.weight", w}}, tensor(x)), tensor(y));
        };
        const Array w0 = model.named_parameters()[2].second.value();
        const TensorD h = tg::func::hessian(loss)(tensor(w0));
        REQUIRE(h.shape() == tg::Shape{2, 4, 2, 4});
        // (L(w+ea+eb) - L(w+ea-eb) - L(w-ea+eb) + L(w-ea-eb)) / 4 eps^2: error O(eps^2) ~ 1e-8 here.
        const double eps = 1e-4;
        const auto at = [&](std::size_t a, double da, std::size_t b, double db) {
            Array w = w0;
            w.flat(a) += da;
            w.flat(b) += db;
            tg::NoGradGuard no_grad;
            return loss(tensor(w)).item();
        };
        double worst = 0;
        for (std::size_t a = 0; a < 8; ++a)
            for (std::size_t b = 0; b < 8; ++b) {
                const double fd =
                    (at(a, eps, b, eps) - at(a, eps, b, -eps) - at(a, -eps, b, eps) + at(a, -eps, b, -eps)) /
                    (4 * eps * eps);
                worst = std::max(worst, std::abs(fd - h.value().flat(a * 8 + b)));
            }
        CHECK(worst < 1e-6);
        CHECK(before.same_as(model));
    }
}

TEST_CASE("functional_call substitutes every built-in module's parameters and buffers", "[functional_call]") {
    // Module a run with module b's tensors computes what b computes: every registered tensor
    // reaches the member its forward reads.
    const auto check = [](nn::Module<double>& a, nn::Module<double>& b, const auto& run) {
        nn::TensorDict<double> dict;
        for (const auto& [key, t] : b.named_parameters()) dict[key] = t;
        for (const auto& [key, t] : b.named_buffers()) dict[key] = t;
        const Snapshot before(a);
        const Array expect = run(b).value();
        const Array got = nn::functional_call(a, dict, run, {.strict = true}).value();
        CHECK(close(got, expect, 1e-12));
        CHECK_FALSE(close(run(a).value(), expect, 1e-6));  // a's own tensors are different
        CHECK(before.same_as(a));
    };
    tg::Generator ga(11), gb(12);
    const TensorD seq = tg::randn<double>({2, 3, 4}, ga);  // batch 2, length 3, 4 features
    const TensorD img = tg::randn<double>({2, 4, 5, 5}, ga);

    SECTION("Dense, LayerNorm, RMSNorm") {
        nn::Dense<double> a(4, 3, ga), b(4, 3, gb);
        check(a, b, [&](nn::Module<double>& m) { return m(seq); });
        nn::LayerNorm<double> la({4}), lb({4});
        nn::init::normal_(lb.named_parameters()[0].second, gb);
        check(la, lb, [&](nn::Module<double>& m) { return m(seq); });
    }
    SECTION("Conv2d, GroupNorm, BatchNorm2d in eval mode (its running statistics are buffers)") {
        nn::Conv2d<double> a(4, 2, 3, ga), b(4, 2, 3, gb);
        check(a, b, [&](nn::Module<double>& m) { return m(img); });
        nn::BatchNorm2d<double> na(4), nb(4);
        nb.train();
        nb(img);  // running statistics away from their start
        na.eval();
        nb.eval();
        check(na, nb, [&](nn::Module<double>& m) { return m(img); });
    }
    SECTION("LSTM, GRU cell and multi-head attention") {
        nn::LSTM<double> a(4, 3, ga, {.num_layers = 2, .batch_first = true}),
            b(4, 3, gb, {.num_layers = 2, .batch_first = true});
        check(a, b, [&](nn::Module<double>& m) { return m(seq); });
        nn::GRUCell<double> ca(4, 3, ga), cb(4, 3, gb);
        const TensorD x = tg::randn<double>({2, 4}, ga);
        const TensorD h = tg::randn<double>({2, 3}, ga);
        check(ca, cb, [&](nn::Module<double>& m) { return static_cast<nn::GRUCell<double>&>(m).forward(x, h); });
        nn::MultiheadAttention<double> ma(4, 2, ga, 0.0, true, true), mb(4, 2, gb, 0.0, true, true);
        check(ma, mb, [&](nn::Module<double>& m) {
            return static_cast<nn::MultiheadAttention<double>&>(m).forward(seq, seq, seq).output;
        });
    }
}

TEST_CASE("functional_call: tied weights are substituted together unless tie_weights is off", "[functional_call]") {
    tg::Generator gen(6);
    auto emb = std::make_shared<nn::Embedding<double>>(5, 3, gen);
    auto head = std::make_shared<nn::Dense<double>>(emb->weight(), gen, false);  // 3 -> 5, weight shared
    nn::Sequential<double> model{emb, head};  // a container of both; Embedding is called separately
    const Snapshot before(model);
    const Array x = {{1.0, 0.5, -1.0}};
    const TensorD sub = tg::randn<double>({5, 3}, gen);
    const auto run = [&](nn::Module<double>&) { return (*head)(tensor(x)); };

    CHECK(close(nn::functional_call(model, {{"0.weight", sub}}, run).value(),
                affine(x, sub.value(), Array{0, 0, 0, 0, 0})));
    CHECK(close(nn::functional_call(model, {{"0.weight", sub}}, run, {.tie_weights = false}).value(),
                affine(x, before.values[0], Array{0, 0, 0, 0, 0})));
    CHECK(close(nn::functional_call(model, {{"0.weight", sub}, {"1.weight", sub}}, run).value(),
                affine(x, sub.value(), Array{0, 0, 0, 0, 0})));
    CHECK_THROWS_MATCHES(nn::functional_call(model, {{"0.weight", sub}, {"1.weight", tensor(sub.value())}}, run),
                         tg::ValueError, Says("'0.weight' and '1.weight' are one tied tensor"));
    CHECK(before.same_as(model));
}

TEST_CASE("functional_call: a substituted buffer is updated in place, the module's own is not", "[functional_call]") {
    tg::Generator gen(7);
    nn::BatchNorm1d<double> bn(2);
    const Snapshot before(bn);
    const TensorD mean = tensor(Array{0.0, 0.0}), var = tensor(Array{1.0, 1.0}), count(0.0);
    const TensorD x = tensor(Array{{1.0, 2.0}, {3.0, 6.0}});
    nn::functional_call(bn, {{"running_mean", mean}, {"running_var", var}, {"num_batches_tracked", count}}, x);
    // momentum 0.1: 0.9 * old + 0.1 * the batch's mean and unbiased variance ([2, 8]).
    CHECK(close(mean.value(), Array{0.2, 0.4}));
    CHECK(close(var.value(), Array{0.9 + 0.2, 0.9 + 0.8}));
    CHECK(count.item() == 1.0);
    CHECK(before.same_as(bn));
}

TEST_CASE("functional_call refuses bad keys, shapes and tensors, and changes nothing", "[functional_call]") {
    tg::Generator gen(8);
    nn::Sequential<double> model{std::make_shared<nn::Dense<double>>(3, 2, gen), std::make_shared<nn::ReLU<double>>(),
                                 std::make_shared<nn::Dense<double>>(2, 1, gen)};
    const Snapshot before(model);
    const TensorD x = tg::randn<double>({4, 3}, gen);
    const TensorD w = tg::randn<double>({2, 3}, gen);

    CHECK_THROWS_MATCHES(nn::functional_call(model, {{"0.weight", w}, {"0.wieght", w}}, x), tg::ValueError,
                         Says("no parameter or buffer named 0.wieght") && Says("0.weight, 0.bias, 2.weight, 2.bias"));
    CHECK_THROWS_MATCHES(nn::functional_call(model, {{"2.weight", w}}, x), tg::ShapeError,
                         Says("'2.weight' is [1, 2]") && Says("[2, 3]"));
    CHECK_THROWS_MATCHES(nn::functional_call(model, {{"0.bias", TensorD()}}, x), tg::ValueError,
                         Says("'0.bias' is undefined"));
    CHECK_THROWS_MATCHES(nn::functional_call(model, {{"0.weight", w}}, x, {.strict = true}), tg::ValueError,
                         Says("no tensor given for 0.bias, 2.weight, 2.bias"));
    CHECK(before.same_as(model));

    SECTION("a throwing call puts the module's own tensors back") {
        CHECK_THROWS_AS(nn::functional_call(model, {{"0.weight", w}},
                                            [](nn::Module<double>&) -> int { throw std::runtime_error("boom"); }),
                        std::runtime_error);
        CHECK(before.same_as(model));
    }
    SECTION("calls nest: the inner one's substitutes, then the outer one's again") {
        const TensorD w2 = tg::randn<double>({2, 3}, gen);
        nn::functional_call(model, {{"0.weight", w}}, [&](nn::Module<double>& m) {
            nn::functional_call(m, {{"0.weight", w2}}, [&](nn::Module<double>& inner) {
                CHECK(inner.named_parameters()[0].second.same(w2));
                return 0;
            });
            CHECK(m.named_parameters()[0].second.same(w));
            return 0;
        });
        CHECK(before.same_as(model));
    }
    SECTION("hooks run in a functional call") {
        int calls = 0;
        auto handle = model.register_forward_hook([&](nn::Module<double>&, const TensorD&, const TensorD&) {
            ++calls;
            return TensorD();
        });
        nn::functional_call(model, {{"0.weight", w}}, x);
        CHECK(calls == 1);
        handle.remove();
    }
}

namespace {

// A custom module that keeps its parameter without telling Module where (the old form).
class Scale : public nn::Module<double> {
public:
    Scale() { s_ = register_parameter("s", TensorD(Array{2.0})); }
    TensorD forward(const TensorD& x) override { return x * s_; }
    std::string name() const override { return "Scale"; }

private:
    TensorD s_;
};

// The same with its member named: substitutable.
class SlotScale : public nn::Module<double> {
public:
    SlotScale() { register_parameter("s", &SlotScale::s_, TensorD(Array{2.0})); }
    TensorD forward(const TensorD& x) override { return x * s_; }
    std::string name() const override { return "SlotScale"; }

private:
    TensorD s_;
};

}  // namespace

TEST_CASE("functional_call and custom modules: a parameter registered with its member can be substituted",
          "[functional_call]") {
    const TensorD x = tensor(Array{1.0, 3.0});
    Scale plain;
    CHECK_THROWS_MATCHES(nn::functional_call(plain, {{"s", tensor(Array{5.0})}}, x), tg::ValueError,
                         Says("Scale registered 's' without the member") && Says("&Class::member"));
    CHECK(close(plain(x).value(), Array{2.0, 6.0}));
    SlotScale slot;
    CHECK(close(nn::functional_call(slot, {{"s", tensor(Array{5.0})}}, x).value(), Array{5.0, 15.0}));
    CHECK(close(slot(x).value(), Array{2.0, 6.0}));
    SECTION("a copy of the module substitutes its own member") {
        SlotScale copy = slot;
        CHECK(close(nn::functional_call(copy, {{"s", tensor(Array{-1.0})}}, x).value(), Array{-1.0, -3.0}));
        CHECK(close(slot(x).value(), Array{2.0, 6.0}));
        CHECK(close(copy(x).value(), Array{2.0, 6.0}));
    }
}
