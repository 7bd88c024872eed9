/// \file
/// Hooks: HookHandle, what every hook registration returns (Tensor::register_hook,
/// Tensor::register_post_accumulate_grad_hook, nn::Module's forward and backward hooks), and the
/// registration-ordered list the tensors and modules keep their hooks in.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

namespace tapegrad {

template <class T>
class Tensor;

/// Removes one registered hook (PyTorch's torch.utils.hooks.RemovableHandle). Holds only a weak
/// reference to the hooks of the tensor or module it came from, so a handle may outlive them:
/// remove() is then a no-op. Destroying or dropping a handle does NOT remove its hook (as in
/// PyTorch): `x.register_hook(f);` without keeping the handle registers f for good.
class HookHandle {
public:
    /// A handle that removes nothing (remove() is a no-op).
    HookHandle() = default;
    /// Made by the registration functions: `remove(owner, id)` takes hook `id` out of `owner`.
    HookHandle(std::weak_ptr<void> owner, void (*remover)(void* owner, std::uint64_t id), std::uint64_t id) noexcept
        : owner_(std::move(owner)), remove_(remover), id_(id) {}

    /// Unregisters the hook: it does not run in any later backward or forward (a pass already running
    /// keeps the hooks it started with). Idempotent; a no-op once the tensor or module is gone.
    /// Never throws. Removing while another thread runs a pass that may call the hook is a data race.
    void remove() noexcept {
        if (auto owner = owner_.lock(); owner && remove_) remove_(owner.get(), id_);
        owner_.reset();
    }

private:
    std::weak_ptr<void> owner_;
    void (*remove_)(void*, std::uint64_t) = nullptr;
    std::uint64_t id_ = 0;
};

namespace detail {

/// Hooks of one kind, in registration order. A pass runs a snapshot() of them, so a hook may
/// register or remove hooks (itself included) while it runs; the change applies from the next pass.
/// Not synchronised: register and remove hooks while no other thread runs a pass that uses them.
template <class Fn>
class HookList {
public:
    /// Appends a hook and returns the id its handle removes it by.
    std::uint64_t add(Fn fn) {
        items_.emplace_back(next_, std::make_shared<const Fn>(std::move(fn)));
        return next_++;
    }
    /// Removes the hook `id`; false when it was already removed.
    bool remove(std::uint64_t id) {
        auto it = std::find_if(items_.begin(), items_.end(), [id](const auto& item) { return item.first == id; });
        if (it == items_.end()) return false;
        items_.erase(it);
        return true;
    }
    /// True when no hook of this kind is registered.
    bool empty() const noexcept { return items_.empty(); }
    /// How many hooks of this kind are registered.
    std::size_t size() const noexcept { return items_.size(); }
    /// The hooks as they are now, for one pass to run.
    std::vector<std::shared_ptr<const Fn>> snapshot() const {
        std::vector<std::shared_ptr<const Fn>> out;
        out.reserve(items_.size());
        for (const auto& item : items_) out.push_back(item.second);
        return out;
    }

private:
    std::vector<std::pair<std::uint64_t, std::shared_ptr<const Fn>>> items_;
    std::uint64_t next_ = 0;
};

/// How many post-accumulate-grad hooks are registered in the process. A backward counts each
/// leaf's incoming gradients (to run those hooks as soon as the leaf's .grad() is final) only
/// while this is non-zero, so backward passes pay nothing when no such hook exists.
inline std::atomic<std::size_t>& post_accumulate_hook_count() noexcept {
    static std::atomic<std::size_t> count{0};
    return count;
}

/// Set while a hook runs on this thread: the engine is not reentrant (a backward started from a
/// hook would walk this thread's tape under the pass that runs the hook), so run() refuses then.
inline int& hooks_running() noexcept {
    thread_local int depth = 0;
    return depth;
}

/// Marks a hook call for hooks_running(); exception-safe.
class HookCallScope {
public:
    HookCallScope() noexcept { ++hooks_running(); }
    ~HookCallScope() { --hooks_running(); }
    HookCallScope(const HookCallScope&) = delete;
    HookCallScope& operator=(const HookCallScope&) = delete;
};

/// The hooks of one tensor: held by a leaf's shared state, or by the node that produced a non-leaf
/// (so that they run even when the user has let go of the tensor, as PyTorch keeps them on grad_fn).
template <class T>
struct TensorHooks {
    /// Tensor::register_hook's function: the gradient in, a replacement (or an undefined tensor) out.
    using GradHook = std::function<Tensor<T>(const Tensor<T>&)>;
    /// Tensor::register_post_accumulate_grad_hook's function: the leaf, its .grad() final.
    using PostHook = std::function<void(Tensor<T>&)>;

    TensorHooks() = default;
    TensorHooks(const TensorHooks&) = delete;
    TensorHooks& operator=(const TensorHooks&) = delete;
    ~TensorHooks() { post_accumulate_hook_count() -= post.size(); }

    /// Gradient hooks, in registration order.
    HookList<GradHook> grad;
    /// Post-accumulate hooks (leaves only), in registration order.
    HookList<PostHook> post;

    /// HookHandle's remover for a gradient hook.
    static void remove_grad(void* self, std::uint64_t id) { static_cast<TensorHooks*>(self)->grad.remove(id); }
    /// HookHandle's remover for a post-accumulate hook; keeps the process-wide count right.
    static void remove_post(void* self, std::uint64_t id) {
        if (static_cast<TensorHooks*>(self)->post.remove(id)) --post_accumulate_hook_count();
    }
};

}  // namespace detail

}  // namespace tapegrad
