#include <tapegrad/autograd/graph_view.hpp>

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include <tapegrad/autograd/node.hpp>
#include <tapegrad/autograd/shape.hpp>
#include <tapegrad/autograd/tape.hpp>

namespace tapegrad {

namespace {

using detail::Node;
using detail::TensorAccess;

template <class T>
const Node<T>* node_of(const Tensor<T>& t) {
    return TensorAccess::impl(t)->grad_fn.get();
}

template <class T>
std::size_t value_bytes(const Tensor<T>& t) {
    return t.numel() * sizeof(T);
}

// Calls f(tensor) for each distinct input of `node` (x * x keeps x once).
template <class T, class F>
void for_each_saved(const Node<T>& node, F f) {
    const auto& inputs = node.inputs();
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        auto same = [&](const Tensor<T>& earlier) { return earlier.same(inputs[i]); };
        if (std::none_of(inputs.begin(), inputs.begin() + static_cast<std::ptrdiff_t>(i), same)) f(inputs[i]);
    }
}

template <class T>
std::size_t node_saved_bytes(const Node<T>& node) {
    std::size_t bytes = 0;
    for_each_saved(node, [&](const Tensor<T>& in) { bytes += value_bytes(in); });
    return bytes;
}

// Adds the tensors `node` saves to `seen`, and the bytes of those not seen before to `bytes`.
template <class T>
void add_distinct(const Node<T>& node, std::unordered_set<const void*>& seen, std::size_t& bytes) {
    for_each_saved(node, [&](const Tensor<T>& in) {
        if (seen.insert(in.id()).second) bytes += value_bytes(in);
    });
}

// "96 B", "3.1 KiB", "2.0 MiB": the picture's labels (tape_summary() prints exact integers).
std::string bytes_str(std::size_t bytes) {
    if (bytes < 1024) return fmt::format("{} B", bytes);
    const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(bytes) / 1024;
    std::size_t u = 0;
    for (; v >= 1024 && u + 1 < std::size(units); ++u) v /= 1024;
    return fmt::format("{:.1f} {}", v, units[u]);
}

// A DOT double-quoted string's content: quotes and backslashes escaped, line breaks as DOT's \n
// (centred lines), other control characters as spaces (DOT has no escape for them).
std::string dot_escape(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            out += ' ';
        } else {
            out += c;
        }
    }
    return out;
}

// The graph behind the outputs, each tensor once, in depth-first post-order: every op comes after
// its inputs. An explicit stack, so that a long chain cannot overflow the call stack.
template <class T>
struct Walk {
    std::vector<Tensor<T>> order;
    std::unordered_map<const void*, std::size_t> index;  // id() -> position in order

    explicit Walk(const std::vector<Tensor<T>>& outputs) {
        std::unordered_set<const void*> entered;
        std::vector<std::pair<Tensor<T>, std::size_t>> stack;  // tensor, next input to visit
        for (const auto& out : outputs) {
            if (!entered.insert(out.id()).second) continue;
            stack.emplace_back(out, 0);
            while (!stack.empty()) {
                const Node<T>* node = node_of(stack.back().first);
                if (node && stack.back().second < node->inputs().size()) {
                    const Tensor<T>& in = node->inputs()[stack.back().second++];
                    if (entered.insert(in.id()).second) stack.emplace_back(in, 0);
                    continue;
                }
                index.emplace(stack.back().first.id(), order.size());
                order.push_back(std::move(stack.back().first));
                stack.pop_back();
            }
        }
    }
};

template <class T>
std::unordered_map<const void*, std::string> name_table(const NamedTensors<T>& names) {
    std::unordered_map<const void*, std::string> table;
    for (const auto& [name, t] : names) {
        if (!t.defined()) fail<ValueError>("to_dot: the tensor named '{}' is undefined", name);
        if (name.empty()) fail<ValueError>("to_dot: a tensor of shape {} is given an empty name", shape_str(t.shape()));
        table.emplace(t.id(), name);  // the first name given wins
    }
    return table;
}

// One vertex's DOT statement.
template <class T>
std::string vertex(std::size_t id, const Tensor<T>& t, const std::string* name, bool is_output) {
    std::string label = name ? dot_escape(*name) + "\\n" : "";
    std::vector<std::string> style;
    std::string attrs;
    const char* fill = nullptr;
    if (const Node<T>* node = node_of(t)) {
        label += fmt::format("{}\\n{} {}\\n", node->name(), shape_str(t.shape()), dtype_name<T>());
        label += node->released() ? std::string("released") : "saved " + bytes_str(node_saved_bytes(*node));
        attrs = "shape=box";
        style.emplace_back("rounded");
        if (node->released()) {
            style.emplace_back("dashed");
            attrs += ", fontcolor=gray40";
        } else {
            fill = "gray92";
        }
    } else {
        label += fmt::format("{} {}", shape_str(t.shape()), dtype_name<T>());
        attrs = "shape=ellipse";
        if (t.requires_grad()) {
            fill = "lightblue";
        } else {
            attrs += ", color=gray50, fontcolor=gray40";
        }
    }
    if (is_output) {
        fill = "darkolivegreen1";
        attrs += ", penwidth=2";
    }
    if (fill) {
        style.emplace_back("filled");
        attrs += fmt::format(", fillcolor={}", fill);
    }
    if (!style.empty()) attrs += fmt::format(", style=\"{}\"", fmt::join(style, ","));
    return fmt::format("  n{} [label=\"{}\", {}];\n", id, label, attrs);
}

template <class T>
std::string edge(std::size_t from, std::size_t to, const Tensor<T>& input, std::uint64_t recorded_version) {
    const bool changed = input.version() != recorded_version;
    std::string attrs = input.requires_grad() ? "style=bold" : "style=dashed";
    if (changed) {
        attrs += ", color=red, fontcolor=red, label=\"changed in place\"";
    } else if (!input.requires_grad()) {
        attrs += ", color=gray50";
    }
    return fmt::format("  n{} -> n{} [{}];\n", from, to, attrs);
}

}  // namespace

template <class T>
std::string to_dot(const std::vector<Tensor<T>>& outputs, const NamedTensors<T>& names) {
    if (outputs.empty()) fail<ValueError>("to_dot: no outputs given: pass the tensors whose graph to draw");
    for (std::size_t i = 0; i < outputs.size(); ++i) {
        if (!outputs[i].defined()) fail<ValueError>("to_dot: output {} of {} is undefined", i, outputs.size());
    }
    const auto table = name_table(names);
    const Walk<T> walk(outputs);
    std::unordered_set<const void*> is_output;
    for (const auto& out : outputs) is_output.insert(out.id());

    std::string vertices;
    std::string edges;
    std::size_t ops = 0;
    std::size_t saved = 0;
    std::unordered_set<const void*> saved_seen;
    for (std::size_t v = 0; v < walk.order.size(); ++v) {
        const Tensor<T>& t = walk.order[v];
        const auto name = table.find(t.id());
        vertices += vertex(v, t, name == table.end() ? nullptr : &name->second, is_output.contains(t.id()));
        const Node<T>* node = node_of(t);
        if (!node) continue;
        ++ops;
        add_distinct(*node, saved_seen, saved);
        for (std::size_t i = 0; i < node->inputs().size(); ++i) {
            const Tensor<T>& in = node->inputs()[i];
            edges += edge(walk.index.at(in.id()), v, in, node->input_versions()[i]);
        }
    }
    return fmt::format(
        "digraph tapegrad {{\n"
        "  graph [fontname=\"Helvetica\", fontsize=10, labelloc=b, label=\"{} ops, {} leaves, saved {}\"];\n"
        "  node [fontname=\"Helvetica\", fontsize=10];\n"
        "  edge [arrowsize=0.7];\n"
        "{}{}}}\n",
        ops, walk.order.size() - ops, bytes_str(saved), vertices, edges);
}

template <class T>
std::string to_dot(const Tensor<T>& output, const NamedTensors<T>& names) {
    return to_dot(std::vector<Tensor<T>>{output}, names);
}

template <class T>
std::size_t saved_bytes(const Tensor<T>& t) {
    if (!t.defined()) fail<ValueError>("saved_bytes: the tensor is undefined");
    const Node<T>* node = node_of(t);
    return node ? node_saved_bytes(*node) : 0;
}

template <class T>
std::vector<Tensor<T>> graph_leaves(const std::vector<Tensor<T>>& outputs) {
    std::vector<Tensor<T>> defined;
    std::copy_if(outputs.begin(), outputs.end(), std::back_inserter(defined),
                 [](const Tensor<T>& t) { return t.defined(); });
    std::vector<Tensor<T>> leaves;
    for (auto& t : Walk<T>(defined).order)
        if (!node_of(t) && t.requires_grad()) leaves.push_back(std::move(t));
    return leaves;
}

namespace {

// An output dropped on another thread can be gone while this thread still holds its node for a
// moment: such an op is no longer live.
template <class T, class F>
void visit_live(const Node<T>& node, F& f) {
    if (const Tensor<T> out = node.output(); out.defined()) f(node, out);
}

// Calls f(node, output) for each live op of this thread's tape, oldest first.
template <class F>
void for_each_live(F f) {
    for (const auto& entry : detail::TapeAccess::entries(Tape::current())) {
        auto base = entry.node.lock();
        if (!base || base->released()) continue;
        if (base->is_double()) {
            visit_live(static_cast<const Node<double>&>(*base), f);
        } else {
            visit_live(static_cast<const Node<float>&>(*base), f);
        }
    }
}

// The live ops and, in the same pass, the bytes of the distinct tensors they save.
std::vector<TapeOp> live_ops(std::size_t& distinct) {
    std::vector<TapeOp> ops;
    std::unordered_set<const void*> seen;
    for_each_live([&]<class T>(const Node<T>& node, const Tensor<T>& out) {
        ops.push_back({node.sequence(), node.name(), out.shape(), dtype_name<T>(), node_saved_bytes(node)});
        add_distinct(node, seen, distinct);
    });
    return ops;
}

}  // namespace

std::vector<TapeOp> tape_ops() {
    std::size_t distinct = 0;
    return live_ops(distinct);
}

std::string tape_summary(std::size_t top) {
    std::size_t distinct = 0;
    std::vector<TapeOp> ops = live_ops(distinct);
    std::size_t total = 0;
    for (const auto& op : ops) total += op.saved_bytes;

    std::string out;
    const std::size_t count = ops.size();
    if (top > 0 && top < count) {
        std::stable_sort(ops.begin(), ops.end(),
                         [](const TapeOp& a, const TapeOp& b) { return a.saved_bytes > b.saved_bytes; });
        ops.resize(top);
        out += fmt::format("The {} of {} ops with the most saved bytes:\n", top, count);
    }
    std::vector<std::string> shapes;
    std::size_t w_seq = 3, w_op = 2, w_shape = 5;
    for (const auto& op : ops) {
        shapes.push_back(shape_str(op.shape));
        w_seq = std::max(w_seq, fmt::formatted_size("{}", op.sequence));
        w_op = std::max(w_op, op.name.size());
        w_shape = std::max(w_shape, shapes.back().size());
    }
    out += fmt::format("{:>{}}  {:<{}}  {:<{}}  {:<7}  {}\n", "seq", w_seq, "op", w_op, "shape", w_shape, "dtype",
                       "saved bytes");
    for (std::size_t i = 0; i < ops.size(); ++i) {
        out += fmt::format("{:>{}}  {:<{}}  {:<{}}  {:<7}  {:>11}\n", ops[i].sequence, w_seq, ops[i].name, w_op,
                           shapes[i], w_shape, ops[i].dtype, ops[i].saved_bytes);
    }
    out += fmt::format("Total: {} ops, {} saved bytes ({} in distinct tensors: one saved by several ops counts once)\n",
                       count, total, distinct);
    return out;
}

#define TAPEGRAD_INSTANTIATE(T)                                                            \
    template std::string to_dot<T>(const std::vector<Tensor<T>>&, const NamedTensors<T>&); \
    template std::string to_dot<T>(const Tensor<T>&, const NamedTensors<T>&);              \
    template std::size_t saved_bytes<T>(const Tensor<T>&);                                 \
    template std::vector<Tensor<T>> graph_leaves<T>(const std::vector<Tensor<T>>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
