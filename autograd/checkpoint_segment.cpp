#include <tapegrad/autograd/checkpoint_segment.hpp>

#include <algorithm>
#include <memory>
#include <unordered_set>

#include <xtensor/xnoalias.hpp>

#include <tapegrad/autograd/engine.hpp>
#include <tapegrad/autograd/forward_ad.hpp>
#include <tapegrad/autograd/grad_mode.hpp>
#include <tapegrad/autograd/node.hpp>
#include <tapegrad/autograd/random.hpp>
#include <tapegrad/autograd/tape.hpp>

namespace tapegrad {

namespace {

using detail::TensorAccess;

template <class T>
xt::xarray<T> copy_of(const xt::xarray<T>& value) {
    xt::xarray<T> out = detail::take_buffer_like("checkpoint", value);
    xt::noalias(out) = value;
    return out;
}

// Output k of a segment with several: elements [offset, offset + numel(shape)) of the flat
// concatenation, as `shape`. Its backward puts the gradient back in place (pack_piece), and
// pack_piece's backward takes it out again (unpack_piece), so gradients of gradients flow.
template <class T>
Tensor<T> unpack_piece(const Tensor<T>& flat, std::size_t offset, const Shape& shape);

//   d/dpiece = grad[offset, offset + numel)
template <class T>
Tensor<T> pack_piece(const Tensor<T>& piece, std::size_t offset, std::size_t total) {
    xt::xarray<T> out = detail::take_buffer<T>("checkpoint_output", Shape{total});
    out.fill(T(0));
    std::copy(piece.value().begin(), piece.value().end(), out.begin() + static_cast<std::ptrdiff_t>(offset));
    const Shape shape = piece.shape();
    return record<T>(
        "checkpoint_output_backward", {piece}, std::move(out),
        [offset, shape](const Backward<T>& ctx) -> Grads<T> { return {unpack_piece(ctx.grad(), offset, shape)}; },
        [offset, total](const Forward<T>& ctx) { return pack_piece(ctx.tangent(0), offset, total); });
}

//   d/dflat = grad placed at [offset, offset + numel), 0 elsewhere
template <class T>
Tensor<T> unpack_piece(const Tensor<T>& flat, std::size_t offset, const Shape& shape) {
    xt::xarray<T> out = detail::take_buffer<T>("checkpoint_output", shape);
    const auto first = flat.value().begin() + static_cast<std::ptrdiff_t>(offset);
    std::copy(first, first + static_cast<std::ptrdiff_t>(out.size()), out.begin());
    const std::size_t total = flat.numel();
    return record<T>(
        "checkpoint_output", {flat}, std::move(out),
        [offset, total](const Backward<T>& ctx) -> Grads<T> { return {pack_piece(ctx.grad(), offset, total)}; },
        [offset, shape](const Forward<T>& ctx) { return unpack_piece(ctx.tangent(0), offset, shape); });
}

template <class T>
std::string shapes_str(const std::vector<Tensor<T>>& tensors) {
    std::string out;
    for (const auto& t : tensors) out += (out.empty() ? "" : ", ") + (t.defined() ? shape_str(t.shape()) : "undefined");
    return out;
}

// Adds to `inputs` the tensors requiring grad that the graph of `outputs` (the ops numbered `start`
// and above: fn's) reached from outside without being in `inputs`: parameters, and tensors computed
// before the segment that fn captured (a parameter bound by functional_call is such an op output).
template <class T>
void add_captured(const std::vector<Tensor<T>>& outputs, std::uint64_t start, std::vector<Tensor<T>>& inputs) {
    std::unordered_set<const void*> known;
    for (const auto& in : inputs) known.insert(in.id());
    std::unordered_set<const detail::Node<T>*> seen;
    std::vector<const detail::Node<T>*> stack;
    auto visit = [&](const Tensor<T>& t) {
        if (!t.requires_grad()) return;
        const auto& node = TensorAccess::impl(t)->grad_fn;
        if (node && node->sequence() >= start) {
            if (seen.insert(node.get()).second) stack.push_back(node.get());
        } else if (known.insert(t.id()).second) {
            inputs.push_back(t);
        }
    };
    for (const auto& out : outputs) visit(out);
    while (!stack.empty()) {
        const auto* node = stack.back();
        stack.pop_back();
        for (const auto& in : node->inputs()) visit(in);
    }
}

// The segment's inputs (given or captured) are made leaves while it is recomputed and
// differentiated, so that the inner backward pass stops at them: it must not walk into the graph
// that made them, which the outer pass is differentiating. Their history is given back afterwards
// (also when fn throws), so that gradients of the gradients (create_graph) flow on through it.
template <class T>
class HiddenHistory {
public:
    HiddenHistory() = default;
    HiddenHistory(const HiddenHistory&) = delete;
    HiddenHistory& operator=(const HiddenHistory&) = delete;
    ~HiddenHistory() {
        for (auto& [impl, node] : hidden_) impl->grad_fn = std::move(node);
    }
    void hide(const Tensor<T>& t) {
        auto* impl = TensorAccess::impl(t);
        if (impl->grad_fn) hidden_.emplace_back(impl, std::move(impl->grad_fn));
    }

private:
    std::vector<std::pair<detail::TensorImpl<T>*, std::shared_ptr<detail::Node<T>>>> hidden_;
};

// What the checkpoint op's backward needs. The op's inputs are the segment's inputs (fn's
// arguments) followed by the tensors requiring grad that fn captured (add_captured).
template <class T>
struct Segment {
    SegmentFn<T> fn;
    std::size_t arguments = 0;
    std::size_t inputs = 0;
    std::vector<Shape> shapes;  // of the outputs, in order
    detail::RandomStates random;

    Grads<T> backward(const Backward<T>& ctx) const {
        const bool create = is_grad_enabled();  // the engine records the backward under create_graph
        std::vector<Tensor<T>> args;
        std::vector<Tensor<T>> wrt;
        std::vector<std::size_t> slot;  // wrt[j] is the op's input slot[j]
        HiddenHistory<T> hidden;        // until the inner backward is done
        for (std::size_t i = 0; i < inputs; ++i) {
            const Tensor<T>& in = ctx.input(i);
            if (i < arguments) args.push_back(in);
            if (!ctx.needs(i)) continue;
            // An input given twice is asked for once: the engine sums what its first slot gets.
            if (std::any_of(wrt.begin(), wrt.end(), [&in](const Tensor<T>& t) { return t.same(in); })) continue;
            hidden.hide(in);
            wrt.push_back(in);
            slot.push_back(i);
        }
        std::vector<Tensor<T>> outs;
        {
            GradModeGuard on(true);
            detail::RandomStates::Replay replay(random);
            outs = fn(args);
        }
        check_recomputed(outs);
        std::vector<Tensor<T>> roots, seeds;
        std::size_t offset = 0;
        for (std::size_t k = 0; k < outs.size(); ++k) {
            if (outs[k].requires_grad()) {
                roots.push_back(outs[k]);
                seeds.push_back(outs.size() == 1 ? ctx.grad() : unpack_piece(ctx.grad(), offset, shapes[k]));
            }
            offset += outs[k].numel();
        }
        Grads<T> result(inputs);
        if (roots.empty() || wrt.empty()) return result;
        auto grads = tapegrad::grad<T>(roots, wrt, seeds, create, create, /*allow_unused=*/true);
        for (std::size_t j = 0; j < slot.size(); ++j) result[slot[j]] = std::move(grads[j]);
        return result;
    }

    void check_recomputed(const std::vector<Tensor<T>>& outs) const {
        bool same = outs.size() == shapes.size();
        for (std::size_t k = 0; same && k < outs.size(); ++k) same = outs[k].defined() && outs[k].shape() == shapes[k];
        if (same) return;
        std::string expected;
        for (const auto& s : shapes) expected += (expected.empty() ? "" : ", ") + shape_str(s);
        fail<AutogradError>(
            "checkpoint: recomputing the segment for the backward gave {} output(s) of shapes [{}], the forward "
            "gave {} of shapes [{}]; fn must compute the same from the same inputs",
            outs.size(), shapes_str(outs), shapes.size(), expected);
    }
};

// The value of fn's output `t` for the checkpoint op: its buffer when nothing else holds the
// tensor (the segment's graph is about to be dropped), a copy otherwise.
template <class T>
xt::xarray<T> take_value(const Tensor<T>& t) {
    auto* impl = TensorAccess::impl(t);
    if (TensorAccess::impl_ptr(t).use_count() > 1) return copy_of(impl->value);
    xt::xarray<T> out = std::move(impl->value);
    impl->value = xt::xarray<T>::from_shape({0});  // what the dying tensor gives back to the pool: nothing
    return out;
}

}  // namespace

template <class T>
std::vector<Tensor<T>> checkpoint(const std::type_identity_t<SegmentFn<T>>& fn, const std::vector<Tensor<T>>& inputs) {
    if (!fn) fail<ValueError>("checkpoint: fn is empty");
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (!inputs[i].defined()) fail<ValueError>("checkpoint: input {} is undefined", i);
    }
    if (!is_grad_enabled()) return fn(inputs);
    auto segment = std::make_shared<Segment<T>>();
    segment->fn = fn;
    segment->arguments = inputs.size();
    const std::uint64_t start = detail::TapeAccess::upcoming_sequence(Tape::current());
    std::vector<Tensor<T>> outputs;
    {
        detail::RandomStates::Recording recording(segment->random);
        outputs = fn(inputs);
    }
    if (outputs.empty()) fail<ValueError>("checkpoint: fn returned no tensor");
    for (std::size_t k = 0; k < outputs.size(); ++k) {
        if (!outputs[k].defined()) fail<ValueError>("checkpoint: fn's output {} is undefined", k);
        segment->shapes.push_back(outputs[k].shape());
    }
    std::vector<Tensor<T>> op_inputs = inputs;
    add_captured(outputs, start, op_inputs);
    segment->inputs = op_inputs.size();
    auto rule = [segment](const Backward<T>& ctx) { return segment->backward(ctx); };
    // In forward mode fn's pass has computed its outputs' tangents already (the inputs, given or
    // captured, carry theirs): the outputs take them over, set below. Deriving them from the
    // backward rule instead would recompute the segment, and miss a captured dual that does not
    // require grad (not an input of the op). Those tangents keep the segment's graph alive.
    std::vector<Tensor<T>> tangents;
    for (const auto& out : outputs) tangents.push_back(detail::open_tangent(out));
    const auto set_below = [](const Forward<T>&) { return Tensor<T>(); };
    if (outputs.size() == 1) {
        xt::xarray<T> value = take_value(outputs[0]);
        outputs.clear();  // the segment's graph, and every activation it saved, goes here
        Tensor<T> y = record<T>("checkpoint", op_inputs, std::move(value), rule, set_below);
        detail::set_open_tangent(y, std::move(tangents[0]));
        return {y};
    }
    std::size_t total = 0;
    for (const auto& out : outputs) total += out.numel();
    xt::xarray<T> flat = detail::take_buffer<T>("checkpoint", Shape{total});
    std::size_t offset = 0;
    for (const auto& out : outputs) {
        std::copy(out.value().begin(), out.value().end(), flat.begin() + static_cast<std::ptrdiff_t>(offset));
        offset += out.numel();
    }
    outputs.clear();
    const Tensor<T> packed = record<T>("checkpoint", op_inputs, std::move(flat), rule, set_below);
    std::vector<Tensor<T>> pieces;
    offset = 0;
    for (std::size_t k = 0; k < segment->shapes.size(); ++k) {
        pieces.push_back(unpack_piece(packed, offset, segment->shapes[k]));
        detail::set_open_tangent(pieces.back(), std::move(tangents[k]));
        offset += pieces.back().numel();
    }
    return pieces;
}

template <class T>
Tensor<T> checkpoint(const std::type_identity_t<std::function<Tensor<T>(const Tensor<T>&)>>& fn,
                     const Tensor<T>& input) {
    if (!fn) fail<ValueError>("checkpoint: fn is empty");
    auto outputs = checkpoint<T>([fn](const std::vector<Tensor<T>>& xs) { return std::vector<Tensor<T>>{fn(xs[0])}; },
                                 std::vector<Tensor<T>>{input});
    return outputs[0];
}

#define TAPEGRAD_INSTANTIATE(T)                                                                            \
    template std::vector<Tensor<T>> checkpoint(const std::type_identity_t<SegmentFn<T>>&,                  \
                                               const std::vector<Tensor<T>>&);                             \
    template Tensor<T> checkpoint(const std::type_identity_t<std::function<Tensor<T>(const Tensor<T>&)>>&, \
                                  const Tensor<T>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
