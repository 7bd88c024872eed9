#include <tapegrad/nn/npz.hpp>

namespace tapegrad::nn {

template <class T>
void save_npz(const Module<T>& module, const std::string& path, bool compressed) {
    data::write_npz(path, module.state_dict().entries(), compressed);
}

template <class T>
IncompatibleKeys load_npz(Module<T>& module, const std::string& path, bool strict) {
    const data::NpzFile file(path);
    StateDict<T> dict;
    for (const auto& entry : file.entries()) dict.insert(entry.key, file.load<T>(entry.key));
    return module.load_state_dict(dict, strict);
}

template void save_npz<float>(const Module<float>&, const std::string&, bool);
template void save_npz<double>(const Module<double>&, const std::string&, bool);
template IncompatibleKeys load_npz<float>(Module<float>&, const std::string&, bool);
template IncompatibleKeys load_npz<double>(Module<double>&, const std::string&, bool);

}  // namespace tapegrad::nn
