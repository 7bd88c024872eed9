#include <tapegrad/nn/recurrent.hpp>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include <tapegrad/autograd/factories.hpp>
#include <tapegrad/nn/init.hpp>
#include <tapegrad/ops/dropout.hpp>
#include <tapegrad/ops/extension.hpp>
#include <tapegrad/ops/index.hpp>
#include <tapegrad/ops/layout.hpp>
#include <tapegrad/ops/matmul.hpp>
#include <tapegrad/ops/shape.hpp>

namespace tapegrad::nn {
namespace {

/// The L steps of p [L, N, G] as L tensors [N, G] (PyTorch's unbind(0)), returned in the order the
/// recurrence reads them: t = 0, 1, ... or, for the reverse direction, t = L - 1, ... 0.
///
/// Why not L slices: the backward of each slice is a zero-padded [L, N, G] tensor, so L slices
/// would cost O(L^2 N G) in backward. Here the pieces are L nodes of one op sharing a stash: the
/// tape is walked in reverse creation order, so every piece's rule runs before the first piece's
/// (created first); each stores its gradient, and the first piece's rule returns them stacked,
/// d/dp = stack(grad of each piece, zeros for a piece without one), as the multi-output node of
/// PyTorch's unbind does. The first piece is the one the recurrence reads first, and every later
/// step depends on it through the hidden state, so whenever any piece has a gradient, it has one.
/// (A backward that throws half way through leaves the stash partly filled; the graph must then
/// be recomputed, as after any failed backward.)
template <class T>
std::vector<Tensor<T>> unbind_steps(const Tensor<T>& p, bool reverse) {
    const std::size_t steps = p.shape()[0];
    const Shape piece{p.shape()[1], p.shape()[2]};
    const std::size_t size = piece[0] * piece[1];
    auto stash = std::make_shared<std::vector<Tensor<T>>>(steps);
    std::vector<Tensor<T>> out;
    out.reserve(steps);
    for (std::size_t k = 0; k < steps; ++k) {
        const std::size_t t = reverse ? steps - 1 - k : k;
        xt::xarray<T> value = tapegrad::detail::take_buffer<T>("unbind", piece);
        const T* from = p.value().data() + t * size;
        std::copy(from, from + size, value.data());
        out.push_back(record<T>(
            "unbind", {p}, std::move(value),
            [stash, t, piece, first = k == 0](const Backward<T>& ctx) -> Grads<T> {
                (*stash)[t] = ctx.grad();
                if (!first) return {Tensor<T>()};
                for (auto& g : *stash) {
                    if (!g.defined()) g = zeros<T>(piece);
                }
                Tensor<T> grad = stack(*stash, 0);
                std::fill(stash->begin(), stash->end(), Tensor<T>());  // ready for another pass (retain_graph)
                return {grad};
            },
            // Its own rule, not the generic one: the backward above answers for all steps at once.
            [t](const Forward<T>& ctx) { return select(ctx.tangent(0), 0, static_cast<std::int64_t>(t)); }));
    }
    return out;
}

const char* kind_name(detail::CellKind kind) {
    switch (kind) {
        case detail::CellKind::LSTM:
            return "LSTM";
        case detail::CellKind::GRU:
            return "GRU";
        default:
            return "RNN";
    }
}

}  // namespace

namespace detail {

template <class T>
RecurrentBase<T>::RecurrentBase(CellKind kind, std::size_t input_size, std::size_t hidden_size, Generator& gen,
                                const RecurrentOptions& options)
    : kind_(kind), input_(input_size), hidden_(hidden_size), options_(options) {
    if (input_size == 0 || hidden_size == 0 || options.num_layers == 0) {
        fail<ValueError>("{}: input_size {}, hidden_size {} and num_layers {} must all be positive", kind_name(kind),
                         input_size, hidden_size, options.num_layers);
    }
    if (!(options.dropout >= 0 && options.dropout <= 1))
        fail<ValueError>("{}: dropout is {}; a dropout probability must be in [0, 1]", kind_name(kind),
                         options.dropout);
    const std::size_t rows = gate_count(kind) * hidden_;
    for (std::size_t layer = 0; layer < options.num_layers; ++layer) {
        for (std::size_t d = 0; d < directions(); ++d) {
            const std::string suffix = fmt::format("_l{}{}", layer, d == 1 ? "_reverse" : "");
            const std::size_t in = layer == 0 ? input_ : hidden_ * directions();
            // The handles live in weights_[k]; the slots let functional_call substitute them.
            const std::size_t k = weights_.size();
            weights_.emplace_back();
            const auto add = [&](const std::string& name, Tensor<T> CellWeights<T>::*field, Tensor<T> value) {
                weights_[k].*field =
                    this->register_parameter(name + suffix, std::move(value), [k, field](Module<T>& m) -> Tensor<T>& {
                        return static_cast<RecurrentBase&>(m).weights_[k].*field;
                    });
            };
            add("weight_ih", &CellWeights<T>::w_ih, zeros<T>({rows, in}));
            add("weight_hh", &CellWeights<T>::w_hh, zeros<T>({rows, hidden_}));
            if (options.bias) {
                add("bias_ih", &CellWeights<T>::b_ih, zeros<T>({rows}));
                add("bias_hh", &CellWeights<T>::b_hh, zeros<T>({rows}));
            }
        }
    }
    reset_parameters(gen);
    if (options.dropout > 0) dropout_gen_ = gen.spawn();
}

template <class T>
void RecurrentBase<T>::reset_parameters(Generator& gen) {
    // PyTorch's RNNBase.reset_parameters: every parameter from U(-k, k), k = 1/sqrt(hidden).
    const double k = 1.0 / std::sqrt(static_cast<double>(hidden_));
    for (auto& p : this->parameters()) init::uniform_(p, gen, -k, k);
}

template <class T>
const CellWeights<T>& RecurrentBase<T>::weights(std::size_t layer, std::size_t direction) const {
    if (layer >= options_.num_layers || direction >= directions()) {
        fail<ValueError>("{}({}): no layer {} direction {}", this->name(), extra_repr(), layer, direction);
    }
    return weights_[layer * directions() + direction];
}

template <class T>
std::string RecurrentBase<T>::extra_repr() const {
    std::string s = fmt::format("{}, {}", input_, hidden_);
    if (options_.num_layers != 1) s += fmt::format(", num_layers={}", options_.num_layers);
    if (!options_.bias) s += ", bias=False";
    if (options_.batch_first) s += ", batch_first=True";
    if (options_.dropout != 0) s += fmt::format(", dropout={}", options_.dropout);
    if (options_.bidirectional) s += ", bidirectional=True";
    return s;
}

template <class T>
void RecurrentBase<T>::check_input(const Tensor<T>& x) const {
    const bool ok = x.defined() && (x.ndim() == 2 || x.ndim() == 3) && x.shape().back() == input_ &&
                    x.shape()[options_.batch_first && x.ndim() == 3 ? 1 : 0] > 0;
    if (!ok) {
        fail<ShapeError>("{}({}): input has shape {}; expected {} or [L, {}] (unbatched), with L > 0", this->name(),
                         extra_repr(), x.defined() ? shape_str(x.shape()) : "undefined",
                         options_.batch_first ? fmt::format("[N, L, {}]", input_) : fmt::format("[L, N, {}]", input_),
                         input_);
    }
}

template <class T>
void RecurrentBase<T>::check_state(const char* which, const Tensor<T>& s, const Shape& expected,
                                   const Tensor<T>& x) const {
    if (s.defined() && s.shape() != expected) {
        fail<ShapeError>("{}({}): {} has shape {}; for input of shape {} expected {}", this->name(), extra_repr(),
                         which, shape_str(s.shape()), shape_str(x.shape()), shape_str(expected));
    }
}

/// One layer in one direction: x [L, N, features] from the state (h, c), left in (h, c) at the end;
/// returns the h of every step, [L, N, hidden].
template <class T>
Tensor<T> run_direction(CellKind kind, const CellWeights<T>& w, const Tensor<T>& x, bool reverse, Tensor<T>& h,
                        Tensor<T>& c) {
    // One GEMM for the input projection of every step; per step only the hidden GEMM remains.
    const auto steps = unbind_steps(linear(x, w.w_ih, w.b_ih), reverse);
    std::vector<Tensor<T>> out(steps.size());
    for (std::size_t k = 0; k < steps.size(); ++k) {
        std::tie(h, c) = cell_step(kind, w, steps[k], h, c);
        out[reverse ? steps.size() - 1 - k : k] = h;
    }
    return stack(out, 0);
}

template <class T>
RecurrentOutput<T> run_layers(CellKind kind, std::size_t directions, const std::vector<CellWeights<T>>& weights,
                              const Tensor<T>& seq, const Tensor<T>& h0, const Tensor<T>& c0, double dropout,
                              Generator* dropout_gen) {
    const Shape state{seq.shape()[1], weights[0].w_hh.shape()[1]};
    auto initial = [&](const Tensor<T>& s, std::size_t i) {
        return s.defined() ? select(s, 0, static_cast<std::int64_t>(i)) : zeros<T>(state);
    };
    const bool lstm = kind == CellKind::LSTM;
    std::vector<Tensor<T>> h_n, c_n;
    Tensor<T> input = seq;
    const std::size_t layers = weights.size() / directions;
    for (std::size_t layer = 0; layer < layers; ++layer) {
        std::vector<Tensor<T>> outputs;
        for (std::size_t d = 0; d < directions; ++d) {
            const std::size_t i = layer * directions + d;
            Tensor<T> h = initial(h0, i);
            Tensor<T> c = lstm ? initial(c0, i) : Tensor<T>();
            outputs.push_back(run_direction(kind, weights[i], input, d == 1, h, c));
            h_n.push_back(h);
            c_n.push_back(c);
        }
        input = outputs.size() == 1 ? outputs[0] : concat(outputs, 2);
        if (dropout_gen && layer + 1 < layers) input = tapegrad::dropout(input, dropout, true, *dropout_gen);
    }
    return {input, stack(h_n, 0), lstm ? stack(c_n, 0) : Tensor<T>()};
}

template <class T>
RecurrentOutput<T> RecurrentBase<T>::run(const Tensor<T>& x, const Tensor<T>& h0, const Tensor<T>& c0) {
    check_input(x);
    const bool unbatched = x.ndim() == 2;
    const Tensor<T> seq = unbatched ? unsqueeze(x, 1) : options_.batch_first ? movedim(x, 0, 1) : x;
    const std::size_t states = options_.num_layers * directions();
    const Shape expected = unbatched ? Shape{states, hidden_} : Shape{states, seq.shape()[1], hidden_};
    check_state("h0", h0, expected, x);
    check_state("c0", c0, expected, x);
    auto batched = [unbatched](const Tensor<T>& s) { return unbatched && s.defined() ? unsqueeze(s, 1) : s; };
    const bool drop = this->is_training() && options_.dropout > 0;
    RecurrentOutput<T> result = run_layers(kind_, directions(), weights_, seq, batched(h0), batched(c0),
                                           options_.dropout, drop ? &dropout_gen_ : nullptr);
    if (unbatched) {
        result.output = squeeze(result.output, 1);
        result.h_n = squeeze(result.h_n, 1);
        if (result.c_n.defined()) result.c_n = squeeze(result.c_n, 1);
    } else if (options_.batch_first) {
        result.output = movedim(result.output, 0, 1);
    }
    return result;
}

}  // namespace detail

namespace {
detail::CellKind rnn_kind(const RecurrentOptions& options) {
    return options.nonlinearity == Nonlinearity::ReLU ? detail::CellKind::RNNReLU : detail::CellKind::RNNTanh;
}
}  // namespace

template <class T>
RNN<T>::RNN(std::size_t input_size, std::size_t hidden_size, Generator& gen, const RecurrentOptions& options)
    : detail::RecurrentBase<T>(rnn_kind(options), input_size, hidden_size, gen, options) {}

template <class T>
LSTM<T>::LSTM(std::size_t input_size, std::size_t hidden_size, Generator& gen, const RecurrentOptions& options)
    : detail::RecurrentBase<T>(detail::CellKind::LSTM, input_size, hidden_size, gen, options) {}

template <class T>
GRU<T>::GRU(std::size_t input_size, std::size_t hidden_size, Generator& gen, const RecurrentOptions& options)
    : detail::RecurrentBase<T>(detail::CellKind::GRU, input_size, hidden_size, gen, options) {}

template RecurrentOutput<float> detail::run_layers(detail::CellKind, std::size_t,
                                                   const std::vector<detail::CellWeights<float>>&, const Tensor<float>&,
                                                   const Tensor<float>&, const Tensor<float>&, double, Generator*);
template RecurrentOutput<double> detail::run_layers(detail::CellKind, std::size_t,
                                                    const std::vector<detail::CellWeights<double>>&,
                                                    const Tensor<double>&, const Tensor<double>&, const Tensor<double>&,
                                                    double, Generator*);
template class detail::RecurrentBase<float>;
template class detail::RecurrentBase<double>;
template class RNN<float>;
template class RNN<double>;
template class LSTM<float>;
template class LSTM<double>;
template class GRU<float>;
template class GRU<double>;

}  // namespace tapegrad::nn
