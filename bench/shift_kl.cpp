// What moving the coach's cache over dropped turns costs in accuracy: replays
// a conversation `josi chat --jsonl --conversation` ran (its results: each
// turn's coach prompt and reply) through one context as the coach keeps it
// (runtime/cache_reuse: the common prefix kept, a later stretch moved over
// the dropped oldest turns), and at each turn that moved its cache compares
// the logits of every position it evaluated with a cold evaluation of the
// same prompt: KL(cold || moved) per position, and top-1 agreement.
// Usage: shift_kl MODEL.gguf RESULTS.jsonl [threads] [kv f16|q8_0] [most turns compared]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "base/thread_pool.hpp"
#include "infer/context.hpp"
#include "json/json.hpp"
#include "runtime/cache_reuse.hpp"
#include "runtime/role_session.hpp"

using namespace josi;

namespace {

std::vector<double> log_softmax(const float* logits, size_t n) {
  const float top = *std::max_element(logits, logits + n);
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(logits[i] - top));
  std::vector<double> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = logits[i] - top - std::log(sum);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: shift_kl MODEL.gguf RESULTS.jsonl [threads] [kv] [most turns]\n");
    return 2;
  }
  const size_t threads = argc > 3 ? std::stoul(argv[3]) : 2;
  const auto kv = infer::kv_type_named(argc > 4 ? argv[4] : "f16").value();
  const int most = argc > 5 ? std::stoi(argv[5]) : 1000;
  runtime::LoadedModel model(argv[1]);
  const auto& tokenizer = *model.tokenizer;
  base::ThreadPool pool(threads);
  std::vector<json::Json> turns;
  std::ifstream in(argv[2]);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) turns.push_back(json::parse(line, argv[2]));
  if (turns.empty() || turns[0]["explainer"].is_null()) {
    std::fprintf(stderr, "shift_kl: %s has no coach turns\n", argv[2]);
    return 1;
  }
  const int64_t n_ctx = 4096, vocab = model.model.hparams().n_vocab;
  const int32_t start = *tokenizer.token_id("<|im_start|>");
  // The system turn: up to the prompt's second <|im_start|>.
  const auto first = tokenizer.encode(turns[0]["explainer"]["prompt"].get<std::string>(), true);
  const int64_t system_tokens = std::find(first.begin() + 1, first.end(), start) - first.begin();
  infer::Context kept(model.model, pool, n_ctx, nullptr, kv), cold(model.model, pool, n_ctx, nullptr, kv);
  std::vector<int32_t> cached;
  std::printf("%5s %7s %7s %7s %8s %12s %12s %8s\n", "turn", "prompt", "moved", "dropped", "new", "KL mean", "KL max", "top-1");
  int compared = 0;
  double all_kl = 0;
  int64_t all_rows = 0, all_agree = 0;
  for (size_t t = 0; t < turns.size(); ++t) {
    const auto& coach = turns[t]["explainer"];
    if (coach.is_null()) continue;
    const auto prompt = tokenizer.encode(coach["prompt"].get<std::string>(), true);
    const auto reuse = runtime::plan_reuse(cached, prompt, system_tokens, start, true);
    kept.set_n_past(static_cast<int64_t>(cached.size()));
    if (reuse.moved > 0) kept.shift(reuse.moved_from, reuse.kept, reuse.moved);
    kept.set_n_past(reuse.reused());
    const std::span<const int32_t> rest(prompt.data() + reuse.reused(), prompt.size() - static_cast<size_t>(reuse.reused()));
    if (compared == most) break;
    const bool compare = reuse.moved > 0;
    const auto rows = static_cast<int64_t>(rest.size());
    std::vector<float> moved_logits;
    if (compare) {
      const auto l = kept.eval_last(rest, rows);
      moved_logits.assign(l.begin(), l.end());
    } else {
      kept.eval(rest);
    }
    if (compare) {
      ++compared;
      cold.reset();
      const auto reference = cold.eval_last(prompt, rows);
      double sum = 0, worst = 0;
      int64_t agree = 0;
      for (int64_t r = 0; r < rows; ++r) {
        const float* p = reference.data() + r * vocab;
        const float* q = moved_logits.data() + r * vocab;
        const auto lp = log_softmax(p, static_cast<size_t>(vocab)), lq = log_softmax(q, static_cast<size_t>(vocab));
        double kl = 0;
        for (int64_t i = 0; i < vocab; ++i) kl += std::exp(lp[static_cast<size_t>(i)]) * (lp[static_cast<size_t>(i)] - lq[static_cast<size_t>(i)]);
        sum += kl;
        worst = std::max(worst, kl);
        agree += std::max_element(p, p + vocab) - p == std::max_element(q, q + vocab) - q;
      }
      all_kl += sum;
      all_rows += rows;
      all_agree += agree;
      std::printf("%5zu %7zu %7lld %7lld %8lld %12.3e %12.3e %7.2f%%\n", t + 1, prompt.size(),
                  static_cast<long long>(reuse.moved), static_cast<long long>(reuse.dropped()), static_cast<long long>(rows),
                  sum / static_cast<double>(rows), worst, 100.0 * static_cast<double>(agree) / static_cast<double>(rows));
    }
    // The reply as the coach wrote it joins the cache.
    const auto reply = tokenizer.encode(coach["raw"].get<std::string>());
    if (!reply.empty()) kept.eval(reply);
    cached = prompt;
    cached.insert(cached.end(), reply.begin(), reply.end());
  }
  if (all_rows > 0)
    std::printf("all %d compared turns: %lld positions, KL mean %.3e nats, top-1 %.2f%%\n", compared,
                static_cast<long long>(all_rows), all_kl / static_cast<double>(all_rows),
                100.0 * static_cast<double>(all_agree) / static_cast<double>(all_rows));
  else
    std::printf("no turn moved its cache\n");
  return 0;
}
