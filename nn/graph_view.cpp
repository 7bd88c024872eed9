#include <tapegrad/nn/graph_view.hpp>

namespace tapegrad::nn {

template <class T>
std::string to_dot(const std::vector<Tensor<T>>& outputs, const Module<T>& module, const NamedTensors<T>& names) {
    NamedTensors<T> all = names;  // first: the caller's names win (to_dot keeps a tensor's first name)
    for (auto&& named : module.named_parameters()) all.push_back(std::move(named));
    for (auto&& named : module.named_buffers()) all.push_back(std::move(named));
    return tapegrad::to_dot(outputs, all);
}

template <class T>
std::string to_dot(const Tensor<T>& output, const Module<T>& module, const NamedTensors<T>& names) {
    return nn::to_dot(std::vector<Tensor<T>>{output}, module, names);
}

#define TAPEGRAD_INSTANTIATE(T)                                                                           \
    template std::string to_dot(const std::vector<Tensor<T>>&, const Module<T>&, const NamedTensors<T>&); \
    template std::string to_dot(const Tensor<T>&, const Module<T>&, const NamedTensors<T>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad::nn
