#include "nn/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "data/npy.hpp"

namespace tapegrad::nn {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFormat = "tapegrad checkpoint v1";

struct Entry {
    std::string name;
    Shape shape;
};

struct Manifest {
    std::string dtype;
    std::vector<Entry> parameters;
    std::string optimizer;  // empty: no optimiser state
    std::vector<Entry> state;
};

std::string shape_token(const Shape& shape) {
    return fmt::format("[{}]", fmt::join(shape, ","));
}

/// Names become file names and manifest tokens: no path separators, spaces or empty names.
void check_name(const std::string& dir, const char* kind, const std::string& name) {
    const bool ok = !name.empty() && name != "." && name != ".." && name.find_first_of("/ \t\n") == std::string::npos;
    if (!ok) fail<IoError>("checkpoint '{}': {} name '{}' cannot be a file name", dir, kind, name);
}

void sync_path(const fs::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY);
    const bool ok = fd >= 0 && ::fsync(fd) == 0;
    if (fd >= 0) ::close(fd);
    if (!ok) fail<IoError>("checkpoint: cannot sync '{}': {}", path.string(), std::strerror(errno));
}

void write_manifest(const fs::path& path, const Manifest& m) {
    std::ostringstream out;
    out << kFormat << "\ndtype " << m.dtype << "\n";
    for (const auto& p : m.parameters) out << "parameter " << p.name << " " << shape_token(p.shape) << "\n";
    if (!m.optimizer.empty()) out << "optimizer " << m.optimizer << "\n";
    for (const auto& s : m.state) out << "state " << s.name << " " << shape_token(s.shape) << "\n";
    {
        std::ofstream file(path, std::ios::binary);
        file << out.str();
        if (!file.flush()) fail<IoError>("checkpoint: cannot write '{}'", path.string());
    }
    sync_path(path);
}

Shape parse_shape_token(const std::string& where, const std::string& token) {
    if (token.size() < 2 || token.front() != '[' || token.back() != ']')
        fail<IoError>("{}: '{}' is not a shape", where, token);
    Shape shape;
    std::istringstream in(token.substr(1, token.size() - 2));
    for (std::string part; std::getline(in, part, ',');) {
        // 19 digits always fit a 64-bit size: std::stoull would throw std::out_of_range beyond.
        if (part.empty() || part.size() > 19 || part.find_first_not_of("0123456789") != std::string::npos)
            fail<IoError>("{}: '{}' is not a shape", where, token);
        shape.push_back(std::stoull(part));
    }
    return shape;
}

Manifest read_manifest(const std::string& dir) {
    const fs::path path = fs::path(dir) / "manifest.txt";
    std::ifstream in(path);
    if (!in) fail<IoError>("checkpoint '{}': cannot open '{}' (not a tapegrad checkpoint?)", dir, path.string());
    std::string line;
    std::getline(in, line);
    if (line != kFormat)
        fail<IoError>("checkpoint '{}': '{}' starts with '{}', not '{}'", dir, path.string(), line.substr(0, 40),
                      kFormat);
    Manifest m;
    for (std::size_t number = 2; std::getline(in, line); ++number) {
        const std::string where = fmt::format("checkpoint '{}': {} line {}", dir, path.string(), number);
        std::istringstream words(line);
        std::string kind, name, shape, extra;
        words >> kind >> name >> shape >> extra;
        const bool tensor = kind == "parameter" || kind == "state";
        if (name.empty() || !extra.empty() || tensor == shape.empty() ||
            !(tensor || kind == "dtype" || kind == "optimizer"))
            fail<IoError>("{}: cannot parse '{}'", where, line);
        if (kind == "dtype") m.dtype = name;
        if (kind == "optimizer") m.optimizer = name;
        if (kind == "parameter") m.parameters.push_back({name, parse_shape_token(where, shape)});
        if (kind == "state") m.state.push_back({name, parse_shape_token(where, shape)});
    }
    return m;
}

/// Moves the finished temporary folder to `target`: one atomic exchange when the target exists.
void replace_dir(const fs::path& tmp, const fs::path& target) {
    std::error_code ec;
    if (!fs::exists(target, ec)) {
        fs::rename(tmp, target, ec);
        if (ec)
            fail<IoError>("checkpoint '{}': cannot rename '{}' to it: {}", target.string(), tmp.string(), ec.message());
    } else if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) != 0) {
        if (errno != EINVAL && errno != ENOSYS)
            fail<IoError>("checkpoint '{}': cannot replace it: {}", target.string(), std::strerror(errno));
        // The file system cannot exchange: move the old one aside, the new one in, in two steps.
        const fs::path old = tmp.string() + ".old";
        fs::rename(target, old, ec);
        if (!ec) fs::rename(tmp, target, ec);
        if (ec) fail<IoError>("checkpoint '{}': cannot replace it: {}", target.string(), ec.message());
        fs::remove_all(old, ec);
    }
    fs::remove_all(tmp, ec);  // after an exchange, tmp holds the previous checkpoint
    sync_path(target.parent_path().empty() ? fs::path(".") : target.parent_path());
}

/// `dir` without a trailing separator; refuses to replace a folder that is not a checkpoint.
fs::path checked_target(const std::string& dir) {
    fs::path target = fs::path(dir).lexically_normal();
    if (!target.has_filename()) target = target.parent_path();
    std::error_code ec;
    if (fs::exists(target, ec) &&
        !(fs::is_directory(target, ec) && (fs::is_empty(target, ec) || fs::exists(target / "manifest.txt", ec))))
        fail<IoError>("checkpoint '{}': it exists and is not a checkpoint; refusing to replace it", dir);
    return target;
}

template <class T>
void write_tensors(const fs::path& folder, const char* kind,
                   const std::vector<std::pair<std::string, Tensor<T>>>& named, std::vector<Entry>& entries) {
    std::error_code ec;
    fs::create_directories(folder, ec);
    if (ec) fail<IoError>("checkpoint: cannot create '{}': {}", folder.string(), ec.message());
    for (const auto& [name, tensor] : named) {
        check_name(folder.string(), kind, name);
        write_npy<T>((folder / (name + ".npy")).string(), tensor.value(), /*sync=*/true);
        entries.push_back({name, tensor.shape()});
    }
    sync_path(folder);
}

template <class T>
void save(const std::string& dir, const Module<T>& model, const optim::Optimizer<T>* optimizer) {
    static std::atomic<unsigned> counter{0};
    const fs::path target = checked_target(dir);
    const fs::path parent = target.parent_path().empty() ? fs::path(".") : target.parent_path();
    const fs::path tmp = parent / fmt::format(".{}.tmp-{}-{}", target.filename().string(), ::getpid(), counter++);
    std::error_code ec;
    fs::create_directories(parent, ec);
    try {
        Manifest m{dtype_name<T>(), {}, optimizer ? optimizer->name() : "", {}};
        write_tensors<T>(tmp / "model", "parameter", model.named_parameters(), m.parameters);
        if (optimizer) write_tensors<T>(tmp / "optimizer", "optimizer state", optimizer->state(), m.state);
        write_manifest(tmp / "manifest.txt", m);
        sync_path(tmp);
        replace_dir(tmp, target);
    } catch (...) {
        fs::remove_all(tmp, ec);
        throw;
    }
}

/// Reads one tensor file and checks its shape against what the caller expects.
template <class T>
xt::xarray<T> read_checked(const std::string& dir, const fs::path& file, const char* kind, const Entry& entry,
                           const Shape& expected) {
    xt::xarray<T> value;
    try {
        value = read_npy<T>(file.string());
    } catch (const IoError& e) {
        fail<IoError>("checkpoint '{}': {} '{}' {}: {}", dir, kind, entry.name, shape_str(expected), e.what());
    }
    const Shape shape(value.shape().begin(), value.shape().end());
    if (shape != expected)
        fail<IoError>("checkpoint '{}': {} '{}': file '{}' has shape {}, expected {}", dir, kind, entry.name,
                      file.string(), shape_str(shape), shape_str(expected));
    return value;
}

/// The parameters' new values, in named_parameters() order, after matching names and shapes.
template <class T>
std::vector<xt::xarray<T>> read_parameters(const std::string& dir, const Manifest& m, const Module<T>& model) {
    std::map<std::string, Shape> saved;
    for (const auto& p : m.parameters) saved[p.name] = p.shape;
    std::vector<xt::xarray<T>> values;
    for (const auto& [name, param] : model.named_parameters()) {
        const auto it = saved.find(name);
        if (it == saved.end())
            fail<IoError>("checkpoint '{}': the model's parameter '{}' {} is not in it", dir, name,
                          shape_str(param.shape()));
        if (it->second != param.shape())
            fail<IoError>("checkpoint '{}': parameter '{}' has shape {} in the checkpoint, {} in the model", dir, name,
                          shape_str(it->second), shape_str(param.shape()));
        values.push_back(
            read_checked<T>(dir, fs::path(dir) / "model" / (name + ".npy"), "parameter", {name, {}}, param.shape()));
        saved.erase(it);
    }
    if (!saved.empty())
        fail<IoError>("checkpoint '{}': parameter '{}' {} is not in the model", dir, saved.begin()->first,
                      shape_str(saved.begin()->second));
    return values;
}

template <class T>
typename optim::Optimizer<T>::State read_state(const std::string& dir, const Manifest& m,
                                               const optim::Optimizer<T>& optimizer) {
    if (m.optimizer != optimizer.name())
        fail<IoError>("checkpoint '{}': it holds {} state, the optimizer is {}", dir,
                      m.optimizer.empty() ? "no optimizer" : m.optimizer, optimizer.name());
    typename optim::Optimizer<T>::State state;
    for (const auto& entry : m.state) {
        const fs::path file = fs::path(dir) / "optimizer" / (entry.name + ".npy");
        state.emplace_back(entry.name, Tensor<T>(read_checked<T>(dir, file, "optimizer state", entry, entry.shape)));
    }
    return state;
}

template <class T>
void load(const std::string& dir, Module<T>& model, optim::Optimizer<T>* optimizer) {
    const Manifest m = read_manifest(dir);
    if (m.dtype != dtype_name<T>())
        fail<IoError>("checkpoint '{}': it holds {} tensors, the model is {}", dir, m.dtype, dtype_name<T>());
    std::vector<xt::xarray<T>> values = read_parameters(dir, m, model);
    if (optimizer) {
        // load_state checks everything before it changes anything, so a refusal leaves it as it was.
        try {
            optimizer->load_state(read_state(dir, m, *optimizer));
        } catch (const ValueError& e) {
            fail<IoError>("checkpoint '{}': the optimizer refuses its state: {}", dir, e.what());
        }
    }
    std::size_t i = 0;
    for (auto& [name, param] : model.named_parameters()) param.mutable_value() = std::move(values[i++]);
}

}  // namespace

template <class T>
void save_checkpoint(const std::string& dir, const Module<T>& model) {
    save<T>(dir, model, nullptr);
}
template <class T>
void save_checkpoint(const std::string& dir, const Module<T>& model, const optim::Optimizer<T>& optimizer) {
    save<T>(dir, model, &optimizer);
}
template <class T>
void load_checkpoint(const std::string& dir, Module<T>& model) {
    load<T>(dir, model, nullptr);
}
template <class T>
void load_checkpoint(const std::string& dir, Module<T>& model, optim::Optimizer<T>& optimizer) {
    load<T>(dir, model, &optimizer);
}

#define TAPEGRAD_INSTANTIATE(T)                                                                         \
    template void save_checkpoint<T>(const std::string&, const Module<T>&);                             \
    template void save_checkpoint<T>(const std::string&, const Module<T>&, const optim::Optimizer<T>&); \
    template void load_checkpoint<T>(const std::string&, Module<T>&);                                   \
    template void load_checkpoint<T>(const std::string&, Module<T>&, optim::Optimizer<T>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad::nn
