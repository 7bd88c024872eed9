#include <tapegrad/nn/recurrent_cell.hpp>

#include <cmath>

#include <fmt/format.h>

#include <tapegrad/autograd/factories.hpp>
#include <tapegrad/nn/init.hpp>
#include <tapegrad/ops/activation.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/layout.hpp>
#include <tapegrad/ops/matmul.hpp>
#include <tapegrad/ops/shape.hpp>

namespace tapegrad::nn {
namespace detail {

std::size_t gate_count(CellKind kind) noexcept {
    switch (kind) {
        case CellKind::LSTM:
            return 4;
        case CellKind::GRU:
            return 3;
        default:
            return 1;
    }
}

template <class T>
std::pair<Tensor<T>, Tensor<T>> cell_step(CellKind kind, const CellWeights<T>& w, const Tensor<T>& gi,
                                          const Tensor<T>& h, const Tensor<T>& c) {
    const Tensor<T> gh = linear(h, w.w_hh, w.b_hh);
    switch (kind) {
        case CellKind::RNNTanh:
            return {tapegrad::tanh(gi + gh), {}};
        case CellKind::RNNReLU:
            return {relu(gi + gh), {}};
        case CellKind::LSTM: {
            const auto gates = chunk(gi + gh, 4, 1);
            const Tensor<T> c_next = sigmoid(gates[1]) * c + sigmoid(gates[0]) * tapegrad::tanh(gates[2]);
            return {sigmoid(gates[3]) * tapegrad::tanh(c_next), c_next};
        }
        case CellKind::GRU: {
            const auto in = chunk(gi, 3, 1);
            const auto hid = chunk(gh, 3, 1);
            const Tensor<T> r = sigmoid(in[0] + hid[0]);
            const Tensor<T> z = sigmoid(in[1] + hid[1]);
            const Tensor<T> n = tapegrad::tanh(in[2] + r * hid[2]);
            return {n + z * (h - n), {}};  // (1 - z) n + z h, one op fewer
        }
    }
    return {};
}

template <class T>
CellBase<T>::CellBase(CellKind kind, std::size_t input_size, std::size_t hidden_size, Generator& gen, bool bias)
    : kind_(kind), input_(input_size), hidden_(hidden_size) {
    if (input_size == 0 || hidden_size == 0) {
        fail<ValueError>("{}: input_size {} and hidden_size {} must both be positive",
                         kind == CellKind::LSTM  ? "LSTMCell"
                         : kind == CellKind::GRU ? "GRUCell"
                                                 : "RNNCell",
                         input_size, hidden_size);
    }
    const std::size_t rows = gate_count(kind) * hidden_;
    // The handles live in weights_; the slots let functional_call substitute them.
    const auto add = [&](const std::string& name, Tensor<T> CellWeights<T>::*field, Tensor<T> value) {
        weights_.*field = this->register_parameter(name, std::move(value), [field](Module<T>& m) -> Tensor<T>& {
            return static_cast<CellBase&>(m).weights_.*field;
        });
    };
    add("weight_ih", &CellWeights<T>::w_ih, zeros<T>({rows, input_}));
    add("weight_hh", &CellWeights<T>::w_hh, zeros<T>({rows, hidden_}));
    if (bias) {
        add("bias_ih", &CellWeights<T>::b_ih, zeros<T>({rows}));
        add("bias_hh", &CellWeights<T>::b_hh, zeros<T>({rows}));
    }
    reset_parameters(gen);
}

template <class T>
void CellBase<T>::reset_parameters(Generator& gen) {
    // PyTorch's RNNCellBase.reset_parameters: every parameter from U(-k, k), k = 1/sqrt(hidden).
    const double k = 1.0 / std::sqrt(static_cast<double>(hidden_));
    for (auto& p : this->parameters()) init::uniform_(p, gen, -k, k);
}

template <class T>
std::string CellBase<T>::extra_repr() const {
    return fmt::format("{}, {}{}", input_, hidden_, has_bias() ? "" : ", bias=False");
}

template <class T>
void CellBase<T>::check_state(const char* which, const Tensor<T>& s, const Tensor<T>& x) const {
    if (!s.defined()) return;
    Shape expected{hidden_};
    if (x.ndim() == 2) expected.insert(expected.begin(), x.shape()[0]);
    if (s.shape() != expected) {
        fail<ShapeError>("{}({}): {} has shape {}; for input of shape {} expected {}", this->name(), extra_repr(),
                         which, shape_str(s.shape()), shape_str(x.shape()), shape_str(expected));
    }
}

template <class T>
std::pair<Tensor<T>, Tensor<T>> CellBase<T>::step(const Tensor<T>& x, const Tensor<T>& h, const Tensor<T>& c) const {
    if (!x.defined() || x.ndim() < 1 || x.ndim() > 2 || x.shape().back() != input_) {
        fail<ShapeError>("{}({}): input has shape {}; expected [N, {}] or [{}]", this->name(), extra_repr(),
                         x.defined() ? shape_str(x.shape()) : "undefined", input_, input_);
    }
    check_state("hx", h, x);
    check_state("cx", c, x);
    // An unbatched step is a batch of one (PyTorch's cells do the same).
    const bool single = x.ndim() == 1;
    auto batched = [single](const Tensor<T>& t) { return single && t.defined() ? unsqueeze(t, 0) : t; };
    const Tensor<T> xb = batched(x);
    const Shape state{xb.shape()[0], hidden_};
    const Tensor<T> hb = h.defined() ? batched(h) : zeros<T>(state);
    const Tensor<T> cb = c.defined() ? batched(c) : zeros<T>(state);
    auto [h_next, c_next] = cell_step(kind_, weights_, linear(xb, weights_.w_ih, weights_.b_ih), hb, cb);
    if (single) {
        h_next = squeeze(h_next, 0);
        if (c_next.defined()) c_next = squeeze(c_next, 0);
    }
    return {h_next, c_next};
}

}  // namespace detail

template <class T>
RNNCell<T>::RNNCell(std::size_t input_size, std::size_t hidden_size, Generator& gen, bool bias,
                    Nonlinearity nonlinearity)
    : detail::CellBase<T>(nonlinearity == Nonlinearity::ReLU ? detail::CellKind::RNNReLU : detail::CellKind::RNNTanh,
                          input_size, hidden_size, gen, bias) {}

template <class T>
Nonlinearity RNNCell<T>::nonlinearity() const noexcept {
    return this->kind() == detail::CellKind::RNNReLU ? Nonlinearity::ReLU : Nonlinearity::Tanh;
}

template <class T>
std::string RNNCell<T>::extra_repr() const {
    return detail::CellBase<T>::extra_repr() + (nonlinearity() == Nonlinearity::ReLU ? ", nonlinearity=relu" : "");
}

template <class T>
std::shared_ptr<Module<double>> RNNCell<T>::to_float64() const {
    Generator unused(0);  // the constructor draws parameters that copy_state_to overwrites
    return this->copy_state_to(std::make_shared<RNNCell<double>>(this->input_size(), this->hidden_size(), unused,
                                                                 this->has_bias(), nonlinearity()));
}

template <class T>
LSTMCell<T>::LSTMCell(std::size_t input_size, std::size_t hidden_size, Generator& gen, bool bias)
    : detail::CellBase<T>(detail::CellKind::LSTM, input_size, hidden_size, gen, bias) {}

template <class T>
LSTMState<T> LSTMCell<T>::forward(const Tensor<T>& x, const LSTMState<T>& state) const {
    auto [h, c] = this->step(x, state.h, state.c);
    return {h, c};
}

template <class T>
std::shared_ptr<Module<double>> LSTMCell<T>::to_float64() const {
    Generator unused(0);
    return this->copy_state_to(
        std::make_shared<LSTMCell<double>>(this->input_size(), this->hidden_size(), unused, this->has_bias()));
}

template <class T>
GRUCell<T>::GRUCell(std::size_t input_size, std::size_t hidden_size, Generator& gen, bool bias)
    : detail::CellBase<T>(detail::CellKind::GRU, input_size, hidden_size, gen, bias) {}

template <class T>
std::shared_ptr<Module<double>> GRUCell<T>::to_float64() const {
    Generator unused(0);
    return this->copy_state_to(
        std::make_shared<GRUCell<double>>(this->input_size(), this->hidden_size(), unused, this->has_bias()));
}

#define TAPEGRAD_INSTANTIATE(T)                                                                                       \
    template std::pair<Tensor<T>, Tensor<T>> detail::cell_step(detail::CellKind, const detail::CellWeights<T>&,       \
                                                               const Tensor<T>&, const Tensor<T>&, const Tensor<T>&); \
    template class detail::CellBase<T>;                                                                               \
    template class RNNCell<T>;                                                                                        \
    template class LSTMCell<T>;                                                                                       \
    template class GRUCell<T>;
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad::nn
