#include <tapegrad/data/dataset.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace tapegrad::data {
namespace {

void check_options(const DatasetOptions& options) {
    if (!(options.std > 0) || !std::isfinite(options.std))
        fail<ValueError>("dataset: std is {}; it must be positive and finite", options.std);
    if (!std::isfinite(options.mean)) fail<ValueError>("dataset: mean is {}; it must be finite", options.mean);
    if (options.classes == 0) fail<ValueError>("dataset: classes is 0; it must be positive");
}

/// `name` + ".gz" if it exists in folder, else `name`; IoError naming both when neither does.
std::string find_file(const std::string& folder, const std::string& name) {
    namespace fs = std::filesystem;
    const fs::path gz = fs::path(folder) / (name + ".gz");
    const fs::path plain = fs::path(folder) / name;
    std::error_code ec;
    if (fs::is_regular_file(gz, ec)) return gz.string();
    if (fs::is_regular_file(plain, ec)) return plain.string();
    fail<IoError>("Fashion-MNIST: neither '{}' nor '{}' exists (pass the folder holding the IDX files)", gz.string(),
                  plain.string());
}

}  // namespace

template <class T>
void check_dataset(const char* where, const Dataset<T>& data) {
    const auto& shape = data.images.shape();
    if (data.images.dimension() != 2)
        fail<ShapeError>("{}: images have shape {}; expected N x features (one sample per row)", where,
                         shape_str(Shape(shape.begin(), shape.end())));
    if (data.labels.ndim() != 1 || shape[0] != data.labels.numel())
        fail<ShapeError>("{}: {} images (shape {}) but {} labels (shape {}); every image needs exactly one label",
                         where, shape[0], shape_str(Shape(shape.begin(), shape.end())), data.labels.numel(),
                         shape_str(data.labels.shape()));
}

template <class T>
Dataset<T>::Dataset(xt::xarray<T> x, Labels y) : images(std::move(x)), labels(std::move(y)) {
    check_dataset("Dataset", *this);
}

template <class T>
Dataset<T> make_dataset(const IdxArray& images, const IdxArray& labels, const DatasetOptions& options,
                        const std::string& images_path, const std::string& labels_path) {
    check_options(options);
    if (images.shape.size() != 3 || labels.shape.size() != 1)
        fail<ShapeError>("dataset: images have shape {} and labels {}; expected N x rows x cols and N",
                         shape_str(images.shape), shape_str(labels.shape));
    if (images.data.size() != numel("Dataset", images.shape) || labels.data.size() != numel("Dataset", labels.shape))
        fail<ShapeError>("dataset: images hold {} bytes for shape {}, labels {} bytes for shape {}", images.data.size(),
                         shape_str(images.shape), labels.data.size(), shape_str(labels.shape));
    if (images.shape[0] != labels.shape[0])
        fail<IoError>("dataset: '{}' holds {} images but '{}' holds {} labels", images_path, images.shape[0],
                      labels_path, labels.shape[0]);
    const std::size_t n = options.limit == 0 ? images.shape[0] : std::min(options.limit, images.shape[0]);
    const std::size_t features = images.shape[1] * images.shape[2];

    Dataset<T> data;
    data.labels = Labels::full({n}, 0);
    for (std::size_t i = 0; i < n; ++i) {
        if (labels.data[i] >= options.classes)
            fail<IoError>("dataset: '{}': label {} of sample {} is not below the {} classes", labels_path,
                          labels.data[i], i, options.classes);
        data.labels[i] = labels.data[i];
    }
    // x = (byte / 255 - mean) / std = byte * scale + shift, computed in double, stored in T.
    const double scale = 1.0 / (255.0 * options.std);
    const double shift = -options.mean / options.std;
    std::array<T, 256> table{};
    for (std::size_t b = 0; b < table.size(); ++b) table[b] = static_cast<T>(static_cast<double>(b) * scale + shift);
    data.images = xt::xarray<T>::from_shape({n, features});
    std::transform(images.data.begin(), images.data.begin() + static_cast<std::ptrdiff_t>(n * features),
                   data.images.begin(), [&](std::uint8_t b) { return table[b]; });
    return data;
}

template <class T>
Dataset<T> load_idx_dataset(const std::string& images_path, const std::string& labels_path,
                            const DatasetOptions& options) {
    check_options(options);
    return make_dataset<T>(read_idx_images(images_path), read_idx_labels(labels_path), options, images_path,
                           labels_path);
}

template <class T>
Dataset<T> load_fashion_mnist(Split split, const std::string& folder, const DatasetOptions& options) {
    const std::string prefix = split == Split::Train ? "train" : "t10k";
    const std::string images = find_file(folder, prefix + "-images-idx3-ubyte");
    const std::string labels = find_file(folder, prefix + "-labels-idx1-ubyte");
    return load_idx_dataset<T>(images, labels, options);
}

#define TAPEGRAD_INSTANTIATE(T)                                                                                      \
    template struct Dataset<T>;                                                                                      \
    template void check_dataset<T>(const char*, const Dataset<T>&);                                                  \
    template Dataset<T> make_dataset<T>(const IdxArray&, const IdxArray&, const DatasetOptions&, const std::string&, \
                                        const std::string&);                                                         \
    template Dataset<T> load_idx_dataset<T>(const std::string&, const std::string&, const DatasetOptions&);          \
    template Dataset<T> load_fashion_mnist<T>(Split, const std::string&, const DatasetOptions&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad::data
