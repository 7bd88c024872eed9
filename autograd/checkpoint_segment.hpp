/// \file
/// Gradient checkpointing (torch.utils.checkpoint): a segment of the forward pass whose
/// intermediate activations are not kept for the backward but computed again when it needs them,
/// trading one more forward of the segment for its memory. Not to be confused with
/// nn::save_checkpoint(), which writes a model to disk.
#pragma once

#include <functional>
#include <initializer_list>
#include <type_traits>
#include <vector>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// A checkpointed segment: tensors in, tensors out, computed with tapegrad's ops.
template <class T>
using SegmentFn = std::function<std::vector<Tensor<T>>(const std::vector<Tensor<T>>&)>;

/// Runs fn(inputs) and returns its outputs (values identical to fn's), recorded as ONE op,
/// "checkpoint", whose inputs are `inputs` and the tensors requiring grad that fn captured (a
/// module's parameters, an activation computed before): the activations inside fn are freed when it
/// returns, and the op's backward runs fn again, with grad mode on, to differentiate through it
/// (torch.utils.checkpoint.checkpoint with use_reentrant=False).
///
/// - Memory: a backward holds the segment's inputs and outputs instead of everything fn computed;
///   Tape::peak_saved_bytes() shows the difference. Time: fn runs twice.
/// - Random numbers: each Generator fn draws from (its own, a module's, the default one) is rewound
///   for the recomputation to its state before its first draw in the forward, and put back
///   afterwards, so dropout draws the same masks and the streams end where they would without
///   checkpointing. A generator destroyed in between (a local one in fn) is skipped: fn makes it
///   again. The default generator is shared: another thread drawing from it meanwhile changes the
///   recomputation's numbers.
/// - Gradients are those of the same computation without checkpointing, bit for bit when every
///   input and parameter of the segment is used by it alone (otherwise the segment's share is
///   summed before the rest is added: equal up to rounding). The backward can be recorded
///   (create_graph: gradients of gradients), checkpoints nest, and backward twice with retain_graph
///   recomputes twice.
/// - Several outputs: the op's value is their concatenation and each output a piece of it
///   ("checkpoint_output"), so their values are held twice until the backward.
/// - With grad mode off it is fn(inputs), nothing recorded.
///
/// Where tapegrad differs from PyTorch: fn's forward is recorded (its graph dropped when it
/// returns) rather than run under no_grad: that is how the tensors fn captured are found, so that
/// parameters get gradients whatever requires grad among `inputs`. While the backward recomputes and
/// differentiates fn, the segment's inputs are leaves for a moment (is_leaf() is true inside fn then).
///
/// fn must compute the same outputs from the same inputs and generators, and stay callable until
/// the backward. Throws ValueError for an empty fn, an undefined input, and fn returning no tensor
/// or an undefined one; AutogradError (in the backward) when the recomputation returns a different
/// number of outputs or other shapes; the engine's version error when an input or a captured tensor
/// was changed in place between the forward and the backward. What fn throws reaches the caller of
/// backward, and leaves no gradient anywhere.
template <class T>
std::vector<Tensor<T>> checkpoint(const std::type_identity_t<SegmentFn<T>>& fn, const std::vector<Tensor<T>>& inputs);

/// checkpoint() with the inputs in braces: `checkpoint(fn, {x, h})`.
template <class T>
std::vector<Tensor<T>> checkpoint(const std::type_identity_t<SegmentFn<T>>& fn,
                                  std::initializer_list<Tensor<T>> inputs) {
    return checkpoint<T>(fn, std::vector<Tensor<T>>(inputs));
}

/// checkpoint() of a segment with one input and one output: `y = checkpoint(block, x)` with
/// `block` a `Tensor<T>(const Tensor<T>&)` callable (torch.utils.checkpoint.checkpoint(block, x)).
template <class T>
Tensor<T> checkpoint(const std::type_identity_t<std::function<Tensor<T>(const Tensor<T>&)>>& fn,
                     const Tensor<T>& input);

}  // namespace tapegrad
