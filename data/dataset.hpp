/// \file
/// Datasets of images and class labels in memory, read from IDX files (MNIST, Fashion-MNIST).
#pragma once

#include <array>
#include <cstddef>
#include <string>

#include <xtensor/xarray.hpp>

#include <tapegrad/data/idx.hpp>
#include <tapegrad/ops/loss.hpp>

namespace tapegrad::data {

/// How raw pixel bytes become features: x = (byte / 255 - mean) / std.
struct DatasetOptions {
    double mean = 0;           ///< subtracted after scaling to [0, 1]
    double std = 1;            ///< > 0; divides after subtracting the mean
    std::size_t classes = 10;  ///< every label must be below it
    std::size_t limit = 0;     ///< keep only the first `limit` samples; 0 keeps all
};

/// N samples: images flattened to rows of features (N x rows*cols, one sample per row, as every
/// tapegrad op expects) and one class index per sample.
///
/// `Dataset<float> data{images, labels}` checks that images is 2-D and has one row per label,
/// else ShapeError naming both counts. The members stay public (to fill or edit a dataset in
/// place); DataLoader checks the same again when it is built and for every batch.
template <class T = float>
struct Dataset {
    /// N x features, one sample per row; no samples by default.
    xt::xarray<T> images = xt::xarray<T>::from_shape({0, 0});  // no samples (not xtensor's 0-d default)
    /// One class index per row of images.
    Labels labels;

    /// An empty dataset (0 x 0 images, no labels).
    Dataset() = default;
    /// Takes the images (N x features) and their N labels; ShapeError otherwise (see above).
    Dataset(xt::xarray<T> x, Labels y);

    /// N, the number of samples (labels).
    std::size_t size() const noexcept { return labels.numel(); }
    /// Features per sample (columns of images); 0 unless images is 2-D.
    std::size_t features() const noexcept { return images.dimension() == 2 ? images.shape()[1] : 0; }
};

/// Throws ShapeError naming `where` unless data.images is N x features with N == data.labels.numel() and labels 1-d.
template <class T>
void check_dataset(const char* where, const Dataset<T>& data);

/// Builds a dataset from an images array (N x rows x cols) and a labels array (N); the paths
/// name the files in messages. Throws IoError when the counts differ or a label is out of range,
/// ValueError for bad options (std <= 0 or not finite, classes == 0).
template <class T = float>
Dataset<T> make_dataset(const IdxArray& images, const IdxArray& labels, const DatasetOptions& options = {},
                        const std::string& images_path = "images", const std::string& labels_path = "labels");

/// Reads both IDX files (plain or gzipped) and builds the dataset.
template <class T = float>
Dataset<T> load_idx_dataset(const std::string& images_path, const std::string& labels_path,
                            const DatasetOptions& options = {});

/// Where the dataset-fashion-mnist package installs the data.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";
/// Mean of Fashion-MNIST's training pixels scaled to [0, 1].
inline constexpr double kFashionMnistMean = 0.2860;
/// Standard deviation of Fashion-MNIST's training pixels scaled to [0, 1].
inline constexpr double kFashionMnistStd = 0.3530;
/// Fashion-MNIST's class names, indexed by label (0 "T-shirt/top" ... 9 "Ankle boot").
inline constexpr std::array<const char*, 10> kFashionMnistClasses = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

/// Which file pair load_fashion_mnist reads: the training set or the test set.
enum class Split { Train, Test };

/// Fashion-MNIST's training (60000) or test (10000) set from `folder`, which holds
/// train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and
/// t10k-labels-idx1-ubyte.gz (or the same names without .gz). Standardised by default.
template <class T = float>
Dataset<T> load_fashion_mnist(Split split, const std::string& folder = kFashionMnistDir,
                              const DatasetOptions& options = {.mean = kFashionMnistMean, .std = kFashionMnistStd});

}  // namespace tapegrad::data
