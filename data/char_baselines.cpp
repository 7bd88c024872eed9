#include <tapegrad/data/char_baselines.hpp>

#include <cmath>
#include <numbers>
#include <vector>

#include <tapegrad/autograd/errors.hpp>

namespace tapegrad::data {
namespace {

void check(const char* where, const CharCorpus& corpus, double k) {
    if (!(k > 0 && std::isfinite(k)))
        fail<ValueError>("{}: smoothing k is {}; expected a positive finite value", where, k);
    if (corpus.validation_size() < 2)
        fail<ValueError>("{}: corpus '{}' has a validation split of {} bytes; at least 2 are needed", where,
                         corpus.name(), corpus.validation_size());
}

/// Mean of -ln p over the validation targets (every validation byte after the first), where
/// p(previous id, id) gives the smoothed probability.
template <class P>
CharCrossEntropy score(const CharCorpus& corpus, P p) {
    const auto& tokens = corpus.tokens();
    double sum = 0;
    for (std::size_t i = corpus.train_size() + 1; i < tokens.size(); ++i) sum -= std::log(p(tokens[i - 1], tokens[i]));
    const double nats = sum / double(corpus.validation_size() - 1);
    return {nats, nats / std::numbers::ln2};
}

}  // namespace

CharCrossEntropy unigram_cross_entropy(const CharCorpus& corpus, double k) {
    check("unigram_cross_entropy", corpus, k);
    const std::size_t v = corpus.vocab_size(), n = corpus.train_size();
    std::vector<double> count(v, 0.0);
    for (std::size_t i = 0; i < n; ++i) count[std::size_t(corpus.tokens()[i])] += 1;
    const double total = double(n) + k * double(v);
    return score(corpus, [&](std::int64_t, std::int64_t c) { return (count[std::size_t(c)] + k) / total; });
}

CharCrossEntropy bigram_cross_entropy(const CharCorpus& corpus, double k) {
    check("bigram_cross_entropy", corpus, k);
    const std::size_t v = corpus.vocab_size(), n = corpus.train_size();
    const auto& tokens = corpus.tokens();
    std::vector<double> pairs(v * v, 0.0), from(v, 0.0);
    for (std::size_t i = 1; i < n; ++i) {
        const auto a = std::size_t(tokens[i - 1]), c = std::size_t(tokens[i]);
        pairs[a * v + c] += 1;
        from[a] += 1;
    }
    return score(corpus, [&](std::int64_t a, std::int64_t c) {
        const auto row = std::size_t(a);
        return (pairs[row * v + std::size_t(c)] + k) / (from[row] + k * double(v));
    });
}

}  // namespace tapegrad::data
