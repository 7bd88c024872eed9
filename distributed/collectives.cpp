#include <tapegrad/distributed/collectives.hpp>

#include <mpi.h>

#include <climits>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "mpi_call.hpp"

namespace tapegrad::distributed {

struct Work::State {
    MPI_Request request = MPI_REQUEST_NULL;
    std::function<void()> finish;  // after the transfer: Mean's division; holds the buffers' tensors
    const char* what = "";
};

Work::Work() = default;
Work::Work(std::unique_ptr<State> state) : state_(std::move(state)) {}
Work::Work(Work&&) noexcept = default;
Work& Work::operator=(Work&& other) noexcept {
    if (this != &other) {
        try {
            wait();
        } catch (const Error& e) {
            std::fprintf(stderr, "tapegrad::distributed: a replaced Work failed: %s\n", e.what());
        }
        state_ = std::move(other.state_);
    }
    return *this;
}
Work::~Work() {
    try {
        wait();
    } catch (const Error& e) {  // a destructor cannot throw; the failure is not lost silently
        std::fprintf(stderr, "tapegrad::distributed: a destroyed Work failed: %s\n", e.what());
    }
}

void Work::wait() {
    if (!state_) return;
    const std::unique_ptr<State> state = std::move(state_);
    detail::mpi_call(MPI_Wait(&state->request, MPI_STATUS_IGNORE), state->what);
    if (state->finish) state->finish();
}

bool Work::is_completed() {
    if (!state_) return true;
    int done = 0;
    detail::mpi_call(MPI_Test(&state_->request, &done, MPI_STATUS_IGNORE), state_->what);
    if (done) wait();  // the request is now null: wait() only runs the finish step
    return done != 0;
}

namespace {

enum class Kind : std::int64_t { all_reduce = 1, broadcast, all_gather, reduce_scatter };

const char* kind_name(Kind kind) {
    switch (kind) {
        case Kind::all_reduce:
            return "all_reduce";
        case Kind::broadcast:
            return "broadcast";
        case Kind::all_gather:
            return "all_gather";
        case Kind::reduce_scatter:
            return "reduce_scatter";
    }
    return "?";
}

const char* op_name(ReduceOp op) {
    switch (op) {
        case ReduceOp::Sum:
            return "sum";
        case ReduceOp::Mean:
            return "mean";
        case ReduceOp::Max:
            return "max";
    }
    return "?";
}

// What every rank must agree on before a collective: which one, the dtype, the op, the root and the
// shape (ndim -1: an undefined tensor). Up to 10 dims are compared one by one, the rest by product.
constexpr int kHeader = 16;
constexpr int kDims = 10;

struct Call {
    Kind kind;
    int dtype_bytes;
    ReduceOp op;
    int root;
};

std::vector<std::int64_t> header(const Call& call, const Shape* shape) {
    std::vector<std::int64_t> h(kHeader, 0);
    h[0] = static_cast<std::int64_t>(call.kind);
    h[1] = call.dtype_bytes;
    h[2] = static_cast<std::int64_t>(call.op);
    h[3] = call.root;
    h[4] = shape ? static_cast<std::int64_t>(shape->size()) : -1;
    if (shape) {
        std::int64_t rest = 1;
        for (std::size_t d = 0; d < shape->size(); ++d) {
            if (d < kDims) {
                h[5 + d] = static_cast<std::int64_t>((*shape)[d]);
            } else {
                rest *= static_cast<std::int64_t>((*shape)[d]);
            }
        }
        h[5 + kDims] = rest;
    }
    return h;
}

std::string describe(const std::int64_t* h, bool with_op, bool with_root) {
    std::string text = h[1] == 4 ? "float32" : h[1] == 8 ? "float64" : "?";
    if (h[4] < 0) {
        text = "an undefined tensor";
    } else {
        std::vector<std::int64_t> dims(h + 5, h + 5 + std::min<std::int64_t>(h[4], kDims));
        text += fmt::format(" [{}{}]", fmt::join(dims, ", "), h[4] > kDims ? ", ..." : "");
    }
    if (with_op) text += fmt::format(", op {}", op_name(static_cast<ReduceOp>(h[2])));
    if (with_root) text += fmt::format(", root {}", h[3]);
    return text;
}

// Exchanges the headers; when any rank's differs, every rank throws the same DistributedError, so a
// mismatch is an error everywhere instead of a hang or a garbled result.
void agree(const Call& call, const Shape* shape) {
    const int n = world_size();
    if (n == 1) return;
    const auto mine = header(call, shape);
    std::vector<std::int64_t> all(std::size_t(kHeader) * std::size_t(n));
    detail::mpi_call(MPI_Allgather(mine.data(), kHeader, MPI_INT64_T, all.data(), kHeader, MPI_INT64_T, MPI_COMM_WORLD),
                     kind_name(call.kind));
    bool same = true;
    for (int r = 1; r < n; ++r) {
        for (int i = 0; i < kHeader; ++i) same = same && all[std::size_t(r * kHeader + i)] == all[std::size_t(i)];
    }
    if (same) return;
    const bool with_op = call.kind == Kind::all_reduce || call.kind == Kind::reduce_scatter;
    const bool with_root = call.kind == Kind::broadcast;
    std::vector<std::string> lines;
    for (int r = 0; r < n; ++r) {
        const std::int64_t* h = &all[std::size_t(r * kHeader)];
        const std::string what = static_cast<Kind>(h[0]) == call.kind
                                     ? describe(h, with_op, with_root)
                                     : fmt::format("called {} instead", kind_name(static_cast<Kind>(h[0])));
        lines.push_back(fmt::format("rank {}: {}", r, what));
    }
    fail<DistributedError>("distributed::{}: the ranks disagree ({}); every rank must pass the same shape, dtype{}",
                           kind_name(call.kind), fmt::join(lines, "; "),
                           with_op     ? " and op"
                           : with_root ? " and root"
                                       : "");
}

template <class T>
MPI_Datatype datatype() {
    return sizeof(T) == 4 ? MPI_FLOAT : MPI_DOUBLE;
}

MPI_Op mpi_op(ReduceOp op) {
    return op == ReduceOp::Max ? MPI_MAX : MPI_SUM;
}

// MPI counts are ints.
int count_of(std::size_t n, const char* what) {
    if (n > static_cast<std::size_t>(INT_MAX))
        fail<ValueError>("distributed::{}: {} elements is more than one MPI message holds ({})", what, n, INT_MAX);
    return static_cast<int>(n);
}

Work started(MPI_Request request, std::function<void()> finish, const char* what) {
    auto state = std::make_unique<Work::State>();
    state->request = request;
    state->finish = std::move(finish);
    state->what = what;
    return Work(std::move(state));
}

template <class T>
void divide_by_world(xt::xarray<T>& v) {
    v /= static_cast<T>(world_size());
}

}  // namespace

template <class T>
Work detail::all_reduce_unchecked_async(Tensor<T>& t, ReduceOp op) {
    auto& v = t.mutable_value();
    const int count = count_of(v.size(), "all_reduce");
    std::function<void()> finish;
    if (op == ReduceOp::Mean) finish = [t]() mutable { divide_by_world(t.mutable_value()); };
    if (world_size() == 1) {
        if (finish) finish();
        return {};
    }
    MPI_Request request;
    detail::mpi_call(MPI_Iallreduce(MPI_IN_PLACE, v.data(), count, datatype<T>(), mpi_op(op), MPI_COMM_WORLD, &request),
                     "distributed::all_reduce");
    return started(request, std::move(finish), "distributed::all_reduce");
}

template <class T>
Work all_reduce_async(Tensor<T>& t, ReduceOp op) {
    const Call call{Kind::all_reduce, sizeof(T), op, 0};
    agree(call, t.defined() ? &t.shape() : nullptr);
    if (!t.defined()) fail<ValueError>("distributed::all_reduce: the tensor is undefined");
    return detail::all_reduce_unchecked_async(t, op);
}

template <class T>
void detail::all_reduce_unchecked(Tensor<T>& t, ReduceOp op) {
    auto& v = t.mutable_value();
    const int count = count_of(v.size(), "all_reduce");
    if (world_size() > 1) {
        detail::mpi_call(MPI_Allreduce(MPI_IN_PLACE, v.data(), count, datatype<T>(), mpi_op(op), MPI_COMM_WORLD),
                         "distributed::all_reduce");
    }
    if (op == ReduceOp::Mean) divide_by_world(v);
}

// Blocking: MPI_Allreduce itself rather than the non-blocking one and a wait, for Open MPI's
// blocking algorithms (coll/tuned) are the faster ones (DataParallel's finish()).
template <class T>
void all_reduce(Tensor<T>& t, ReduceOp op) {
    const Call call{Kind::all_reduce, sizeof(T), op, 0};
    agree(call, t.defined() ? &t.shape() : nullptr);
    if (!t.defined()) fail<ValueError>("distributed::all_reduce: the tensor is undefined");
    detail::all_reduce_unchecked(t, op);
}

template <class T>
Work broadcast_async(Tensor<T>& t, int root) {
    const Call call{Kind::broadcast, sizeof(T), ReduceOp::Sum, root};
    agree(call, t.defined() ? &t.shape() : nullptr);
    if (!t.defined()) fail<ValueError>("distributed::broadcast: the tensor is undefined");
    if (root < 0 || root >= world_size())
        fail<ValueError>("distributed::broadcast: root {} is not a rank of this world of {}", root, world_size());
    auto& v = t.mutable_value();
    const int count = count_of(v.size(), "broadcast");
    if (world_size() == 1) return {};
    MPI_Request request;
    detail::mpi_call(MPI_Ibcast(v.data(), count, datatype<T>(), root, MPI_COMM_WORLD, &request),
                     "distributed::broadcast");
    return started(
        request, [t] {}, "distributed::broadcast");
}

template <class T>
void broadcast(Tensor<T>& t, int root) {
    broadcast_async(t, root).wait();
}

template <class T>
Work all_gather_async(const Tensor<T>& t, Tensor<T>& result) {
    const Call call{Kind::all_gather, sizeof(T), ReduceOp::Sum, 0};
    agree(call, t.defined() ? &t.shape() : nullptr);
    if (!t.defined()) fail<ValueError>("distributed::all_gather: the tensor is undefined");
    const auto n = static_cast<std::size_t>(world_size());
    Shape shape = {n};
    shape.insert(shape.end(), t.shape().begin(), t.shape().end());
    result = Tensor<T>(xt::xarray<T>::from_shape(shape));
    const int count = count_of(t.numel(), "all_gather");
    if (n == 1) {
        std::copy(t.value().begin(), t.value().end(), result.mutable_value().begin());
        return {};
    }
    MPI_Request request;
    detail::mpi_call(MPI_Iallgather(t.value().data(), count, datatype<T>(), result.mutable_value().data(), count,
                                    datatype<T>(), MPI_COMM_WORLD, &request),
                     "distributed::all_gather");
    return started(
        request, [t, result] {}, "distributed::all_gather");
}

template <class T>
Tensor<T> all_gather(const Tensor<T>& t) {
    Tensor<T> result;
    all_gather_async(t, result).wait();
    return result;
}

template <class T>
Work reduce_scatter_async(const Tensor<T>& t, Tensor<T>& result, ReduceOp op) {
    const Call call{Kind::reduce_scatter, sizeof(T), op, 0};
    agree(call, t.defined() ? &t.shape() : nullptr);
    if (!t.defined()) fail<ValueError>("distributed::reduce_scatter: the tensor is undefined");
    const auto n = static_cast<std::size_t>(world_size());
    if (t.ndim() == 0 || t.shape()[0] % n != 0) {
        fail<ShapeError>("distributed::reduce_scatter: the first dim of {} must be a multiple of the world size {}",
                         shape_str(t.shape()), n);
    }
    Shape shape = t.shape();
    shape[0] /= n;
    result = Tensor<T>(xt::xarray<T>::from_shape(shape));
    const int count = count_of(result.numel(), "reduce_scatter");
    std::function<void()> finish;
    if (op == ReduceOp::Mean) finish = [result]() mutable { divide_by_world(result.mutable_value()); };
    if (n == 1) {
        std::copy(t.value().begin(), t.value().end(), result.mutable_value().begin());
        if (finish) finish();
        return {};
    }
    MPI_Request request;
    detail::mpi_call(MPI_Ireduce_scatter_block(t.value().data(), result.mutable_value().data(), count, datatype<T>(),
                                               mpi_op(op), MPI_COMM_WORLD, &request),
                     "distributed::reduce_scatter");
    auto keep = [t, result, finish] {
        if (finish) finish();
    };
    return started(request, keep, "distributed::reduce_scatter");
}

template <class T>
Tensor<T> reduce_scatter(const Tensor<T>& t, ReduceOp op) {
    Tensor<T> result;
    reduce_scatter_async(t, result, op).wait();
    return result;
}

#define TAPEGRAD_COLLECTIVES(T)                                                \
    template void all_reduce<T>(Tensor<T>&, ReduceOp);                         \
    template Work all_reduce_async<T>(Tensor<T>&, ReduceOp);                   \
    template Work detail::all_reduce_unchecked_async<T>(Tensor<T>&, ReduceOp); \
    template void detail::all_reduce_unchecked<T>(Tensor<T>&, ReduceOp);       \
    template void broadcast<T>(Tensor<T>&, int);                               \
    template Work broadcast_async<T>(Tensor<T>&, int);                         \
    template Tensor<T> all_gather<T>(const Tensor<T>&);                        \
    template Work all_gather_async<T>(const Tensor<T>&, Tensor<T>&);           \
    template Tensor<T> reduce_scatter<T>(const Tensor<T>&, ReduceOp);          \
    template Work reduce_scatter_async<T>(const Tensor<T>&, Tensor<T>&, ReduceOp);
TAPEGRAD_COLLECTIVES(float)
TAPEGRAD_COLLECTIVES(double)
#undef TAPEGRAD_COLLECTIVES

}  // namespace tapegrad::distributed
