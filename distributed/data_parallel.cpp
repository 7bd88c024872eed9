#include <tapegrad/distributed/data_parallel.hpp>

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <tapegrad/autograd/grad_mode.hpp>
#include <tapegrad/autograd/graph_view.hpp>
#include <tapegrad/autograd/shape.hpp>

#include "mpi_call.hpp"

namespace tapegrad::distributed {

namespace {

using Clock = std::chrono::steady_clock;

// Every rank's text, in rank order (the model descriptions compared at construction).
std::vector<std::string> all_gather_text(const std::string& mine) {
    const int n = world_size();
    int length = static_cast<int>(mine.size());
    std::vector<int> lengths(static_cast<std::size_t>(n));
    detail::mpi_call(MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, MPI_COMM_WORLD), "DataParallel");
    std::vector<int> offsets(std::size_t(n), 0);
    for (int r = 1; r < n; ++r) offsets[std::size_t(r)] = offsets[std::size_t(r - 1)] + lengths[std::size_t(r - 1)];
    std::string all(std::size_t(offsets.back() + lengths.back()), '\0');
    detail::mpi_call(MPI_Allgatherv(mine.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR,
                                    MPI_COMM_WORLD),
                     "DataParallel");
    std::vector<std::string> out;
    for (int r = 0; r < n; ++r)
        out.push_back(all.substr(std::size_t(offsets[std::size_t(r)]), std::size_t(lengths[std::size_t(r)])));
    return out;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        const std::size_t end = text.find('\n', start);
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

}  // namespace

template <class T>
struct DataParallel<T>::State {
    struct Bucket {
        std::vector<std::size_t> members;  // indices into params, in the bucket's order
        std::vector<std::size_t> offsets;  // each member's first element in flat
        Tensor<T> flat;                    // the members' gradients, end to end
        std::size_t pending = 0;           // members whose gradient is not final yet
        Work work;
    };
    std::vector<Tensor<T>> params;  // those that require grad, in named_parameters() order
    std::vector<std::string> names;
    std::vector<Bucket> buckets;
    std::vector<std::size_t> bucket_of;
    std::vector<bool> ready;
    std::size_t next_launch = 0;
    bool find_unused = false;
    Tensor<T> used;  // find_unused: 1 for each parameter this forward reached, then summed over the ranks
    bool sync = true;
    bool expecting = false;  // a synchronised forward ran and its backward has not reduced yet
    std::vector<HookHandle> handles;
    Clock::time_point first_launch;
    Timing timing;

    void reset() {
        std::fill(ready.begin(), ready.end(), false);
        for (auto& b : buckets) b.pending = b.members.size();
        next_launch = 0;
        expecting = false;
    }

    // Parameter i's .grad() is final for this backward: into its bucket; start every bucket that is
    // complete, in bucket order; after the last one, wait for all and write the means back.
    void on_ready(std::size_t i, Tensor<T>& leaf) {
        if (!sync) return;
        if (ready[i]) {
            fail<AutogradError>(
                "DataParallel: '{}' received a second gradient before the ranks averaged the first (several "
                "backward passes over one forward are not supported)",
                names[i]);
        }
        ready[i] = true;
        Bucket& bucket = buckets[bucket_of[i]];
        const auto& g = leaf.grad().value();
        const std::size_t at =
            std::size_t(std::find(bucket.members.begin(), bucket.members.end(), i) - bucket.members.begin());
        std::copy(g.begin(), g.end(), bucket.flat.mutable_value().data() + bucket.offsets[at]);
        --bucket.pending;
        // Open MPI advances a non-blocking collective only inside MPI calls (no progress thread by
        // default): testing the buckets in flight at every hook keeps them moving during backward.
        for (std::size_t k = 0; k < next_launch; ++k) buckets[k].work.is_completed();
        const std::size_t last = buckets.size() - 1;
        while (next_launch < last && buckets[next_launch].pending == 0) {
            if (next_launch == 0) first_launch = Clock::now();
            Bucket& b = buckets[next_launch++];
            b.work = detail::all_reduce_unchecked_async(b.flat, ReduceOp::Sum);
        }
        if (next_launch == last && buckets[last].pending == 0) finish();
    }

    // Every gradient is final: nothing is left to overlap, so the last bucket takes the blocking
    // collective, whose algorithms (Open MPI's coll/tuned) beat the non-blocking ones (libnbc) at
    // these sizes: 0.17 against 0.23 ms for 0.8 MB on 2 ranks here. MPI allows blocking and
    // non-blocking collectives in one order on every rank, and the blocking call also progresses
    // the buckets still in flight. The sums become means as they are copied back (one pass less).
    void finish() {
        const auto start = Clock::now();
        if (buckets.size() == 1) first_launch = start;  // no bucket went before it
        detail::all_reduce_unchecked(buckets.back().flat, ReduceOp::Sum);
        for (auto& b : buckets) b.work.wait();
        const auto end = Clock::now();
        timing.exposed_seconds = std::chrono::duration<double>(end - start).count();
        timing.span_seconds = std::chrono::duration<double>(end - first_launch).count();
        if (find_unused) all_reduce(used, ReduceOp::Sum);  // which parameters some rank used
        const T ranks = static_cast<T>(world_size());
        for (auto& b : buckets) {
            const T* flat = b.flat.value().data();
            for (std::size_t k = 0; k < b.members.size(); ++k) {
                const std::size_t i = b.members[k];
                if (find_unused && used.value()(i) == 0) continue;  // used nowhere: .grad() as it was
                Tensor<T>& grad = params[i].mutable_grad();
                if (!grad.defined()) grad = Tensor<T>(xt::xarray<T>::from_shape(params[i].shape()));
                auto& v = grad.mutable_value();
                std::transform(flat + b.offsets[k], flat + b.offsets[k] + v.size(), v.data(),
                               [ranks](T sum) { return sum / ranks; });
            }
        }
        reset();
    }

    // find_unused: the parameters the output's graph does not reach are done, with zeros in their
    // bucket (the buckets they complete start with the next hook, in bucket order).
    void mark_unused(const Tensor<T>& output) {
        std::vector<const void*> reached;
        for (const auto& leaf : graph_leaves(std::vector<Tensor<T>>{output})) reached.push_back(leaf.id());
        std::sort(reached.begin(), reached.end());
        auto& flags = used.mutable_value();
        std::size_t count = 0;
        for (std::size_t i = 0; i < params.size(); ++i) {
            const bool reaches = std::binary_search(reached.begin(), reached.end(), params[i].id());
            flags(i) = reaches ? 1 : 0;
            count += reaches;
            if (reaches) continue;
            ready[i] = true;
            Bucket& bucket = buckets[bucket_of[i]];
            const std::size_t at =
                std::size_t(std::find(bucket.members.begin(), bucket.members.end(), i) - bucket.members.begin());
            std::fill_n(bucket.flat.mutable_value().data() + bucket.offsets[at], params[i].numel(), T(0));
            --bucket.pending;
        }
        if (count == 0) {
            reset();
            fail<AutogradError>(
                "DataParallel: the output reaches none of the {} parameters, so no backward hook would start the "
                "averaging the other ranks wait for; compute the output from the model's parameters",
                params.size());
        }
    }
};

template <class T>
DataParallel<T>::DataParallel(std::shared_ptr<nn::Module<T>> module, DataParallelOptions options)
    : module_(std::move(module)), state_(std::make_shared<State>()) {
    if (!module_) fail<ValueError>("DataParallel: the module is null");
    if (!(options.bucket_cap_mb > 0))
        fail<ValueError>("DataParallel: bucket_cap_mb is {}; it must be positive", options.bucket_cap_mb);
    broadcast_buffers_ = options.broadcast_buffers;
    state_->find_unused = options.find_unused_parameters;
    this->register_module("module", module_);

    // The same parameters and buffers everywhere, or an error on every rank naming the first difference.
    std::string mine;
    for (const auto& [name, p] : module_->named_parameters())
        mine += fmt::format("parameter {} {}{}\n", name, shape_str(p.shape()), p.requires_grad() ? "" : " (frozen)");
    for (const auto& [name, b] : module_->named_buffers())
        mine += fmt::format("buffer {} {}\n", name, shape_str(b.shape()));
    const auto all = all_gather_text(mine);
    for (std::size_t r = 1; r < all.size(); ++r) {
        if (all[r] == all[0]) continue;
        const auto first = lines_of(all[0]);
        const auto other = lines_of(all[r]);
        std::size_t k = 0;
        while (k < first.size() && k < other.size() && first[k] == other[k]) ++k;
        fail<DistributedError>("DataParallel: rank {}'s model differs from rank 0's: rank 0 has {}, rank {} has {}", r,
                               k < first.size() ? first[k] : "nothing more", r,
                               k < other.size() ? other[k] : "nothing more");
    }

    // Everyone starts from rank 0's values.
    {
        NoGradGuard no_grad;
        for (auto& [name, p] : module_->named_parameters()) broadcast(p, 0);
        for (auto& [name, b] : module_->named_buffers()) broadcast(b, 0);
    }

    // Buckets, last parameters first (their gradients are final first in backward).
    State& s = *state_;
    for (const auto& [name, p] : module_->named_parameters()) {
        if (!p.requires_grad()) continue;
        s.params.push_back(p);
        s.names.push_back("module." + name);
    }
    const double cap = options.bucket_cap_mb * 1024 * 1024;
    s.bucket_of.assign(s.params.size(), 0);
    s.used = Tensor<T>(xt::xarray<T>::from_shape({s.params.size()}));
    s.ready.assign(s.params.size(), false);
    std::size_t filled = 0;
    for (std::size_t j = s.params.size(); j-- > 0;) {
        const std::size_t bytes = s.params[j].numel() * sizeof(T);
        if (s.buckets.empty() || (filled > 0 && double(filled + bytes) > cap)) {
            s.buckets.emplace_back();
            filled = 0;
        }
        auto& b = s.buckets.back();
        b.offsets.push_back(filled / sizeof(T));
        b.members.push_back(j);
        s.bucket_of[j] = s.buckets.size() - 1;
        filled += bytes;
    }
    for (auto& b : s.buckets) {
        const std::size_t n = b.offsets.back() + s.params[b.members.back()].numel();
        b.flat = Tensor<T>(xt::xarray<T>::from_shape({n}));
    }
    s.reset();

    // The hooks hold the state weakly: the parameters (which keep their hooks) must not keep it alive.
    const std::weak_ptr<State> weak = state_;
    for (std::size_t i = 0; i < s.params.size(); ++i) {
        s.handles.push_back(s.params[i].register_post_accumulate_grad_hook([weak, i](Tensor<T>& leaf) {
            if (const auto state = weak.lock()) state->on_ready(i, leaf);
        }));
    }
}

template <class T>
DataParallel<T>::~DataParallel() {
    for (auto& handle : state_->handles) handle.remove();
}

template <class T>
Tensor<T> DataParallel<T>::forward(const Tensor<T>& x) {
    State& s = *state_;
    if (s.expecting) {
        std::vector<std::string> missing;
        for (std::size_t i = 0; i < s.params.size(); ++i) {
            if (!s.ready[i]) missing.push_back(s.names[i]);
        }
        s.reset();
        fail<AutogradError>(
            "DataParallel: the previous forward's backward did not average the gradients: no gradient reached {} "
            "(every parameter that requires grad must receive one in each synchronised backward, and backward must "
            "follow each forward run with grad mode on outside no_sync())",
            fmt::join(missing, ", "));
    }
    if (broadcast_buffers_) {
        NoGradGuard no_grad;
        for (auto& [name, b] : module_->named_buffers()) broadcast(b, 0);
    }
    s.expecting = s.sync && is_grad_enabled() && !s.params.empty();
    Tensor<T> out = (*module_)(x);
    if (s.expecting && s.find_unused) s.mark_unused(out);
    return out;
}

template <class T>
DataParallel<T>::NoSync::NoSync(DataParallel& owner) : owner_(owner) {
    owner_.state_->sync = false;
}

template <class T>
DataParallel<T>::NoSync::~NoSync() {
    owner_.state_->sync = true;
}

template <class T>
std::vector<std::size_t> DataParallel<T>::bucket_bytes() const {
    std::vector<std::size_t> out;
    for (const auto& b : state_->buckets) out.push_back(b.flat.numel() * sizeof(T));
    return out;
}

template <class T>
typename DataParallel<T>::Timing DataParallel<T>::last_timing() const {
    return state_->timing;
}

template class DataParallel<float>;
template class DataParallel<double>;

}  // namespace tapegrad::distributed
