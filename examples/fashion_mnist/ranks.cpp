#include "ranks.hpp"

#include <algorithm>
#include <utility>

#ifdef FASHION_DISTRIBUTED
#include <tapegrad/distributed/distributed.hpp>
#endif

namespace fashion {

namespace tg = tapegrad;

#ifdef FASHION_DISTRIBUTED
namespace dist = tapegrad::distributed;

Ranks::Ranks(bool distributed) : distributed_(distributed) {
    if (!distributed_) return;
    dist::init();
    rank_ = dist::rank();
    size_ = dist::world_size();
}

void Ranks::sum(std::vector<double>& values) const {
    if (!distributed_) return;
    xt::xarray<double> summed = xt::zeros<double>({values.size()});
    std::copy(values.begin(), values.end(), summed.begin());
    tg::Tensor<double> t(std::move(summed));
    dist::all_reduce(t);
    std::copy(t.value().begin(), t.value().end(), values.begin());
}

int Ranks::max(int value) const {
    if (!distributed_) return value;
    tg::Tensor<double> t({static_cast<double>(value)});
    dist::all_reduce(t, dist::ReduceOp::Max);
    return static_cast<int>(t.value()(0));
}

void Ranks::barrier() const {
    if (distributed_) dist::barrier();
}

std::shared_ptr<tg::nn::Module<float>> Ranks::wrap(std::shared_ptr<tg::nn::Module<float>> model) const {
    if (!distributed_) return model;
    return std::make_shared<dist::DataParallel<float>>(std::move(model));
}

void Ranks::share_buffers(tg::nn::Module<float>& model) const {
    if (!distributed_) return;
    for (auto buffer : model.buffers()) dist::broadcast(buffer, 0);
}

void Ranks::fail(const std::string& message) const {
    if (distributed_) dist::abort(message, 1);
}

#else  // a build without tapegrad::distributed: one process only

Ranks::Ranks(bool distributed) : distributed_(false) {
    if (distributed)
        tg::fail<tg::ValueError>(
            "--distributed: this build has no tapegrad::distributed (CMake found no MPI; install libopenmpi-dev "
            "and openmpi-bin, or run scripts/install_deps.sh, then build again)");
}

void Ranks::sum(std::vector<double>&) const {}
int Ranks::max(int value) const {
    return value;
}
void Ranks::barrier() const {}
std::shared_ptr<tg::nn::Module<float>> Ranks::wrap(std::shared_ptr<tg::nn::Module<float>> model) const {
    return model;
}
void Ranks::share_buffers(tg::nn::Module<float>&) const {}
void Ranks::fail(const std::string&) const {}

#endif

}  // namespace fashion
