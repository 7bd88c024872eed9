/// \file
/// Anomaly mode's hooks, called by record() and the engine only when is_anomaly_enabled().
/// Internal: not installed.
#pragma once

#include <cstdint>
#include <span>

#include <tapegrad/autograd/anomaly.hpp>
#include <tapegrad/autograd/node.hpp>

namespace tapegrad::detail {

/// Scans an op's forward value; throws AnomalyError on a NaN or an infinity.
template <class T>
void anomaly_check_forward(const char* op, std::span<const Tensor<T>> inputs, const xt::xarray<T>& value);
/// Remembers where the op with this tape sequence number was recorded, for backward errors.
void anomaly_note_recorded(std::uint64_t sequence);

/// Sets the node whose backward rule is running; restores the previous one on exit.
class AnomalyBackwardContext {
public:
    explicit AnomalyBackwardContext(const NodeBase& node);
    ~AnomalyBackwardContext();
    AnomalyBackwardContext(const AnomalyBackwardContext&) = delete;
    AnomalyBackwardContext& operator=(const AnomalyBackwardContext&) = delete;

private:
    const NodeBase* previous_;
};

template <class T>
void anomaly_check_incoming(const NodeBase& node, const Tensor<T>& incoming);
template <class T>
void anomaly_check_backward(const NodeBase& node, std::span<const Tensor<T>> inputs, const Tensor<T>& incoming,
                            const Grads<T>& grads);

/// Runs a node's backward rule with the node marked as the current backward (the ops inside the
/// rule are not checked one by one), then scans the gradients it returned.
template <class T, class Rule>
Grads<T> anomaly_backward(const Node<T>& node, const Tensor<T>& incoming, Rule&& rule) {
    anomaly_check_incoming(node, incoming);
    Grads<T> grads;
    {
        AnomalyBackwardContext context(node);
        grads = rule();
    }
    anomaly_check_backward<T>(node, node.inputs(), incoming, grads);
    return grads;
}

}  // namespace tapegrad::detail
