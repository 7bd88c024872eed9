#include <tapegrad/autograd/forward_ad.hpp>

#include <algorithm>
#include <memory>
#include <vector>

#include <tapegrad/autograd/broadcast.hpp>
#include <tapegrad/autograd/engine.hpp>
#include <tapegrad/autograd/grad_mode.hpp>
#include <tapegrad/autograd/shape.hpp>

namespace tapegrad::detail {

namespace {

thread_local std::uint64_t open_level = 0;  // the level open on this thread; 0: none
thread_local std::uint64_t last_level = 0;  // levels are numbered 1, 2, ... and never reused

// Every tensor given a tangent at the open level, so closing it can drop them.
template <class T>
std::vector<std::weak_ptr<TensorImpl<T>>>& dual_tensors() {
    thread_local std::vector<std::weak_ptr<TensorImpl<T>>> tensors;
    return tensors;
}

// While a tangent rule runs the level looks closed: its ops compute values, not tangents of their own.
class SuspendLevel {
public:
    SuspendLevel() : level_(open_level) { open_level = 0; }
    ~SuspendLevel() { open_level = level_; }
    SuspendLevel(const SuspendLevel&) = delete;
    SuspendLevel& operator=(const SuspendLevel&) = delete;

private:
    std::uint64_t level_;
};

template <class T>
const Tensor<T>* tangent_at(const TensorImpl<T>& impl, std::uint64_t level) noexcept {
    for (const auto& slot : impl.tangents)
        if (slot.level == level) return &slot.tangent;
    return nullptr;
}

template <class T>
const Tensor<T>* tangent_at(const Tensor<T>& t, std::uint64_t level) noexcept {
    const auto* impl = TensorAccess::impl(t);
    return impl && level != 0 ? tangent_at(*impl, level) : nullptr;
}

template <class T>
void set_tangent(Tensor<T>& t, Tensor<T> tangent, std::uint64_t level) {
    TensorAccess::impl(t)->tangents.push_back({level, std::move(tangent)});
    auto& tensors = dual_tensors<T>();
    // A long level (a jacfwd loop) would keep a handle per op ever run: forget the dead ones now and then.
    thread_local std::size_t prune_at = 1024;
    if (tensors.size() >= prune_at) {
        std::erase_if(tensors, [](const auto& weak) { return weak.expired(); });
        prune_at = std::max<std::size_t>(1024, 2 * tensors.size());
    }
    tensors.push_back(TensorAccess::impl_ptr(t));
}

template <class T>
void drop_tangents(std::uint64_t level) noexcept {
    for (const auto& weak : dual_tensors<T>()) {
        if (auto impl = weak.lock()) std::erase_if(impl->tangents, [level](const auto& s) { return s.level == level; });
    }
    dual_tensors<T>().clear();
}

// The identity op of make_dual and unpack_dual: a new tensor with a copy of t's value, through which
// gradients flow back to t.
template <class T>
Tensor<T> identity_copy(const char* name, const Tensor<T>& t) {
    SuspendLevel suspended;
    return record<T>(name, {t}, xt::xarray<T>(t.value()),
                     [](const Backward<T>& ctx) -> Grads<T> { return {ctx.grad()}; });
}

}  // namespace

/// Runs a backward rule with a seed of forward mode's own (a friend of Node).
struct DualAccess {
    template <class T>
    static Grads<T> run(const char* name, const Grads<T>& inputs, const Tensor<T>& output, RuleRef<T> rule,
                        const Tensor<T>& seed) {
        // A node only to hold what Backward reads; it is never put on the tape.
        struct Holder final : Node<T> {
            using Node<T>::Node;
            Grads<T> apply(const Backward<T>&) const override { return {}; }
            void drop_rule() noexcept override {}
        };
        Holder node(name, inputs);
        static_cast<Node<T>&>(node).grad_ = seed;
        return rule.call(rule.rule, Backward<T>(node, output));
    }
};

namespace {

// The generic tangent rule: J^T u is linear in the seed u, so J v = d/du (J^T u . v), one run of the
// backward rule with a seed that requires grad and one reverse pass back to the seed. The derivative
// is the same at every u: the seed is ones, not zeros, so that a rule written with log |g| or masks
// of g's sign (logcumsumexp's) is differentiated where it is smooth. The rule
// sees copies of the inputs cut from their history (so the reverse pass stays inside this op) and
// marked as requiring grad where they have a tangent (so the rule computes J_i^T u for them).
template <class T>
Tensor<T> generic_tangent(const char* name, const Grads<T>& inputs, const Grads<T>& tangents, const Tensor<T>& out,
                          RuleRef<T> rule) {
    ++generic_tangent_uses();
    GradModeGuard recording(true);
    Grads<T> cut(inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const bool wanted = tangents[i].defined();
        cut[i] = wanted == inputs[i].requires_grad() && inputs[i].is_leaf()
                     ? inputs[i]
                     : Tensor<T>(xt::xarray<T>(inputs[i].value()), wanted);
    }
    Tensor<T> seed(xt::xarray<T>(xt::ones<T>(out.shape())), true);
    Grads<T> grads = DualAccess::run<T>(name, cut, out, rule, seed);
    if (grads.size() != inputs.size()) {
        fail<AutogradError>("forward mode: backward of '{}' returned {} gradients for {} inputs", name, grads.size(),
                            inputs.size());
    }
    std::vector<Tensor<T>> roots, directions;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (!tangents[i].defined() || !grads[i].defined() || !grads[i].requires_grad()) continue;
        Tensor<T> g = std::move(grads[i]);
        // A rule may leave a broadcast input's gradient in the output's shape: the engine's sum.
        if (g.shape() != inputs[i].shape()) g = sum_to(g, inputs[i].shape());
        roots.push_back(std::move(g));
        directions.push_back(tangents[i]);
    }
    if (roots.empty()) return {};
    // retain_graph: a rule may use tensors it captured, whose own graphs must survive this pass.
    return tapegrad::grad<T>(roots, {seed}, directions, /*retain_graph=*/true, /*create_graph=*/false,
                             /*allow_unused=*/true)[0];
}

}  // namespace

bool dual_level_open() noexcept {
    return open_level != 0;
}

template <class T>
bool has_open_tangent(const TensorImpl<T>& impl) noexcept {
    return open_level != 0 && tangent_at(impl, open_level) != nullptr;
}

template <class T>
Tensor<T> open_tangent(const Tensor<T>& t) {
    const auto* tangent = tangent_at(t, open_level);
    return tangent ? *tangent : Tensor<T>();
}

template <class T>
void set_open_tangent(Tensor<T>& t, Tensor<T> tangent) {
    if (open_level != 0 && tangent.defined()) set_tangent(t, std::move(tangent), open_level);
}

std::uint64_t& generic_tangent_uses() noexcept {
    thread_local std::uint64_t count = 0;
    return count;
}

std::uint64_t& transforms_on_duals() noexcept {
    thread_local std::uint64_t count = 0;
    return count;
}

template <class T>
void propagate_tangent(const char* name, const Grads<T>& inputs, Tensor<T>& out, RuleRef<T> rule,
                       const TangentRef<T>* jvp) {
    const std::uint64_t level = open_level;
    Grads<T> tangents(inputs.size());
    bool any = false;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (!inputs[i].defined()) fail<ValueError>("{}: an input tensor is undefined", name);
        if (const auto* t = tangent_at(inputs[i], level)) {
            tangents[i] = *t;
            any = true;
        }
    }
    if (!any) return;
    Tensor<T> tangent;
    {
        SuspendLevel suspended;
        tangent = jvp ? jvp->call(jvp->rule, Forward<T>(inputs, tangents, out))
                      : generic_tangent<T>(name, inputs, tangents, out, rule);
        if (!tangent.defined()) return;  // a zero tangent: none is stored
        if (tangent.shape() != out.shape()) {
            if (!broadcastable_to(tangent.shape(), out.shape())) {
                fail<AutogradError>(
                    "forward mode: the tangent rule of '{}' returned shape {} for an output of shape {}", name,
                    shape_str(tangent.shape()), shape_str(out.shape()));
            }
            tangent = broadcast_to(tangent, out.shape());
        }
    }
    set_tangent(out, std::move(tangent), level);
}

#define TAPEGRAD_INSTANTIATE(T)                                    \
    template bool has_open_tangent(const TensorImpl<T>&) noexcept; \
    template Tensor<T> open_tangent(const Tensor<T>&);             \
    template void set_open_tangent(Tensor<T>&, Tensor<T>);         \
    template void propagate_tangent(const char*, const Grads<T>&, Tensor<T>&, RuleRef<T>, const TangentRef<T>*);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad::detail

namespace tapegrad::fwad {

DualLevel::DualLevel() {
    if (detail::open_level != 0) {
        fail<AutogradError>(
            "DualLevel: level {} is already open on this thread; nested forward-mode levels are not supported "
            "(as in PyTorch): close it first",
            detail::open_level);
    }
    level_ = ++detail::last_level;
    detail::open_level = level_;
}

DualLevel::~DualLevel() {
    detail::drop_tangents<float>(level_);
    detail::drop_tangents<double>(level_);
    detail::open_level = 0;
}

std::uint64_t current_level() noexcept {
    return detail::open_level;
}

template <class T>
Tensor<T> make_dual(const Tensor<T>& primal, const Tensor<T>& tangent) {
    const std::uint64_t level = detail::open_level;
    if (level == 0) {
        fail<ValueError>(
            "make_dual: no dual level is open; open one with fwad::DualLevel (PyTorch's fwAD.dual_level())");
    }
    if (!primal.defined()) fail<ValueError>("make_dual: the primal is undefined");
    if (!tangent.defined()) fail<ValueError>("make_dual: the tangent is undefined");
    if (primal.shape() != tangent.shape()) {
        fail<ShapeError>("make_dual: the tangent has shape {} but the primal has shape {}; they must be equal",
                         shape_str(tangent.shape()), shape_str(primal.shape()));
    }
    if (detail::tangent_at(primal, level)) {
        fail<ValueError>(
            "make_dual: the primal (shape {}) already has a tangent at this level; use unpack_dual(t).primal",
            shape_str(primal.shape()));
    }
    if (detail::tangent_at(tangent, level)) {
        fail<ValueError>("make_dual: the tangent (shape {}) has a tangent of its own at this level",
                         shape_str(tangent.shape()));
    }
    Tensor<T> dual = detail::identity_copy("make_dual", primal);
    detail::set_tangent(dual, tangent, level);
    return dual;
}

template <class T>
UnpackedDual<T> unpack_dual(const Tensor<T>& t) {
    if (!t.defined()) fail<ValueError>("unpack_dual: the tensor is undefined");
    const auto* tangent = detail::tangent_at(t, detail::open_level);
    if (!tangent) return {t, Tensor<T>()};
    Tensor<T> kept = *tangent;  // the copy below must not be taken for this tensor's
    return {detail::identity_copy("unpack_dual", t), std::move(kept)};
}

#define TAPEGRAD_INSTANTIATE(T)                                       \
    template Tensor<T> make_dual(const Tensor<T>&, const Tensor<T>&); \
    template UnpackedDual<T> unpack_dual(const Tensor<T>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad::fwad
