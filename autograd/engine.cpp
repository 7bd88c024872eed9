#include <tapegrad/autograd/engine.hpp>

#include <algorithm>
#include <array>
#include <bitset>
#include <cstdint>
#include <mutex>
#include <span>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <xtensor/xnoalias.hpp>

#include <tapegrad/autograd/anomaly_hooks.hpp>
#include <tapegrad/autograd/broadcast.hpp>
#include <tapegrad/autograd/grad_mode.hpp>
#include <tapegrad/autograd/hooks.hpp>
#include <tapegrad/autograd/node.hpp>
#include <tapegrad/autograd/tape.hpp>

namespace tapegrad {

using detail::Node;
using detail::PoolAllocator;
using detail::TensorAccess;

namespace {

/// Backward passes on several threads may end in the same leaf (a shared parameter), so a leaf's
/// .grad() is written under a lock, as PyTorch's AccumulateGrad locks per leaf. The locks are a
/// fixed table striped by the tensor's address (no cost per tensor); a pass takes all the stripes
/// its leaves need, in index order (so two passes cannot deadlock), for its whole all-or-nothing
/// accumulation, and gives them back when it is done.
class GradLocks {
public:
    template <class Leaves>
    explicit GradLocks(const Leaves& leaves) {
        for (const auto& leaf : leaves) held_.set(stripe(leaf.first.id()));
        for (std::size_t i = 0; i < kStripes; ++i)
            if (held_.test(i)) table()[i].lock();
    }
    ~GradLocks() {
        for (std::size_t i = 0; i < kStripes; ++i)
            if (held_.test(i)) table()[i].unlock();
    }
    GradLocks(const GradLocks&) = delete;
    GradLocks& operator=(const GradLocks&) = delete;

private:
    static constexpr std::size_t kStripes = 64;
    static std::array<std::mutex, kStripes>& table() {
        static std::array<std::mutex, kStripes> mutexes;
        return mutexes;
    }
    static std::size_t stripe(const void* p) {
        return (reinterpret_cast<std::uintptr_t>(p) >> 6) % kStripes;  // impls are at least 64 bytes apart
    }
    std::bitset<kStripes> held_;
};

// a + b for same-shape gradients; recorded (d/da = d/db = grad) when the backward itself is
// being recorded (create_graph), so accumulated gradients stay differentiable.
template <class T>
Tensor<T> accumulate(const Tensor<T>& a, const Tensor<T>& b) {
    xt::xarray<T> sum = detail::take_buffer_like("accumulate", a.value());
    xt::noalias(sum) = a.value() + b.value();
    return record<T>(
        "accumulate", {a, b}, std::move(sum),
        [](const Backward<T>& ctx) -> Grads<T> {
            return {ctx.grad(), ctx.grad()};
        },
        [](const Forward<T>& ctx) {
            // A sum of tangents, where an input without one counts as zero.
            if (!ctx.has(0)) return ctx.tangent(1);
            if (!ctx.has(1)) return ctx.tangent(0);
            return accumulate(ctx.tangent(0), ctx.tangent(1));
        });
}

// A std::vector whose storage comes from the small pool: the engine's work lists cost no malloc.
template <class U>
using PoolVector = std::vector<U, PoolAllocator<U>>;

// Runs the gradient hooks of a tensor (`op`'s output, or a leaf when op is null) on its complete
// gradient g, in registration order; a defined result replaces g for the next hook and the engine.
template <class T>
Tensor<T> run_grad_hooks(const detail::TensorHooks<T>& hooks, Tensor<T> g, const char* op) {
    const auto fns = hooks.grad.snapshot();
    for (std::size_t k = 0; k < fns.size(); ++k) {
        Tensor<T> out;
        {
            detail::HookCallScope scope;
            out = (*fns[k])(g);
        }
        if (!out.defined()) continue;
        if (out.shape() != g.shape()) {
            fail<ShapeError>(
                "register_hook: hook {} of {} on {}{}{} returned a gradient of shape {}, but the gradient it was "
                "given has shape {}",
                k + 1, fns.size(), op ? "the output of '" : "a leaf", op ? op : "", op ? "'" : "",
                shape_str(out.shape()), shape_str(g.shape()));
        }
        g = std::move(out);
    }
    return g;
}

}  // namespace

namespace detail {

/// One backward pass: delivers gradients to tensors and walks the tape once, in reverse.
template <class T>
class Engine {
public:
    Engine(bool retain_graph, bool create_graph) : retain_(retain_graph), create_(create_graph) {}

    /// grad() mode: gradients of these tensors are returned instead of accumulated into leaves.
    void capture(std::span<const Tensor<T>> inputs) {
        captured_.resize(inputs.size());
        for (std::size_t i = 0; i < inputs.size(); ++i) capture_slot_.emplace(TensorAccess::impl(inputs[i]), i);
        capture_inputs_.assign(inputs.begin(), inputs.end());
    }
    Grads<T>& captured() { return captured_; }

    void run(std::span<const Tensor<T>> roots, std::span<const Tensor<T>> seeds) {
        GradModeGuard mode(create_);
        std::uint64_t last = 0;
        for (std::size_t i = 0; i < roots.size(); ++i) {
            if (const auto& node = TensorAccess::impl(roots[i])->grad_fn) last = std::max(last, node->sequence());
        }
        try {
            // Post-accumulate hooks need each hooked leaf's count of incoming edges: only when some exist.
            if (capture_slot_.empty() && post_accumulate_hook_count() > 0) count_leaf_edges(roots);
            if (!capture_slot_.empty()) mark_leads(roots);
            for (std::size_t i = 0; i < roots.size(); ++i) {
                if (!capture_slot_.empty() && !leads_to(roots[i])) continue;
                deliver(roots[i], seeds[i]);
                settle(roots[i]);
            }
            walk(last);
            // A leaf some of whose edges carried no gradient (ops the walk never reached) is final now.
            for (auto& leaf : early_) {
                if (!leaf.done) finalize(leaf);
            }
            if (leaf_hooks_) run_leaf_hooks();
            commit();
        } catch (...) {
            for (auto& node : touched_) node->grad_ = Tensor<T>();  // leave no stale gradient behind
            restore_early();
            throw;
        }
        if (!retain_) {
            for (auto& node : touched_) {
                // A requested non-leaf whose rule did not run keeps what it saved, as PyTorch frees only what ran.
                if (capture_slot_.empty() || leads_.find(node.get())->second.any) node->release();
            }
            touched_.clear();  // nodes nobody else holds die here, so the prune finds them expired
            TapeAccess::prune(Tape::current());
        }
    }

private:
    /// A leaf with post-accumulate hooks: its .grad() is written (out of place) as soon as every
    /// edge into it has been walked, and put back if the pass fails later.
    struct EarlyLeaf {
        Tensor<T> leaf;
        std::size_t remaining = 0;  // edges into the leaf from ops of this graph not walked yet
        Tensor<T> sum;              // the contributions so far
        Tensor<T> before;           // its .grad() before this pass, once written
        bool written = false;
        bool done = false;
    };

    // Only a pass that went through whole changes any .grad(): a failure half way leaves none.
    void commit() {
        GradLocks locks(finished_);
        for (const auto& [t, g] : finished_) check_fits(t, g);
        for (auto& [t, g] : finished_) accumulate_into(TensorAccess::impl(t)->grad, std::move(g));
    }

    void walk(std::uint64_t last) {
        using Entry = TapeAccess::Entry;
        const Tape& tape = Tape::current();
        const auto& entries = TapeAccess::entries(tape);
        // Index of the first entry numbered `seq` or above: the walk's place, found again by sequence.
        auto from = [&entries](std::uint64_t seq) -> std::size_t {
            auto it = std::lower_bound(entries.begin(), entries.end(), seq,
                                       [](const Entry& e, std::uint64_t s) { return e.sequence < s; });
            return static_cast<std::size_t>(it - entries.begin());
        };
        // Rules may change the tape under the walk: a create_graph backward records (push appends,
        // which may reallocate: hence an index, not a pointer), and a rule that runs a backward pass
        // of its own (checkpoint) records and prunes (which erases entries and moves the rest: the
        // walk then seeks its place again, a binary search per prune, none otherwise).
        std::uint64_t prunes = TapeAccess::prunes(tape);
        for (std::size_t i = from(last + 1); i > 0 && pending_ > 0;) {
            --i;
            const std::uint64_t sequence = entries[i].sequence;
            auto base = entries[i].node.lock();
            if (!base || base->is_double() != std::is_same_v<T, double>) continue;
            auto& node = static_cast<Node<T>&>(*base);
            if (!node.grad_.defined()) continue;
            --pending_;
            process(node);
            if (TapeAccess::prunes(tape) != prunes) {
                prunes = TapeAccess::prunes(tape);
                i = from(sequence);  // the entries before it, numbered below this node, come next
            }
        }
        if (pending_ > 0) {
            fail<AutogradError>(
                "backward: {} op(s) in this graph are not on this thread's tape; "
                "a graph must be differentiated on the thread that recorded it",
                pending_);
        }
    }

    void process(Node<T>& node) {
        for (std::size_t i = 0; i < node.inputs_.size(); ++i)
            check_version(node, node.inputs_[i], node.input_versions_[i], "input");
        Tensor<T> output = TensorAccess::wrap<T>(node.output_.lock());
        check_version(node, output, node.output_version_, "output");
        // The output's gradient is complete here: its hooks, then grad()'s capture or retain_grad.
        if (node.hooks_) node.grad_ = run_grad_hooks(*node.hooks_, std::move(node.grad_), node.name());
        if (output.defined()) keep(output, node.grad_);
        // Under grad(), the inputs whose gradients lead to a requested tensor (null: all of them).
        const std::uint8_t* leads = nullptr;
        if (!capture_slot_.empty()) {
            const Leads& mark = leads_.find(&node)->second;
            if (!mark.any) {  // a requested non-leaf that leads to no other: captured, its rule not run
                node.grad_ = Tensor<T>();
                return;
            }
            leads = edge_leads_.data() + mark.offset;
        }
        auto rule = [&] { return node.apply(Backward<T>(node, std::move(output), leads)); };
        Grads<T> grads = is_anomaly_enabled() ? anomaly_backward(node, node.grad_, rule) : rule();
        if (grads.size() != node.inputs_.size()) {
            fail<AutogradError>("backward of '{}' returned {} gradients for {} inputs", node.name(), grads.size(),
                                node.inputs_.size());
        }
        node.grad_ = Tensor<T>();
        for (std::size_t i = 0; i < grads.size(); ++i) {
            const Tensor<T>& input = node.inputs_[i];
            if (!input.requires_grad() || (leads && !leads[i])) continue;
            if (grads[i].defined()) {
                Tensor<T> g = fit_shape(node, i, input, std::move(grads[i]));
                grads[i] = Tensor<T>();  // a rule may return the same tensor twice: let go of every other handle
                deliver(input, std::move(g));
            }
            settle(input);  // the edge is walked, with or without a gradient
        }
    }

    static void check_version(const Node<T>& node, const Tensor<T>& t, std::uint64_t saved, const char* role) {
        if (t.defined() && t.version() != saved) {
            fail<AutogradError>(
                "backward of '{}': its {} (shape {}) was modified in place after being recorded "
                "(version {} now, {} then); its gradient would be wrong",
                node.name(), role, shape_str(t.shape()), t.version(), saved);
        }
    }

    // The engine, not each rule, sums broadcast gradients back to the input's shape.
    static Tensor<T> fit_shape(const Node<T>& node, std::size_t i, const Tensor<T>& input, Tensor<T> g) {
        if (g.shape() == input.shape()) return g;
        if (broadcastable_to(input.shape(), g.shape())) return sum_to(g, input.shape());
        fail<AutogradError>("backward of '{}': gradient for input {} has shape {}, but the input has shape {}",
                            node.name(), i, shape_str(g.shape()), shape_str(input.shape()));
    }

    Tensor<T> add(const Tensor<T>& sum, Tensor<T> g) const {
        if (!sum.defined()) return g;
        if (create_) return accumulate(sum, g);
        xt::xarray<T> out = take_buffer_like("backward", sum.value());
        xt::noalias(out) = sum.value() + g.value();
        return Tensor<T>(std::move(out));
    }

    void deliver(const Tensor<T>& t, Tensor<T> g) {
        auto* impl = TensorAccess::impl(t);
        if (const auto& node = impl->grad_fn) {
            if (node->released()) {
                fail<AutogradError>(
                    "backward: op '{}' was already freed by an earlier backward; pass "
                    "retain_graph=true to the first backward to go through the graph twice",
                    node->name());
            }
            if (!node->grad_.defined()) {
                ++pending_;
                touched_.push_back(node);
            }
            node->grad_ = add(node->grad_, std::move(g));
            return;
        }
        if (!impl->requires_grad) return;
        if (impl->hooks) {
            leaf_hooks_ = true;
            if (EarlyLeaf* leaf = early(impl)) {
                leaf->sum = add(leaf->sum, std::move(g));
                return;
            }
        }
        if (capture_slot_.empty()) {
            finished_.emplace_back(t, std::move(g));
        } else if (auto slot = capture_slot_.find(impl); slot != capture_slot_.end()) {
            captured_[slot->second] = add(captured_[slot->second], std::move(g));
        }
    }

    // An op's output got its complete gradient g: grad() captures it, or retain_grad() keeps it.
    void keep(const Tensor<T>& t, const Tensor<T>& g) {
        auto* impl = TensorAccess::impl(t);
        if (capture_slot_.empty()) {
            if (impl->retains_grad) finished_.emplace_back(t, g);
        } else if (auto slot = capture_slot_.find(impl); slot != capture_slot_.end()) {
            captured_[slot->second] = g;
        }
    }

    // Counts, for each leaf with post-accumulate hooks, the edges into it from the ops reachable
    // from the roots (and the roots that are that leaf): one graph walk, done only when such hooks exist.
    void count_leaf_edges(std::span<const Tensor<T>> roots) {
        std::unordered_set<const Node<T>*, std::hash<const Node<T>*>, std::equal_to<const Node<T>*>,
                           PoolAllocator<const Node<T>*>>
            seen;
        PoolVector<const Node<T>*> stack;
        auto visit = [&](const Tensor<T>& t) {
            auto* impl = TensorAccess::impl(t);
            if (const auto& node = impl->grad_fn) {
                if (seen.insert(node.get()).second) stack.push_back(node.get());
            } else if (impl->hooks && !impl->hooks->post.empty()) {
                auto [slot, fresh] = early_slot_.emplace(impl, early_.size());
                if (fresh) early_.emplace_back().leaf = t;
                ++early_[slot->second].remaining;
            }
        };
        for (const auto& root : roots) visit(root);
        while (!stack.empty()) {
            const Node<T>* node = stack.back();
            stack.pop_back();
            for (const auto& input : node->inputs_) {
                if (input.requires_grad()) visit(input);
            }
        }
    }

    // grad() computes only what reaches the tensors it was asked for, as PyTorch's engine marks its
    // exec_info before running: one post-order walk over the ops reachable from the roots sets,
    // for each, which of its inputs lead to a requested tensor (the tensor itself, or an op that
    // leads to one). The walk then delivers gradients along those edges only, so an op that leads
    // nowhere never gets one (its rule and its output's hooks do not run), and needs() tells each
    // rule which gradients to compute. The ops' sequence numbers order the tape walk as before.
    void mark_leads(std::span<const Tensor<T>> roots) {
        PoolVector<std::pair<const Node<T>*, std::size_t>> stack;  // (op, its next input to visit)
        auto visit = [&](const Tensor<T>& t) {
            const auto& node = TensorAccess::impl(t)->grad_fn;
            if (node && leads_.try_emplace(node.get()).second) stack.emplace_back(node.get(), 0);
        };
        // The stack holds one path from a root, so an op's inputs are marked before it: the roots are
        // walked one at a time (a root may lie below another).
        for (const auto& root : roots) {
            visit(root);
            while (!stack.empty()) {
                const auto [node, next] = stack.back();
                if (next < node->inputs_.size()) {
                    ++stack.back().second;
                    if (node->inputs_[next].requires_grad()) visit(node->inputs_[next]);  // may reallocate stack
                    continue;
                }
                stack.pop_back();
                Leads& mark = leads_.find(node)->second;
                mark.offset = edge_leads_.size();
                // A freed op has no inputs left: it counts as leading, so delivering to it reports the free.
                mark.any = node->released();
                for (const auto& input : node->inputs_) {
                    const bool lead = input.requires_grad() && leads_to(input);
                    edge_leads_.push_back(lead);
                    mark.any = mark.any || lead;
                }
            }
        }
    }

    // Whether a gradient for t reaches a requested tensor (after mark_leads has seen t's op).
    bool leads_to(const Tensor<T>& t) const {
        const auto* impl = TensorAccess::impl(t);
        if (capture_slot_.contains(impl)) return true;
        return impl->grad_fn && leads_.find(impl->grad_fn.get())->second.any;
    }

    EarlyLeaf* early(const TensorImpl<T>* impl) {
        if (early_slot_.empty()) return nullptr;
        auto slot = early_slot_.find(impl);
        return slot == early_slot_.end() ? nullptr : &early_[slot->second];
    }

    // One edge into t was walked; a leaf with post-accumulate hooks whose last edge it was is final.
    void settle(const Tensor<T>& t) {
        auto* impl = TensorAccess::impl(t);
        if (!impl->hooks || impl->grad_fn) return;
        if (EarlyLeaf* leaf = early(impl); leaf && !leaf->done && --leaf->remaining == 0) finalize(*leaf);
    }

    // The leaf's gradient is complete: its gradient hooks, then .grad() written out of place (so
    // restore_early() can put the old handle back), then its post-accumulate hooks.
    void finalize(EarlyLeaf& leaf) {
        leaf.done = true;
        if (!leaf.sum.defined()) return;
        auto* impl = TensorAccess::impl(leaf.leaf);
        const auto hooks = impl->hooks;  // a hook may not drop them, but keep them alive regardless
        Tensor<T> g = run_grad_hooks(*hooks, std::move(leaf.sum), nullptr);
        {
            const std::array<std::pair<Tensor<T>, Tensor<T>>, 1> one{{{leaf.leaf, Tensor<T>()}}};
            GradLocks lock(one);
            check_fits(leaf.leaf, g);
            Tensor<T> fresh;
            if (impl->grad.defined()) {
                fresh = add(impl->grad, std::move(g));
            } else {
                accumulate_into(fresh, std::move(g));
            }
            leaf.before = std::exchange(impl->grad, std::move(fresh));
            leaf.written = true;
        }
        for (const auto& fn : hooks->post.snapshot()) {
            HookCallScope scope;
            (*fn)(leaf.leaf);
        }
    }

    void restore_early() noexcept {
        for (auto& leaf : early_) {
            if (!leaf.written) continue;
            const std::array<std::pair<Tensor<T>, Tensor<T>>, 1> one{{{leaf.leaf, Tensor<T>()}}};
            GradLocks lock(one);
            TensorAccess::impl(leaf.leaf)->grad = std::move(leaf.before);
        }
    }

    // Gradient hooks of leaves without post-accumulate hooks, on each leaf's summed gradient, before
    // anything is accumulated (or returned by grad()), in the order the leaves were reached.
    void run_leaf_hooks() {
        if (!capture_slot_.empty()) {
            for (std::size_t i = 0; i < capture_inputs_.size(); ++i) {
                const auto* impl = TensorAccess::impl(capture_inputs_[i]);
                if (impl->grad_fn || !impl->hooks || !captured_[i].defined()) continue;
                captured_[i] = run_grad_hooks(*impl->hooks, std::move(captured_[i]), nullptr);
            }
            return;
        }
        for (std::size_t i = 0; i < finished_.size(); ++i) {
            auto& [t, g] = finished_[i];
            const auto* impl = TensorAccess::impl(t);
            if (impl->grad_fn || !impl->hooks || !g.defined()) continue;
            for (std::size_t j = i + 1; j < finished_.size(); ++j) {
                auto& [u, h] = finished_[j];
                if (u.same(t) && h.defined()) g = add(g, std::exchange(h, Tensor<T>()));
            }
            g = run_grad_hooks(*impl->hooks, std::move(g), nullptr);
        }
        std::erase_if(finished_, [](const auto& entry) { return !entry.second.defined(); });
    }

    // Leaves keep their own buffer: the first gradient is adopted when this pass holds the only
    // handle to it and copied otherwise (it may alias a seed the user passed, or a gradient
    // still flowing elsewhere); later ones are added in place, as PyTorch accumulates into .grad.
    static void check_fits(const Tensor<T>& t, const Tensor<T>& g) {
        const Tensor<T>& slot = TensorAccess::impl(t)->grad;
        if (slot.defined() && slot.shape() != g.shape()) {
            fail<AutogradError>(
                "backward: a gradient of shape {} cannot be accumulated into the .grad() of shape {} of a tensor "
                "of shape {} (its value or .grad() was replaced by one of another shape; call zero_grad() first)",
                shape_str(g.shape()), shape_str(slot.shape()), shape_str(t.shape()));
        }
    }

    void accumulate_into(Tensor<T>& slot, Tensor<T> g) const {
        if (create_) {
            slot = add(slot, g);
        } else if (!slot.defined()) {
            if (TensorAccess::impl_ptr(g).use_count() == 1) {
                slot = std::move(g);
            } else {
                xt::xarray<T> copy = take_buffer_like("backward", g.value());
                xt::noalias(copy) = g.value();
                slot = Tensor<T>(std::move(copy));
            }
        } else {
            xt::noalias(slot.mutable_value()) += g.value();  // plain += would evaluate into a temporary
        }
    }

    bool retain_;
    bool create_;
    std::size_t pending_ = 0;
    PoolVector<std::shared_ptr<Node<T>>> touched_;          // kept alive until the walk ends
    PoolVector<std::pair<Tensor<T>, Tensor<T>>> finished_;  // (leaf or retains_grad, gradient), in order
    bool leaf_hooks_ = false;                               // some leaf reached has hooks
    using Slot = std::pair<const TensorImpl<T>* const, std::size_t>;
    using SlotMap = std::unordered_map<const TensorImpl<T>*, std::size_t, std::hash<const TensorImpl<T>*>,
                                       std::equal_to<const TensorImpl<T>*>, PoolAllocator<Slot>>;
    PoolVector<EarlyLeaf> early_;  // leaves with post-accumulate hooks (only while such hooks exist)
    SlotMap early_slot_;           // leaf -> its place in early_
    SlotMap capture_slot_;
    struct Leads {
        std::size_t offset = 0;  // of the op's flags in edge_leads_, one per input
        bool any = false;        // some input leads to a requested tensor
    };
    using LeadsEntry = std::pair<const Node<T>* const, Leads>;
    std::unordered_map<const Node<T>*, Leads, std::hash<const Node<T>*>, std::equal_to<const Node<T>*>,
                       PoolAllocator<LeadsEntry>>
        leads_;                            // grad() only: the ops reachable from the roots
    PoolVector<std::uint8_t> edge_leads_;  // grad() only: per op input, whether it leads to a requested tensor
    Grads<T> captured_;
    Grads<T> capture_inputs_;  // grad()'s inputs, in order (their leaf hooks run in this order)
};

}  // namespace detail

namespace {

// A hook runs inside a pass that walks this thread's tape: a pass started from it would change the
// tape under the outer walk, so it is refused.
void refuse_reentry(const char* op) {
    if (detail::hooks_running() > 0) {
        fail<AutogradError>(
            "{}: called from inside a hook while a backward pass runs on this thread; the engine is not "
            "reentrant: do it after the pass",
            op);
    }
}

template <class T>
Grads<T> checked_seeds(const char* op, std::span<const Tensor<T>> roots, std::span<const Tensor<T>> seeds) {
    refuse_reentry(op);
    if (roots.empty()) fail<ValueError>("{}: no outputs given", op);
    if (!seeds.empty() && seeds.size() != roots.size()) {
        fail<ValueError>("{}: {} outputs but {} seed gradients", op, roots.size(), seeds.size());
    }
    Grads<T> out(roots.size());
    for (std::size_t i = 0; i < roots.size(); ++i) {
        const auto& root = roots[i];
        if (!root.defined()) fail<ValueError>("{}: output {} is undefined", op, i);
        if (!root.requires_grad()) {
            fail<AutogradError>(
                "{}: output {} (shape {}) does not require grad: no input of it requires grad, "
                "or it was computed under NoGradGuard",
                op, i, shape_str(root.shape()));
        }
        const Tensor<T> seed = i < seeds.size() ? seeds[i] : Tensor<T>();
        if (seed.defined()) {
            if (seed.shape() != root.shape()) {
                fail<ShapeError>("{}: seed gradient {} has shape {}, but its output has shape {}", op, i,
                                 shape_str(seed.shape()), shape_str(root.shape()));
            }
            out[i] = seed;
        } else if (root.numel() == 1) {
            xt::xarray<T> one = detail::take_buffer<T>(op, root.shape());
            one.fill(T(1));
            out[i] = Tensor<T>(std::move(one));
        } else {
            fail<AutogradError>(
                "{}: output {} has shape {}; only an output with one element is seeded with 1, "
                "pass a seed gradient of that shape",
                op, i, shape_str(root.shape()));
        }
    }
    return out;
}

}  // namespace

namespace detail {

template <class T>
void run_backward(std::span<const Tensor<T>> roots, std::span<const Tensor<T>> seeds, std::optional<bool> retain_graph,
                  bool create_graph) {
    const auto checked = checked_seeds("backward", roots, seeds);
    Engine<T> engine(retain_graph.value_or(create_graph), create_graph);
    engine.run(roots, checked);
}

}  // namespace detail

template <class T>
void backward(const std::vector<Tensor<T>>& roots, const std::vector<Tensor<T>>& seeds,
              std::optional<bool> retain_graph, bool create_graph) {
    detail::run_backward<T>(roots, seeds, retain_graph, create_graph);
}

template <class T>
Grads<T> grad(const std::vector<Tensor<T>>& outputs, const std::vector<Tensor<T>>& inputs,
              const std::vector<Tensor<T>>& grad_outputs, std::optional<bool> retain_graph, bool create_graph,
              bool allow_unused) {
    const auto checked = checked_seeds<T>("grad", outputs, grad_outputs);
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (!inputs[i].defined() || !inputs[i].requires_grad()) {
            fail<AutogradError>("grad: input {} does not require grad, so it has no gradient", i);
        }
    }
    detail::Engine<T> engine(retain_graph.value_or(create_graph), create_graph);
    engine.capture(inputs);
    engine.run(outputs, checked);
    Grads<T> result = std::move(engine.captured());
    // A tensor requested twice is captured in its first slot; every slot gets it, as in PyTorch.
    for (std::size_t i = 1; i < result.size(); ++i) {
        for (std::size_t j = 0; j < i && !result[i].defined(); ++j) {
            if (inputs[j].same(inputs[i])) result[i] = result[j];
        }
    }
    for (std::size_t i = 0; i < result.size(); ++i) {
        if (!result[i].defined() && !allow_unused) {
            fail<AutogradError>("grad: input {} (shape {}) was not used to compute the outputs; pass allow_unused=true",
                                i, shape_str(inputs[i].shape()));
        }
    }
    return result;
}

#define TAPEGRAD_INSTANTIATE(T)                                                                                      \
    template void detail::run_backward(std::span<const Tensor<T>>, std::span<const Tensor<T>>, std::optional<bool>,  \
                                       bool);                                                                        \
    template void backward(const std::vector<Tensor<T>>&, const std::vector<Tensor<T>>&, std::optional<bool>, bool); \
    template Grads<T> grad(const std::vector<Tensor<T>>&, const std::vector<Tensor<T>>&,                             \
                           const std::vector<Tensor<T>>&, std::optional<bool>, bool, bool);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
