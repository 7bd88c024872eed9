// Recurrent cells and layers: the equations against plain float64 loops, PyTorch's parameter names,
// shapes and layouts, gradients against central finite differences (gradcheck, and by hand through
// 200 and 2000 steps), and the errors.
#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <tapegrad/tapegrad.hpp>
#include <xtensor/xview.hpp>

namespace tg = tapegrad;
namespace nn = tapegrad::nn;
using Arr = xt::xarray<double>;
using Params = std::map<std::string, Arr>;

namespace {

enum class Kind { Tanh, ReLU, LSTM, GRU };

std::size_t gates(Kind kind) {
    return kind == Kind::LSTM ? 4 : kind == Kind::GRU ? 3 : 1;
}

double sigmoid(double v) {
    return 1.0 / (1.0 + std::exp(-v));
}

/// One step of PyTorch's equations in plain loops: x [N, in], h and c [N, H]; returns (h', c').
std::pair<Arr, Arr> ref_step(Kind kind, const Params& p, const std::string& suffix, const Arr& x, const Arr& h,
                             const Arr& c) {
    const Arr& w_ih = p.at("weight_ih" + suffix);
    const Arr& w_hh = p.at("weight_hh" + suffix);
    const bool bias = p.count("bias_ih" + suffix) == 1;
    const std::size_t n_rows = x.shape()[0], in = x.shape()[1], hid = h.shape()[1], rows = gates(kind) * hid;
    Arr gi = xt::zeros<double>({n_rows, rows});
    Arr gh = xt::zeros<double>({n_rows, rows});
    for (std::size_t n = 0; n < n_rows; ++n) {
        for (std::size_t r = 0; r < rows; ++r) {
            gi(n, r) = bias ? p.at("bias_ih" + suffix)(r) : 0.0;
            gh(n, r) = bias ? p.at("bias_hh" + suffix)(r) : 0.0;
            for (std::size_t j = 0; j < in; ++j) gi(n, r) += x(n, j) * w_ih(r, j);
            for (std::size_t j = 0; j < hid; ++j) gh(n, r) += h(n, j) * w_hh(r, j);
        }
    }
    Arr h_next = xt::zeros<double>({n_rows, hid});
    Arr c_next = xt::zeros<double>({n_rows, hid});
    for (std::size_t n = 0; n < n_rows; ++n) {
        for (std::size_t j = 0; j < hid; ++j) {
            auto pre = [&](std::size_t gate) { return gi(n, gate * hid + j) + gh(n, gate * hid + j); };
            switch (kind) {
                case Kind::Tanh:
                    h_next(n, j) = std::tanh(pre(0));
                    break;
                case Kind::ReLU:
                    h_next(n, j) = std::max(0.0, pre(0));
                    break;
                case Kind::LSTM: {
                    c_next(n, j) = sigmoid(pre(1)) * c(n, j) + sigmoid(pre(0)) * std::tanh(pre(2));
                    h_next(n, j) = sigmoid(pre(3)) * std::tanh(c_next(n, j));
                    break;
                }
                case Kind::GRU: {
                    const double r = sigmoid(pre(0)), z = sigmoid(pre(1));
                    const double cand = std::tanh(gi(n, 2 * hid + j) + r * gh(n, 2 * hid + j));
                    h_next(n, j) = (1 - z) * cand + z * h(n, j);
                    break;
                }
            }
        }
    }
    return {h_next, c_next};
}

struct RefOut {
    Arr output, h_n, c_n;
};

/// A stacked, optionally bidirectional run in plain loops: x [L, N, in], h0 and c0 [layers * D, N, H]
/// (empty: zeros). Parameters by their PyTorch names.
RefOut ref_sequence(Kind kind, const Params& p, std::size_t layers, bool bidirectional, const Arr& x, Arr h0 = {},
                    Arr c0 = {}) {
    const std::size_t steps = x.shape()[0], batch = x.shape()[1], hid = p.at("weight_hh_l0").shape()[1];
    const std::size_t dirs = bidirectional ? 2 : 1;
    if (h0.dimension() != 3) h0 = xt::zeros<double>({layers * dirs, batch, hid});
    if (c0.dimension() != 3) c0 = xt::zeros<double>({layers * dirs, batch, hid});
    RefOut out{x, xt::zeros<double>({layers * dirs, batch, hid}), xt::zeros<double>({layers * dirs, batch, hid})};
    for (std::size_t layer = 0; layer < layers; ++layer) {
        Arr next = xt::zeros<double>({steps, batch, dirs * hid});
        for (std::size_t d = 0; d < dirs; ++d) {
            const std::string suffix = "_l" + std::to_string(layer) + (d == 1 ? "_reverse" : "");
            const std::size_t i = layer * dirs + d;
            Arr h = xt::view(h0, i), c = xt::view(c0, i);
            for (std::size_t k = 0; k < steps; ++k) {
                const std::size_t t = d == 1 ? steps - 1 - k : k;
                std::tie(h, c) = ref_step(kind, p, suffix, Arr(xt::view(out.output, t)), h, c);
                xt::view(next, t, xt::all(), xt::range(d * hid, (d + 1) * hid)) = h;
            }
            xt::view(out.h_n, i) = h;
            xt::view(out.c_n, i) = c;
        }
        out.output = next;
    }
    return out;
}

template <class T>
Params params_of(const nn::Module<T>& m) {
    Params p;
    for (const auto& [name, t] : m.named_parameters()) p[name] = xt::cast<double>(t.value());
    return p;
}

Arr values(const tg::Tensor<double>& t) {
    return t.value();
}

bool close(const Arr& a, const Arr& b, double tol = 1e-12) {
    return a.shape() == b.shape() && xt::allclose(a, b, tol, tol);
}

Arr transposed01(const Arr& x) {
    return xt::transpose(x, {1, 0, 2});
}

}  // namespace

TEST_CASE("RNNCell, LSTMCell and GRUCell: one step is PyTorch's equations", "[nn][recurrent]") {
    tg::Generator gen(1);
    const auto x = tg::randn<double>({3, 4}, gen);
    const auto h = tg::randn<double>({3, 5}, gen);
    const auto c = tg::randn<double>({3, 5}, gen);
    for (const bool bias : {true, false}) {
        nn::RNNCell<double> rnn(4, 5, gen, bias);
        nn::RNNCell<double> relu(4, 5, gen, bias, nn::Nonlinearity::ReLU);
        nn::LSTMCell<double> lstm(4, 5, gen, bias);
        nn::GRUCell<double> gru(4, 5, gen, bias);
        auto expect = [&](Kind kind, const auto& cell) {
            return ref_step(kind, params_of(cell), "", x.value(), h.value(), c.value());
        };
        CHECK(close(values(rnn.forward(x, h)), expect(Kind::Tanh, rnn).first));
        CHECK(close(values(relu.forward(x, h)), expect(Kind::ReLU, relu).first));
        const auto [h1, c1] = lstm.forward(x, {h, c});
        const auto [eh, ec] = expect(Kind::LSTM, lstm);
        CHECK(close(values(h1), eh));
        CHECK(close(values(c1), ec));
        CHECK(close(values(gru.forward(x, h)), expect(Kind::GRU, gru).first));
        // Undefined states are zeros; one sample without a batch dim is a batch of one.
        const Arr zero = xt::zeros<double>({3, 5});
        CHECK(close(values(gru.forward(x)), ref_step(Kind::GRU, params_of(gru), "", x.value(), zero, zero).first));
        CHECK(
            close(values(lstm.forward(x).c), ref_step(Kind::LSTM, params_of(lstm), "", x.value(), zero, zero).second));
        const auto x0 = tg::select(x, 0, 1), h0 = tg::select(h, 0, 1), c0 = tg::select(c, 0, 1);
        const auto [hu, cu] = lstm.forward(x0, {h0, c0});
        CHECK(hu.shape() == tg::Shape{5});
        CHECK(close(values(hu), xt::view(eh, 1)));
        CHECK(close(values(cu), xt::view(ec, 1)));
        CHECK(close(values(rnn.forward(x0, h0)), xt::view(expect(Kind::Tanh, rnn).first, 1)));
    }
}

TEST_CASE("Recurrent cells: PyTorch's parameter names, shapes and initialisation order", "[nn][recurrent]") {
    tg::Generator gen(2);
    nn::LSTMCell<float> lstm(3, 4, gen);
    const std::vector<std::pair<std::string, tg::Shape>> expected{
        {"weight_ih", {16, 3}}, {"weight_hh", {16, 4}}, {"bias_ih", {16}}, {"bias_hh", {16}}};
    const auto named = lstm.named_parameters();
    REQUIRE(named.size() == expected.size());
    // Every parameter from U(-1/sqrt(hidden), 1/sqrt(hidden)), drawn in registration order.
    tg::Generator again(2);
    for (std::size_t i = 0; i < named.size(); ++i) {
        CHECK(named[i].first == expected[i].first);
        CHECK(named[i].second.shape() == expected[i].second);
        const auto drawn = nn::init::uniform_(tg::zeros<float>(expected[i].second), again, -0.5, 0.5);
        CHECK(named[i].second.value() == drawn.value());
    }
    nn::GRUCell<float> gru(3, 4, gen, false);
    CHECK(gru.named_parameters().size() == 2);
    CHECK(gru.weights().w_hh.shape() == tg::Shape{12, 4});
    CHECK(nn::RNNCell<float>(3, 4, gen).weights().w_ih.shape() == tg::Shape{4, 3});
}

TEST_CASE("RNN, LSTM and GRU: parameters are PyTorch's state_dict keys and shapes", "[nn][recurrent]") {
    tg::Generator gen(3);
    nn::LSTM<float> lstm(10, 20, gen, {.num_layers = 2, .bidirectional = true});
    std::vector<std::string> names;
    for (const auto& [name, t] : lstm.named_parameters()) names.push_back(name);
    CHECK(names == std::vector<std::string>{"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                                            "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse",
                                            "bias_hh_l0_reverse", "weight_ih_l1", "weight_hh_l1", "bias_ih_l1",
                                            "bias_hh_l1", "weight_ih_l1_reverse", "weight_hh_l1_reverse",
                                            "bias_ih_l1_reverse", "bias_hh_l1_reverse"});
    const Params p = params_of(lstm);
    CHECK(p.at("weight_ih_l0").shape() == std::vector<std::size_t>{80, 10});
    CHECK(p.at("weight_ih_l1_reverse").shape() == std::vector<std::size_t>{80, 40});
    CHECK(p.at("weight_hh_l1").shape() == std::vector<std::size_t>{80, 20});
    CHECK(p.at("bias_hh_l0_reverse").shape() == std::vector<std::size_t>{80});
    const double bound = 1.0 / std::sqrt(20.0);
    for (const auto& [name, v] : p) {
        const double largest = xt::amax(xt::abs(v))();
        CHECK(largest <= bound);
    }
    nn::GRU<float> gru(5, 6, gen, {.num_layers = 3, .bias = false});
    CHECK(gru.named_parameters().size() == 6);
    CHECK(gru.named_parameters()[4].first == "weight_ih_l2");
    CHECK(gru.named_parameters()[4].second.shape() == tg::Shape{18, 6});
}

TEST_CASE("RNN, LSTM and GRU: repr and float64 copies", "[nn][recurrent]") {
    tg::Generator gen(4);
    CHECK(nn::LSTM<float>(10, 20, gen, {.num_layers = 2}).to_string() == "LSTM(10, 20, num_layers=2)");
    CHECK(nn::GRU<float>(3, 4, gen, {.bias = false, .batch_first = true, .bidirectional = true}).to_string() ==
          "GRU(3, 4, bias=False, batch_first=True, bidirectional=True)");
    CHECK(nn::RNN<float>(3, 4, gen).to_string() == "RNN(3, 4)");
    CHECK(nn::RNNCell<float>(10, 20, gen, true, nn::Nonlinearity::ReLU).to_string() ==
          "RNNCell(10, 20, nonlinearity=relu)");
    CHECK(nn::LSTMCell<float>(10, 20, gen, false).to_string() == "LSTMCell(10, 20, bias=False)");
    CHECK(nn::GRUCell<float>(10, 20, gen).to_string() == "GRUCell(10, 20)");

    const std::vector<std::shared_ptr<nn::Module<float>>> modules{
        std::make_shared<nn::RNN<float>>(3, 4, gen, nn::RecurrentOptions{.nonlinearity = nn::Nonlinearity::ReLU}),
        std::make_shared<nn::LSTM<float>>(3, 4, gen, nn::RecurrentOptions{.num_layers = 2, .bidirectional = true}),
        std::make_shared<nn::GRU<float>>(3, 4, gen, nn::RecurrentOptions{.batch_first = true}),
        std::make_shared<nn::RNNCell<float>>(3, 4, gen, false, nn::Nonlinearity::ReLU),
        std::make_shared<nn::LSTMCell<float>>(3, 4, gen),
        std::make_shared<nn::GRUCell<float>>(3, 4, gen)};
    const auto x = tg::randn<float>({2, 5, 3}, gen);
    for (const auto& m : modules) {
        const auto copy = m->to_float64();
        CHECK(copy->to_string() == m->to_string());
        CHECK(params_of(*copy) == params_of(*m));
        if (m->name() == "LSTMCell") continue;  // its forward takes a state (checked above)
        const auto input = m->name().find("Cell") != std::string::npos ? tg::select(x, 0, 0) : x;
        CHECK(xt::allclose(xt::cast<double>(m->forward(input).value()), copy->forward(input.to<double>()).value(), 1e-5,
                           1e-6));
    }
}

TEST_CASE("RNN, LSTM and GRU: the output sequence and final states match plain loops", "[nn][recurrent]") {
    tg::Generator gen(5);
    struct Config {
        Kind kind;
        nn::RecurrentOptions options;
        bool states;
    };
    const std::vector<Config> configs{
        {Kind::Tanh, {}, false},
        {Kind::ReLU, {.num_layers = 2, .nonlinearity = nn::Nonlinearity::ReLU}, true},
        {Kind::LSTM, {.num_layers = 2, .bidirectional = true}, true},
        {Kind::LSTM, {.bias = false, .batch_first = true}, false},
        {Kind::GRU, {.num_layers = 2, .batch_first = true, .bidirectional = true}, true},
        {Kind::GRU, {}, true},
    };
    const std::size_t steps = 5, batch = 3, in = 4, hid = 3;
    for (const auto& config : configs) {
        const auto& o = config.options;
        std::shared_ptr<nn::detail::RecurrentBase<double>> m;
        if (config.kind == Kind::LSTM)
            m = std::make_shared<nn::LSTM<double>>(in, hid, gen, o);
        else if (config.kind == Kind::GRU)
            m = std::make_shared<nn::GRU<double>>(in, hid, gen, o);
        else
            m = std::make_shared<nn::RNN<double>>(in, hid, gen, o);
        INFO(m->to_string());
        const std::size_t states = o.num_layers * (o.bidirectional ? 2 : 1);
        const auto x = tg::randn<double>({steps, batch, in}, gen);
        const auto h0 = config.states ? tg::randn<double>({states, batch, hid}, gen) : tg::Tensor<double>();
        const auto c0 = config.states ? tg::randn<double>({states, batch, hid}, gen) : tg::Tensor<double>();
        auto run = [&](const tg::Tensor<double>& input, const tg::Tensor<double>& h, const tg::Tensor<double>& c) {
            if (auto* lstm = dynamic_cast<nn::LSTM<double>*>(m.get())) return lstm->forward(input, h, c);
            if (auto* gru = dynamic_cast<nn::GRU<double>*>(m.get())) return gru->forward(input, h);
            return dynamic_cast<nn::RNN<double>*>(m.get())->forward(input, h);
        };
        const auto r = run(o.batch_first ? tg::movedim(x, 0, 1) : x, h0, c0);
        const RefOut ref = ref_sequence(config.kind, params_of(*m), o.num_layers, o.bidirectional, x.value(),
                                        config.states ? h0.value() : Arr(), config.states ? c0.value() : Arr());
        CHECK(close(o.batch_first ? transposed01(r.output.value()) : Arr(r.output.value()), ref.output));
        CHECK(close(values(r.h_n), ref.h_n));
        CHECK(r.c_n.defined() == (config.kind == Kind::LSTM));
        if (config.kind == Kind::LSTM) CHECK(close(values(r.c_n), ref.c_n));
        // Unbatched: [L, in] with [states, H] states is the batch of one without its batch dim; so is
        // a batch_first module's (the layout flag concerns batched input only, as in PyTorch).
        auto sample = [&](const tg::Tensor<double>& s) { return s.defined() ? tg::select(s, 1, 2) : s; };
        const auto one = run(tg::select(x, 1, 2), sample(h0), sample(c0));
        CHECK(close(values(one.output), xt::view(ref.output, xt::all(), 2)));
        CHECK(close(values(one.h_n), xt::view(ref.h_n, xt::all(), 2)));
        if (config.kind == Kind::LSTM) CHECK(close(values(one.c_n), xt::view(ref.c_n, xt::all(), 2)));
    }
}

TEST_CASE("LSTM: the same as unrolling LSTMCell by hand, values and gradients", "[nn][recurrent]") {
    tg::Generator gen(6);
    nn::LSTM<double> lstm(3, 4, gen);
    nn::LSTMCell<double> cell(3, 4, gen);
    const auto from = lstm.parameters();
    auto to = cell.parameters();
    for (std::size_t i = 0; i < from.size(); ++i) to[i].mutable_value() = from[i].value();
    const auto x = tg::randn<double>({6, 2, 3}, gen, 0, 1, true);
    const auto h0 = tg::randn<double>({1, 2, 4}, gen, 0, 1, true);
    const auto c0 = tg::randn<double>({1, 2, 4}, gen, 0, 1, true);
    const auto r = lstm.forward(x, h0, c0);
    nn::LSTMState<double> state{tg::select(h0, 0, 0), tg::select(c0, 0, 0)};
    std::vector<tg::Tensor<double>> hs;
    for (std::int64_t t = 0; t < 6; ++t) {
        state = cell.forward(tg::select(x, 0, t), state);
        hs.push_back(state.h);
    }
    const auto unrolled = tg::stack(hs, 0);
    CHECK(close(values(r.output), values(unrolled)));
    CHECK(close(values(r.c_n), values(tg::unsqueeze(state.c, 0))));
    // Consistency of the two graphs' gradients (the finite-difference checks are below).
    const auto w = tg::randn<double>({6, 2, 4}, gen);
    const auto gx = tg::grad<double>({tg::sum(r.output * w) + tg::sum(r.c_n)}, {x, h0, c0, from[1]});
    const auto gu = tg::grad<double>({tg::sum(unrolled * w) + tg::sum(state.c)}, {x, h0, c0, to[1]});
    for (std::size_t i = 0; i < gx.size(); ++i) CHECK(close(values(gx[i]), values(gu[i]), 1e-12));
}

TEST_CASE("RNN, LSTM and GRU: gradcheck in float64 through every input, state and parameter", "[nn][recurrent]") {
    tg::Generator gen(7);
    for (const Kind kind : {Kind::Tanh, Kind::LSTM, Kind::GRU}) {
        const auto cell_kind = kind == Kind::LSTM  ? nn::detail::CellKind::LSTM
                               : kind == Kind::GRU ? nn::detail::CellKind::GRU
                                                   : nn::detail::CellKind::RNNTanh;
        const std::size_t rows = gates(kind) * 2;
        // Two layers, both directions, 3 steps, batch 2, 2 features: every kind of path in the graph.
        std::vector<tg::Tensor<double>> inputs{tg::randn<double>({3, 2, 2}, gen, 0, 1, true),
                                               tg::randn<double>({4, 2, 2}, gen, 0, 1, true),
                                               tg::randn<double>({4, 2, 2}, gen, 0, 1, true)};
        for (std::size_t i = 0; i < 4; ++i) {
            inputs.push_back(
                tg::randn<double>({rows, i < 2 ? 2u : 4u}, gen, 0, 0.5, true));  // w_ih (layer 1 reads 2 dirs * 2)
            inputs.push_back(tg::randn<double>({rows, 2}, gen, 0, 0.5, true));
            inputs.push_back(tg::randn<double>({rows}, gen, 0, 0.5, true));
            inputs.push_back(tg::randn<double>({rows}, gen, 0, 0.5, true));
        }
        const bool lstm = kind == Kind::LSTM;
        auto f = [&](const std::vector<tg::Tensor<double>>& in) {
            std::vector<nn::detail::CellWeights<double>> w;
            for (std::size_t i = 0; i < 4; ++i)
                w.push_back({in[3 + 4 * i], in[4 + 4 * i], in[5 + 4 * i], in[6 + 4 * i]});
            const auto r = nn::detail::run_layers(cell_kind, 2, w, in[0], in[1], lstm ? in[2] : tg::Tensor<double>());
            std::vector<tg::Tensor<double>> parts{tg::flatten(r.output), tg::flatten(r.h_n)};
            if (lstm) parts.push_back(tg::flatten(r.c_n));
            return tg::concat(parts, 0);
        };
        if (!lstm) inputs[2] = tg::randn<double>({4, 2, 2}, gen);  // c0 is not an input of RNN and GRU
        const auto result = tg::gradcheck<double>(f, inputs);
        INFO(result.report());
        CHECK(result);
    }
}

TEST_CASE("LSTM and GRU modules: gradcheck through batch_first and unbatched layouts, and gradgradcheck",
          "[nn][recurrent]") {
    tg::Generator gen(8);
    nn::LSTM<double> lstm(2, 2, gen, {.batch_first = true, .bidirectional = true});
    const auto f = [&](const std::vector<tg::Tensor<double>>& in) {
        const auto r = lstm.forward(in[0], in[1], in[2]);
        return tg::concat(std::vector{tg::flatten(r.output), tg::flatten(r.h_n), tg::flatten(r.c_n)}, 0);
    };
    const std::vector<tg::Tensor<double>> inputs{tg::randn<double>({2, 3, 2}, gen, 0, 1, true),
                                                 tg::randn<double>({2, 2, 2}, gen, 0, 1, true),
                                                 tg::randn<double>({2, 2, 2}, gen, 0, 1, true)};
    CHECK(tg::gradcheck<double>(f, inputs));
    // Second order goes through the steps' shared gradient too (create_graph records its stack).
    const auto second = tg::gradgradcheck<double>(f, inputs);
    INFO(second.report());
    CHECK(second);
    nn::GRU<double> gru(2, 3, gen, {.num_layers = 2});
    const auto g = [&](const std::vector<tg::Tensor<double>>& in) {
        const auto r = gru.forward(in[0], in[1]);
        return tg::concat(std::vector{tg::flatten(r.output), tg::flatten(r.h_n)}, 0);
    };
    CHECK(tg::gradcheck<double>(
        g, {tg::randn<double>({4, 2}, gen, 0, 1, true), tg::randn<double>({2, 3}, gen, 0, 1, true)}));
}

namespace {

/// loss = sum(output * a) + sum(h_n * b) + sum(c_n * b) of the plain-loop reference.
double ref_loss(const Params& p, const Arr& x, const Arr& a, const Arr& b) {
    const RefOut r = ref_sequence(Kind::LSTM, p, 1, false, x);
    return xt::sum(r.output * a)() + xt::sum(r.h_n * b)() + xt::sum(r.c_n * b)();
}

/// Checks the LSTM's backward through `steps` steps against central differences of the plain-loop
/// reference, on a few parameter entries and on the first step's input.
void check_long_lstm(std::size_t steps, std::size_t hidden) {
    tg::Generator gen(9);
    nn::LSTM<double> lstm(2, hidden, gen);
    const auto x = tg::randn<double>({steps, 2, 2}, gen, 0, 1, true);
    const auto a = tg::randn<double>({steps, 2, hidden}, gen);
    const auto b = tg::randn<double>({1, 2, hidden}, gen);
    const auto r = lstm.forward(x, {});
    (tg::sum(r.output * a) + tg::sum(r.h_n * b) + tg::sum(r.c_n * b)).backward();
    const double eps = 1e-6;
    const Params p = params_of(lstm);
    struct Entry {
        std::string name;
        std::vector<std::size_t> at;
    };
    for (const Entry& e : std::vector<Entry>{{"weight_hh_l0", {1, 2}},
                                             {"weight_ih_l0", {2 * hidden, 0}},
                                             {"bias_hh_l0", {3 * hidden + 1}},
                                             {"bias_ih_l0", {hidden}}}) {
        Params plus = p, minus = p;
        plus[e.name].element(e.at.begin(), e.at.end()) += eps;
        minus[e.name].element(e.at.begin(), e.at.end()) -= eps;
        const double numeric =
            (ref_loss(plus, x.value(), a.value(), b.value()) - ref_loss(minus, x.value(), a.value(), b.value())) /
            (2 * eps);
        tg::Tensor<double> param;
        for (const auto& [name, t] : lstm.named_parameters())
            if (name == e.name) param = t;
        const double analytic = param.grad().value().element(e.at.begin(), e.at.end());
        INFO(e.name << " analytic " << analytic << " numeric " << numeric);
        CHECK(std::abs(analytic - numeric) <= 1e-6 + 1e-5 * std::abs(numeric));
    }
    Arr xp = x.value(), xm = x.value();
    xp(0, 1, 1) += eps;
    xm(0, 1, 1) -= eps;
    const double numeric = (ref_loss(p, xp, a.value(), b.value()) - ref_loss(p, xm, a.value(), b.value())) / (2 * eps);
    CHECK(std::abs(x.grad().value()(0, 1, 1) - numeric) <= 1e-6 + 1e-5 * std::abs(numeric));
}

}  // namespace

TEST_CASE("LSTM: gradients through 200 steps match central differences of plain loops", "[nn][recurrent]") {
    check_long_lstm(200, 3);
}

TEST_CASE("LSTM: a 2000-step backward runs in the main thread without recursion, and is right", "[nn][recurrent]") {
    check_long_lstm(2000, 2);
}

TEST_CASE("LSTM: backward twice with retain_graph, and from one step of the reverse direction", "[nn][recurrent]") {
    tg::Generator gen(10);
    nn::LSTM<double> lstm(2, 3, gen, {.bidirectional = true});
    const auto x = tg::randn<double>({4, 1, 2}, gen, 0, 1, true);
    const auto r = lstm.forward(x, {});
    const auto w = lstm.weights(0, 1).w_ih;
    const auto first = tg::grad<double>({tg::sum(r.output)}, {x, w}, {}, true);
    const auto again = tg::grad<double>({tg::sum(r.output)}, {x, w}, {}, true);
    for (std::size_t i = 0; i < 2; ++i) {
        const Arr& a = first[i].value();
        const Arr& b = again[i].value();
        CHECK(a == b);
    }
    // The reverse direction's output at the last step has read only x[3]: every other step's input
    // gradient is exactly zero, and x[3]'s matches central differences of the plain loops.
    const auto last = tg::select(tg::select(r.output, 0, 3), 1, 4);
    const auto gx = tg::grad<double>({tg::sum(last)}, {x})[0];
    const double elsewhere = xt::amax(xt::abs(xt::view(gx.value(), xt::range(0, 3))))();
    CHECK(elsewhere == 0.0);
    const Params p = params_of(lstm);
    for (std::size_t j = 0; j < 2; ++j) {
        Arr xp = x.value(), xm = x.value();
        xp(3, 0, j) += 1e-6;
        xm(3, 0, j) -= 1e-6;
        const double numeric = (ref_sequence(Kind::LSTM, p, 1, true, xp).output(3, 0, 4) -
                                ref_sequence(Kind::LSTM, p, 1, true, xm).output(3, 0, 4)) /
                               2e-6;
        CHECK(std::abs(gx.value()(3, 0, j) - numeric) <= 1e-8);
    }
}

TEST_CASE("LSTM and GRU: dropout on the outputs between layers, in training only, from the module's stream",
          "[nn][recurrent]") {
    tg::Generator gen(9);
    const std::size_t steps = 4, batch = 2, in = 3, hid = 5;
    for (const Kind kind : {Kind::LSTM, Kind::GRU}) {
        const nn::RecurrentOptions options{.num_layers = 2, .dropout = 0.5};
        std::shared_ptr<nn::detail::RecurrentBase<double>> m;
        if (kind == Kind::LSTM)
            m = std::make_shared<nn::LSTM<double>>(in, hid, gen, options);
        else
            m = std::make_shared<nn::GRU<double>>(in, hid, gen, options);
        CHECK_THAT(m->to_string(), Catch::Contains("num_layers=2, dropout=0.5)"));
        const auto x = tg::randn<double>({steps, batch, in}, gen);
        const Params p = params_of(*m);
        Params second;  // layer 1's parameters under layer 0's names, for a one-layer reference
        for (const auto& [name, value] : p)
            if (name.ends_with("_l1")) second[name.substr(0, name.size() - 1) + "0"] = value;

        // The masks come from a copy of the module's stream; the layer's own dropout op draws them.
        tg::Generator masks;
        masks.set_state(m->generator().state());
        const Arr keep = tg::dropout(tg::ones<double>({steps, batch, hid}), 0.5, true, masks).value();
        REQUIRE(xt::any(xt::equal(keep, 0.0)));
        REQUIRE(xt::any(xt::equal(keep, 2.0)));
        const auto r = m->forward(x);
        const RefOut first = ref_sequence(kind, p, 1, false, x.value());
        const RefOut top = ref_sequence(kind, second, 1, false, Arr(first.output * keep));
        CHECK(close(values(r), top.output));
        CHECK(m->generator().state() == masks.state());  // one mask per forward, nothing else drawn

        // eval(): no dropout, and the stream is not touched.
        m->eval();
        const std::string before = m->generator().state();
        CHECK(close(values(m->forward(x)), ref_sequence(kind, p, 2, false, x.value()).output));
        CHECK(m->generator().state() == before);
    }
    using Catch::Contains;
    CHECK_THROWS_AS(nn::GRU<double>(in, hid, gen, {.dropout = 1.5}), tg::ValueError);
    CHECK_THROWS_WITH(nn::GRU<double>(in, hid, gen, {.dropout = 1.5}), Contains("GRU: dropout is 1.5"));
    CHECK_THROWS_WITH(nn::RNN<double>(in, hid, gen, {.dropout = std::nan("")}), Contains("RNN: dropout is nan"));
    // Without dropout the constructor draws the parameters and nothing else (the streams of models
    // built before this option existed are unchanged); with it, one spawn() more.
    tg::Generator params_only(3), without(3), with(3);
    nn::LSTM<double>(in, hid, gen, {.num_layers = 2}).reset_parameters(params_only);
    nn::LSTM<double> plain(in, hid, without, {.num_layers = 2});
    nn::LSTM<double> dropping(in, hid, with, {.num_layers = 2, .dropout = 0.25});
    CHECK(without.state() == params_only.state());
    params_only.spawn();
    CHECK(with.state() == params_only.state());
}

TEST_CASE("Recurrent modules: errors name the module and the shapes", "[nn][recurrent][errors]") {
    tg::Generator gen(11);
    nn::LSTM<float> lstm(10, 20, gen, {.num_layers = 2});
    using Catch::Contains;
    CHECK_THROWS_AS(lstm.forward(tg::zeros<float>({5, 3, 7}), {}), tg::ShapeError);
    CHECK_THROWS_WITH(lstm.forward(tg::zeros<float>({5, 3, 7}), {}),
                      Contains("LSTM(10, 20, num_layers=2): input has shape [5, 3, 7]; expected [L, N, 10]"));
    CHECK_THROWS_WITH(lstm.forward(tg::zeros<float>({5, 3, 10}), tg::zeros<float>({1, 3, 20})),
                      Contains("h0 has shape [1, 3, 20]; for input of shape [5, 3, 10] expected [2, 3, 20]"));
    CHECK_THROWS_WITH(lstm.forward(tg::zeros<float>({5, 10}), {}, tg::zeros<float>({2, 1, 20})),
                      Contains("c0 has shape [2, 1, 20]; for input of shape [5, 10] expected [2, 20]"));
    CHECK_THROWS_WITH(lstm.forward(tg::zeros<float>({0, 3, 10}), {}), Contains("with L > 0"));
    CHECK_THROWS_WITH(nn::GRU<float>(4, 2, gen, {.batch_first = true}).forward(tg::zeros<float>({2, 3, 4, 1})),
                      Contains("GRU(4, 2, batch_first=True): input has shape [2, 3, 4, 1]; expected [N, L, 4]"));
    CHECK_THROWS_AS(nn::RNN<float>(0, 2, gen), tg::ValueError);
    CHECK_THROWS_WITH(nn::LSTM<float>(3, 2, gen, {.num_layers = 0}), Contains("num_layers 0"));
    nn::GRUCell<float> cell(3, 2, gen);
    CHECK_THROWS_WITH(cell.forward(tg::zeros<float>({4, 5})),
                      Contains("GRUCell(3, 2): input has shape [4, 5]; expected [N, 3] or [3]"));
    CHECK_THROWS_WITH(cell.forward(tg::zeros<float>({4, 3}), tg::zeros<float>({2})),
                      Contains("GRUCell(3, 2): hx has shape [2]; for input of shape [4, 3] expected [4, 2]"));
    CHECK_THROWS_WITH(nn::LSTMCell<float>(3, 2, gen).forward(tg::zeros<float>({3}), {{}, tg::zeros<float>({1, 2})}),
                      Contains("LSTMCell(3, 2): cx has shape [1, 2]; for input of shape [3] expected [2]"));
    CHECK_THROWS_AS(nn::RNNCell<float>(3, 0, gen), tg::ValueError);
    // Through Module::forward(x) (as in a Sequential) the output sequence comes back alone.
    nn::Module<float>& as_module = lstm;
    CHECK(as_module(tg::zeros<float>({2, 1, 10})).shape() == tg::Shape{2, 1, 20});
}
