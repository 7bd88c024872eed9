#include <tapegrad/nn/checkpoint.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <set>

#include <tapegrad/data/npy.hpp>
#include <tapegrad/nn/checkpoint_file.hpp>
#include <tapegrad/nn/checkpoint_folder.hpp>
#include <tapegrad/nn/checkpoint_manifest.hpp>

namespace tapegrad::nn {
namespace {

namespace fs = std::filesystem;
using detail::Manifest;
using detail::ManifestEntry;

/// What a save or load covers besides the model; null members are left out.
template <class Optimizer, class Schedule>
struct Parts {
    Optimizer* optimizer = nullptr;
    Schedule* schedule = nullptr;
    const CheckpointExtras* extras = nullptr;
};

/// Names become file names and manifest tokens: no path separators, spaces or empty names.
template <class E = IoError>
void check_name(const std::string& dir, const char* kind, const std::string& name) {
    const bool ok = !name.empty() && name != "." && name != ".." && name.find_first_of("/ \t\n\r") == std::string::npos;
    if (!ok) fail<E>("checkpoint '{}': {} name '{}' cannot be a file name", dir, kind, name);
}

/// An optimiser over tensors that are not the model's parameters makes a checkpoint no model can
/// load (and a load into it would train tensors the model never uses).
template <class T>
void check_optimizer_owned(const char* function, const std::string& dir, const Module<T>& model,
                           const optim::Optimizer<T>& optimizer) {
    const auto named = model.named_parameters();
    const auto& params = optimizer.parameters();
    for (std::size_t i = 0; i < params.size(); ++i) {
        const auto same = [&](const auto& np) { return np.second.same(params[i]); };
        if (std::any_of(named.begin(), named.end(), same)) continue;
        std::vector<std::string> shapes;
        for (const auto& [name, p] : named) shapes.push_back(name + " " + shape_str(p.shape()));
        fail<ValueError>(
            "{} '{}': {} parameter {} (shape {}) is not one of the model's parameters ({}); build the optimizer "
            "over model.parameters()",
            function, dir, optimizer.name(), i, shape_str(params[i].shape()), fmt::join(shapes, ", "));
    }
}

void check_schedule_owned(const char* function, const std::string& dir, const optim::LrScheduler& schedule,
                          const optim::OptimizerBase& optimizer) {
    if (&schedule.optimizer() != &optimizer)
        fail<ValueError>("{} '{}': the schedule {} sets the lr of another optimizer than the {} given", function, dir,
                         schedule.to_string(), optimizer.name());
}

template <class T>
void write_tensors(const fs::path& folder, const char* kind,
                   const std::vector<std::pair<std::string, Tensor<T>>>& named, std::vector<ManifestEntry>& entries) {
    std::error_code ec;
    fs::create_directories(folder, ec);
    if (ec) fail<IoError>("checkpoint: cannot create '{}': {}", folder.string(), ec.message());
    for (const auto& [name, tensor] : named) {
        check_name(folder.string(), kind, name);
        data::write_npy<T>((folder / (name + ".npy")).string(), tensor.value(), /*sync=*/true);
        entries.push_back({name, tensor.shape()});
    }
    detail::sync_path(folder);
}

void write_extras(const fs::path& folder, const CheckpointExtras& extras, std::vector<ManifestEntry>& entries) {
    if (extras.empty()) return;
    std::error_code ec;
    fs::create_directories(folder, ec);
    if (ec) fail<IoError>("checkpoint: cannot create '{}': {}", folder.string(), ec.message());
    for (const auto& [name, bytes] : extras) {
        const fs::path file = folder / name;
        {
            std::ofstream out(file, std::ios::binary);
            out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
            if (!out.flush()) fail<IoError>("checkpoint: cannot write '{}'", file.string());
        }
        detail::sync_path(file);
        entries.push_back({name, {bytes.size()}});
    }
    detail::sync_path(folder);
}

template <class T>
using Named = std::vector<std::pair<std::string, Tensor<T>>>;

/// The model's parameters under the names a checkpoint keeps them: a folder once each, under
/// named_parameters()'s name; a file under every state_dict key (a tensor shared by two layers under
/// both names, as PyTorch's state_dict lists it and load_state_dict wants it).
template <class T>
Named<T> model_parameters(const Module<T>& model, bool every_key) {
    if (!every_key) return model.named_parameters();
    std::set<std::string> buffers;
    for (const auto& [name, buffer] : model.named_buffers()) buffers.insert(name);
    Named<T> out;
    for (const auto& [key, tensor] : model.state_dict())
        if (!buffers.count(key)) out.emplace_back(key, tensor);
    return out;
}

/// The folder format: manifest.txt and .npy files, written into a temporary folder swapped in.
template <class T>
void save_folder(const fs::path& target, const Module<T>& model, const optim::Optimizer<T>* optimizer,
                 const CheckpointExtras* extras, Manifest& m) {
    detail::TempFolder tmp(target);
    write_tensors<T>(tmp.path() / "model", "parameter", model.named_parameters(), m.parameters);
    if (const auto buffers = model.named_buffers(); !buffers.empty())
        write_tensors<T>(tmp.path() / "buffers", "buffer", buffers, m.buffers);
    if (optimizer) write_tensors<T>(tmp.path() / "optimizer", "optimizer state", optimizer->state(), m.state);
    if (extras) write_extras(tmp.path() / "extra", *extras, m.extras);
    detail::write_manifest(tmp.path() / "manifest.txt", m);
    detail::sync_path(tmp.path());
    detail::replace_dir(tmp.path(), target);
}

/// The file format: one safetensors file, written to a temporary sibling renamed over `path`.
template <class T>
void save_file(const std::string& path, const Module<T>& model, const optim::Optimizer<T>* optimizer,
               const CheckpointExtras* extras, Manifest& m) {
    detail::check_file_target(path);
    data::NamedTensors<T> tensors;
    for (const auto& [name, tensor] : model_parameters(model, true)) {
        check_name(path, "parameter", name);
        tensors.emplace_back("model." + name, tensor);
    }
    for (const auto& [name, tensor] : model.named_buffers()) {
        check_name(path, "buffer", name);  // the buffers' names are listed with spaces between them
        tensors.emplace_back("model." + name, tensor);
        m.buffers.push_back({name, tensor.shape()});
    }
    if (optimizer)
        for (const auto& [name, tensor] : optimizer->state()) tensors.emplace_back("optimizer." + name, tensor);
    const fs::path target(path);
    std::error_code ec;
    if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
    // One file save at a time in this process: a temporary file of our pid is then an earlier
    // process's, left by a killed save.
    static std::mutex one_at_a_time;
    const std::lock_guard guard(one_at_a_time);
    detail::remove_stale_files(target);
    data::write_safetensors(path, tensors, detail::file_metadata(m, extras ? *extras : CheckpointExtras{}));
}

template <class T>
void save(const std::string& path, const Module<T>& model,
          const Parts<const optim::Optimizer<T>, const optim::LrScheduler>& parts) {
    const bool file = detail::is_checkpoint_file_name(path);
    const fs::path target = file ? fs::path(path) : detail::checked_target(path);
    if (parts.optimizer) check_optimizer_owned("save_checkpoint", path, model, *parts.optimizer);
    if (parts.schedule) {
        check_schedule_owned("save_checkpoint", path, *parts.schedule, *parts.optimizer);
        check_name<ValueError>(path, "schedule", parts.schedule->name());
    }
    if (parts.extras)
        for (const auto& [name, bytes] : *parts.extras) check_name<ValueError>(path, "extra", name);

    Manifest m;
    m.dtype = dtype_name<T>();
    if (parts.optimizer) {
        m.optimizer = parts.optimizer->name();
        m.lrs = parts.optimizer->lrs();
    }
    if (parts.schedule) {
        m.schedule = parts.schedule->name();
        m.schedule_state = parts.schedule->state();
        for (const auto& [name, value] : m.schedule_state) check_name<ValueError>(path, "schedule state", name);
    }
    if (file) {
        save_file<T>(path, model, parts.optimizer, parts.extras, m);
    } else {
        save_folder<T>(target, model, parts.optimizer, parts.extras, m);
    }
}

/// Reads one tensor file and checks its shape against what the caller expects.
template <class T>
xt::xarray<T> read_checked(const std::string& dir, const fs::path& file, const char* kind, const std::string& name,
                           const Shape& expected) {
    xt::xarray<T> value;
    try {
        value = data::read_npy<T>(file.string());
    } catch (const IoError& e) {
        fail<IoError>("checkpoint '{}': {} '{}' {}: {}", dir, kind, name, shape_str(expected), e.what());
    }
    const Shape shape(value.shape().begin(), value.shape().end());
    if (shape != expected)
        fail<IoError>("checkpoint '{}': {} '{}': file '{}' has shape {}, expected {}", dir, kind, name, file.string(),
                      shape_str(shape), shape_str(expected));
    return value;
}

CheckpointExtras read_extras(const std::string& dir, const Manifest& m) {
    CheckpointExtras extras;
    for (const auto& entry : m.extras) {
        check_name(dir, "extra", entry.name);
        const fs::path file = fs::path(dir) / "extra" / entry.name;
        std::ifstream in(file, std::ios::binary);
        if (!in) fail<IoError>("checkpoint '{}': cannot open extra '{}'", dir, file.string());
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (bytes.size() != entry.shape.at(0))
            fail<IoError>("checkpoint '{}': extra '{}' holds {} bytes, the manifest says {}", dir, file.string(),
                          bytes.size(), entry.shape.at(0));
        extras[entry.name] = std::move(bytes);
    }
    return extras;
}

/// What a load reads: a folder or a file, both described by a Manifest.
template <class T>
class Source {
public:
    virtual ~Source() = default;
    virtual const Manifest& manifest() const = 0;
    /// Whether the model's parameters are under every state_dict key (see model_parameters()).
    virtual bool every_key() const = 0;
    /// The tensor `name` of `part` ("model", "buffers" or "optimizer"), of shape `expected`.
    virtual xt::xarray<T> read(const char* kind, const char* part, const std::string& name,
                               const Shape& expected) const = 0;
    virtual CheckpointExtras extras() const = 0;
};

template <class T>
class FolderSource final : public Source<T> {
public:
    explicit FolderSource(const std::string& dir) : dir_(dir), manifest_(detail::read_manifest(dir)) {}
    const Manifest& manifest() const override { return manifest_; }
    bool every_key() const override { return false; }
    xt::xarray<T> read(const char* kind, const char* part, const std::string& name,
                       const Shape& expected) const override {
        return read_checked<T>(dir_, fs::path(dir_) / part / (name + ".npy"), kind, name, expected);
    }
    CheckpointExtras extras() const override { return read_extras(dir_, manifest_); }

private:
    std::string dir_;
    Manifest manifest_;
};

template <class T>
class FileSource final : public Source<T> {
public:
    explicit FileSource(const std::string& path) : file_(path) {}
    const Manifest& manifest() const override { return file_.manifest(); }
    bool every_key() const override { return true; }
    xt::xarray<T> read(const char* kind, const char* part, const std::string& name,
                       const Shape& expected) const override {
        const std::string prefix = std::string(part) == "optimizer" ? "optimizer." : "model.";
        return file_.read<T>(kind, name, prefix + name, expected);
    }
    CheckpointExtras extras() const override { return file_.extras(); }

private:
    detail::CheckpointFile file_;
};

template <class T>
std::unique_ptr<Source<T>> open(const std::string& path) {
    if (detail::is_checkpoint_file(path)) return std::make_unique<FileSource<T>>(path);
    return std::make_unique<FolderSource<T>>(path);
}

/// The new values of the model's parameters or buffers (`named`, in its order) from the
/// checkpoint's `entries` in `part`, after matching names and shapes both ways.
template <class T>
std::vector<xt::xarray<T>> read_named(const Source<T>& source, const std::string& dir, const char* kind,
                                      const char* part, const std::vector<ManifestEntry>& entries,
                                      const Named<T>& named) {
    std::map<std::string, Shape> saved;
    for (const auto& p : entries) saved[p.name] = p.shape;
    std::vector<xt::xarray<T>> values;
    for (const auto& [name, tensor] : named) {
        const auto it = saved.find(name);
        if (it == saved.end())
            fail<IoError>("checkpoint '{}': the model's {} '{}' {} is not in it", dir, kind, name,
                          shape_str(tensor.shape()));
        if (it->second != tensor.shape())
            fail<IoError>("checkpoint '{}': {} '{}' has shape {} in the checkpoint, {} in the model", dir, kind, name,
                          shape_str(it->second), shape_str(tensor.shape()));
        values.push_back(source.read(kind, part, name, tensor.shape()));
        saved.erase(it);
    }
    if (!saved.empty())
        fail<IoError>("checkpoint '{}': {} '{}' {} is not in the model", dir, kind, saved.begin()->first,
                      shape_str(saved.begin()->second));
    return values;
}

template <class T>
typename optim::Optimizer<T>::State read_state(const Source<T>& source, const std::string& dir, const Manifest& m,
                                               const optim::Optimizer<T>& optimizer) {
    if (m.optimizer != optimizer.name())
        fail<IoError>("checkpoint '{}': it holds {} state, the optimizer is {}", dir,
                      m.optimizer.empty() ? "no optimizer" : m.optimizer, optimizer.name());
    typename optim::Optimizer<T>::State state;
    for (const auto& entry : m.state)
        state.emplace_back(entry.name, Tensor<T>(source.read("optimizer state", "optimizer", entry.name, entry.shape)));
    return state;
}

optim::LrScheduleState read_schedule(const std::string& dir, const Manifest& m, const optim::LrScheduler& schedule) {
    if (m.schedule != schedule.name())
        fail<IoError>("checkpoint '{}': it holds {}, the schedule is {}", dir,
                      m.schedule.empty() ? "no schedule" : m.schedule + " state", schedule.to_string());
    return m.schedule_state;
}

template <class T>
CheckpointExtras load(const std::string& dir, Module<T>& model,
                      const Parts<optim::Optimizer<T>, optim::LrScheduler>& parts) {
    if (parts.optimizer) check_optimizer_owned("load_checkpoint", dir, model, *parts.optimizer);
    if (parts.schedule) check_schedule_owned("load_checkpoint", dir, *parts.schedule, *parts.optimizer);
    const auto source = open<T>(dir);
    const Manifest& m = source->manifest();
    if (m.dtype != dtype_name<T>())
        fail<IoError>("checkpoint '{}': it holds {} tensors, the model is {}", dir, m.dtype, dtype_name<T>());
    Named<T> params = model_parameters(model, source->every_key());
    Named<T> buffers = model.named_buffers();
    std::vector<xt::xarray<T>> values = read_named(*source, dir, "parameter", "model", m.parameters, params);
    std::vector<xt::xarray<T>> buffer_values = read_named(*source, dir, "buffer", "buffers", m.buffers, buffers);
    const auto schedule_state = parts.schedule ? read_schedule(dir, m, *parts.schedule) : optim::LrScheduleState{};
    CheckpointExtras extras = source->extras();
    const auto optimizer_before = parts.optimizer ? parts.optimizer->state() : typename optim::Optimizer<T>::State{};
    const auto lrs_before = parts.optimizer ? parts.optimizer->lrs() : std::vector<double>{};
    if (parts.optimizer) {
        // load_state checks everything before it changes anything, so a refusal leaves it as it was.
        auto state = read_state(*source, dir, m, *parts.optimizer);
        try {
            parts.optimizer->load_state(state);
        } catch (const ValueError& e) {
            fail<IoError>("checkpoint '{}': the optimizer refuses its state: {}", dir, e.what());
        }
    }
    if (parts.schedule) {
        // Checks everything before it changes anything; on a refusal, the optimiser's state goes back.
        try {
            parts.schedule->load_state(schedule_state);
        } catch (const ValueError& e) {
            if (parts.optimizer) {
                parts.optimizer->load_state(optimizer_before);
                parts.optimizer->set_lrs(lrs_before);  // exact: the state's are rounded to the dtype
            }
            fail<IoError>("checkpoint '{}': the schedule {} refuses its state: {}", dir, parts.schedule->to_string(),
                          e.what());
        }
    }
    // Nothing below can throw: every value was checked when read. A tensor under two keys (a file's
    // tied weight) takes the value of its last key, as PyTorch's load_state_dict gives it.
    for (std::size_t i = 0; i < params.size(); ++i) params[i].second.mutable_value() = std::move(values[i]);
    for (std::size_t i = 0; i < buffers.size(); ++i) buffers[i].second.mutable_value() = std::move(buffer_values[i]);
    if (parts.optimizer && m.lrs.size() == parts.optimizer->num_groups())
        parts.optimizer->set_lrs(m.lrs);  // exact, where the state's lr.<g> are rounded to the dtype
    return extras;
}

}  // namespace

template <class T>
void save_checkpoint(const std::string& dir, const Module<T>& model) {
    save<T>(dir, model, {});
}
template <class T>
void save_checkpoint(const std::string& dir, const Module<T>& model, const optim::Optimizer<T>& optimizer,
                     const CheckpointExtras& extras) {
    save<T>(dir, model, {&optimizer, nullptr, &extras});
}
template <class T>
void save_checkpoint(const std::string& dir, const Module<T>& model, const optim::Optimizer<T>& optimizer,
                     const optim::LrScheduler& schedule, const CheckpointExtras& extras) {
    save<T>(dir, model, {&optimizer, &schedule, &extras});
}
template <class T>
CheckpointExtras load_checkpoint(const std::string& dir, Module<T>& model) {
    return load<T>(dir, model, {});
}
template <class T>
CheckpointExtras load_checkpoint(const std::string& dir, Module<T>& model, optim::Optimizer<T>& optimizer) {
    return load<T>(dir, model, {&optimizer, nullptr, nullptr});
}
template <class T>
CheckpointExtras load_checkpoint(const std::string& dir, Module<T>& model, optim::Optimizer<T>& optimizer,
                                 optim::LrScheduler& schedule) {
    return load<T>(dir, model, {&optimizer, &schedule, nullptr});
}

CheckpointExtras read_checkpoint_extras(const std::string& path) {
    if (detail::is_checkpoint_file(path)) return detail::CheckpointFile(path).extras();
    return read_extras(path, detail::read_manifest(path));
}

void check_checkpoint_path(const std::string& path) {
    if (detail::is_checkpoint_file_name(path)) {
        detail::probe_file_target(path);
    } else {
        const detail::TempFolder probe(detail::checked_target(path));
    }
}

#define TAPEGRAD_INSTANTIATE(T)                                                                         \
    template void save_checkpoint<T>(const std::string&, const Module<T>&);                             \
    template void save_checkpoint<T>(const std::string&, const Module<T>&, const optim::Optimizer<T>&,  \
                                     const CheckpointExtras&);                                          \
    template void save_checkpoint<T>(const std::string&, const Module<T>&, const optim::Optimizer<T>&,  \
                                     const optim::LrScheduler&, const CheckpointExtras&);               \
    template CheckpointExtras load_checkpoint<T>(const std::string&, Module<T>&);                       \
    template CheckpointExtras load_checkpoint<T>(const std::string&, Module<T>&, optim::Optimizer<T>&); \
    template CheckpointExtras load_checkpoint<T>(const std::string&, Module<T>&, optim::Optimizer<T>&,  \
                                                 optim::LrScheduler&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad::nn
