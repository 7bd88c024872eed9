/// \file
/// Seeing the graph: to_dot() draws the graph behind some tensors in Graphviz's DOT language, and
/// tape_summary() lists this thread's live ops with the memory their nodes keep.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <tapegrad/autograd/shape.hpp>
#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// Tensors and the names to show for them, e.g. {{"x", x}, {"0.weight", w}}: the type of
/// nn::Module::named_parameters(), so a module's list can be passed as it is.
template <class T>
using NamedTensors = std::vector<std::pair<std::string, Tensor<T>>>;

/// The graph that produced `outputs`, as a Graphviz DOT digraph (render it with
/// `dot -Tpng graph.dot -o graph.png`). torchviz's make_dot, which PyTorch itself does not have.
///
/// - One box per recorded op: its name, its output's shape and dtype, and the bytes its node saves
///   for backward (see saved_bytes()); the name given in `names` first when the output has one.
///   An op freed by a backward without retain_graph is dashed and says "released": it has kept
///   no inputs, so the graph above it is gone from the picture too.
/// - One ellipse per leaf: its name when `names` gives one, its shape and dtype; blue when it
///   requires grad, grey for a constant.
/// - One edge from each input to its op, one per use (x * x has two): bold when the input carries
///   a gradient (requires grad), dashed and grey for a constant; red, labelled "changed in place",
///   when the input was modified in place after the op was recorded (backward would refuse it).
/// - The outputs filled green; the graph's label counts the ops and leaves and the bytes saved by
///   all the ops drawn, each tensor once however many ops save it.
///
/// A tensor reached several ways (a shared subexpression, a weight used twice) is drawn once.
/// Deterministic: vertices are numbered n0, n1, ... in the order a depth-first walk from the
/// outputs (inputs in order) finishes them, so the same graph, or one built the same way again,
/// gives the same text; no pointer or tape number appears in it. Labels are DOT-escaped (quotes,
/// backslashes, newlines in names). The walk is a loop, not a recursion: a 100k-op chain is fine.
/// Only reads the graph: call it while no backward runs through the graph.
///
/// `names`: the first name given to a tensor is used (as in named_parameters()), for leaves and
/// op outputs alike; tensors not in the graph are ignored.
/// Throws ValueError when `outputs` is empty, when an output or a named tensor is undefined, or
/// when a name is empty.
template <class T>
std::string to_dot(const std::vector<Tensor<T>>& outputs, const NamedTensors<T>& names = {});

/// to_dot() of one output: `to_dot(loss)`.
template <class T>
std::string to_dot(const Tensor<T>& output, const NamedTensors<T>& names = {});

/// The bytes the node that produced `t` keeps for its backward: the values of its inputs, each
/// tensor once (x * x keeps x once), element count times sizeof(T). The output is not counted:
/// the node holds it weakly (it lives as long as the tensor does, and is counted in the node of
/// each op that uses it). Also not counted: what a backward rule captured beyond its inputs
/// (cross_entropy's probabilities, a dropout mask), which the engine cannot see. 0 for a leaf and
/// for an op released by backward. PyTorch has no counterpart (its saved tensors are visible only
/// through saved_tensors_hooks). Throws ValueError for an undefined tensor.
template <class T>
std::size_t saved_bytes(const Tensor<T>& t);

/// The leaves requiring grad that the graph behind `outputs` reaches, each once, in the order a
/// depth-first walk from the outputs (inputs in order) finishes them: the tensors a backward from
/// the outputs would give a gradient (an output that is itself such a leaf included). What
/// DataParallel's find_unused_parameters asks after each forward (PyTorch's DDP walks its autograd
/// graph the same way). Only reads the graph; undefined outputs are skipped.
template <class T>
std::vector<Tensor<T>> graph_leaves(const std::vector<Tensor<T>>& outputs);

/// One live op of this thread's tape, as tape_ops() reports it.
struct TapeOp {
    /// Its position on the tape: later ops have larger numbers.
    std::uint64_t sequence = 0;
    /// The op's name, e.g. "matmul".
    std::string name;
    /// Its output's shape.
    Shape shape;
    /// "float32" or "float64".
    const char* dtype = "";
    /// What its node keeps for backward: saved_bytes() of its output.
    std::size_t saved_bytes = 0;
};

/// This thread's live ops (recorded, not yet released by a backward, output still held), oldest
/// first. Each thread has its own tape: ops recorded on other threads are not listed.
std::vector<TapeOp> tape_ops();

/// tape_ops() as a text table, "where memory goes": one row per op (sequence, op, output shape,
/// dtype, saved bytes), then
/// `Total: N ops, B saved bytes (D in distinct tensors: one saved by several ops counts once)`,
/// where B is the sum of the rows. With `top` > 0 only the `top` rows with the most saved bytes
/// are listed, largest first (ties in tape order), under a line saying so; the total still counts
/// every op. No PyTorch counterpart (the closest is torch.cuda.memory_summary, per allocator).
/// \code
/// seq  op      shape   dtype    saved bytes
///  12  linear  [4, 8]  float32          176
///  13  relu    [4, 8]  float32          128
/// Total: 2 ops, 304 saved bytes (304 in distinct tensors: one saved by several ops counts once)
/// \endcode
std::string tape_summary(std::size_t top = 0);

}  // namespace tapegrad
