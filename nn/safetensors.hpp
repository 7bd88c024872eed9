/// \file
/// A module's state_dict to and from a safetensors file: weights exchanged with PyTorch by name.
#pragma once

#include <string>

#include <tapegrad/data/safetensors.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

/// Writes module.state_dict() to `path` with data::write_safetensors() (F32 for float, F64 for
/// double; atomic): what `safetensors.torch.load_file` then `model.load_state_dict` read in
/// PyTorch. A tensor held under several keys (a tied weight) is written under each, as PyTorch's
/// state_dict lists it. Throws as write_safetensors().
template <class T>
void save_safetensors(const Module<T>& module, const std::string& path, const data::SafetensorsMetadata& metadata = {});

/// Reads every tensor of the safetensors file `path`, converted to T (data::SafetensorsFile::load:
/// F16, BF16, integers, BOOL...; PyTorch's int64 `num_batches_tracked` included), and loads them
/// with module.load_state_dict(dict, strict), which checks everything before changing anything.
/// Returns the missing and unexpected keys (empty when strict). Every tensor of the file is
/// converted, also those the module has no key for (they are unexpected), so peak memory is the
/// file's tensors converted plus the module. Throws IoError or ValueError as SafetensorsFile and
/// load() do (naming the file and the tensor), ValueError as load_state_dict() does.
template <class T>
IncompatibleKeys load_safetensors(Module<T>& module, const std::string& path, bool strict = true);

}  // namespace tapegrad::nn
