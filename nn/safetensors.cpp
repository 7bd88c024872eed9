#include <tapegrad/nn/safetensors.hpp>

namespace tapegrad::nn {

template <class T>
void save_safetensors(const Module<T>& module, const std::string& path, const data::SafetensorsMetadata& metadata) {
    data::write_safetensors(path, module.state_dict().entries(), metadata);
}

template <class T>
IncompatibleKeys load_safetensors(Module<T>& module, const std::string& path, bool strict) {
    const data::SafetensorsFile file(path);
    StateDict<T> dict;
    for (const auto& entry : file.entries()) dict.insert(entry.name, file.load<T>(entry.name));
    return module.load_state_dict(dict, strict);
}

template void save_safetensors<float>(const Module<float>&, const std::string&, const data::SafetensorsMetadata&);
template void save_safetensors<double>(const Module<double>&, const std::string&, const data::SafetensorsMetadata&);
template IncompatibleKeys load_safetensors<float>(Module<float>&, const std::string&, bool);
template IncompatibleKeys load_safetensors<double>(Module<double>&, const std::string&, bool);

}  // namespace tapegrad::nn
