#include "check/eval.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fmt/format.h>
#include <memory>

#include "base/error.hpp"
#include "base/progress.hpp"
#include "base/strings.hpp"
#include "base/utf8.hpp"
#include "check/teacher_forcing.hpp"
#include "coach/governor.hpp"
#include "coach/interpreter_output.hpp"
#include "coach/postprocessor.hpp"
#include "data/chat_example.hpp"
#include "data/tokenized_dataset.hpp"
#include "runtime/request_constraint.hpp"
#include "runtime/role_session.hpp"

namespace josi::check {

using data::DatasetMode;
using json::Json;

namespace {

Stats stats_of(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  const auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))]; };
  s.mean = sum / static_cast<double>(v.size());
  s.median = at(0.5);
  s.p95 = at(0.95);
  s.p99 = at(0.99);
  s.max = v.back();
  return s;
}

size_t argmax(std::span<const float> row) {
  return static_cast<size_t>(std::max_element(row.begin(), row.end()) - row.begin());
}

// Order-blind equality of JSON values: a request is right whatever its key order.
bool same_json(const Json& a, const Json& b) { return nlohmann::json::parse(a.dump()) == nlohmann::json::parse(b.dump()); }

// The generative pass of one example.
void score_generation(DatasetMode mode, const data::TokenizedExample& e, const runtime::RoleRun& run, EvalReport& r,
                      std::vector<double>& characters, std::vector<double>& tokens) {
  const std::string& user = e.prompt.back().content;
  if (mode == DatasetMode::interpreter) {
    auto& s = *r.interpreter;
    Json whole;
    s.json += json::try_parse(base::trim(run.text), whole) && whole.is_object();
    s.valid += coach::postprocess(run.text, user).valid;
    Json target;
    json::try_parse(e.target, target);
    const auto request = coach::parse_interpreter_output(run.text);
    const Json got = request ? *request : Json::object();
    s.action += got.contains("action") && target.contains("action") && got["action"] == target["action"];
    s.exact += request && same_json(got, target);
    std::vector<std::string> keys;
    for (const auto& [k, _] : target.items()) keys.push_back(k);
    for (const auto& [k, _] : got.items())
      if (!target.contains(k)) keys.push_back(k);
    for (const auto& k : keys) {
      auto& [right, total] = s.fields[k];
      ++total;
      right += got.contains(k) && target.contains(k) && same_json(got[k], target[k]);
    }
    return;
  }
  auto& s = *r.explainer;
  const std::string text(base::trim(run.text));
  s.governed_unchanged += coach::govern(text) == text;
  s.brace_free += text.find('{') == std::string::npos;
  characters.push_back(static_cast<double>(base::code_points(text)));
  tokens.push_back(static_cast<double>(run.tokens));
}

}  // namespace

Targets seed_targets(DatasetMode mode) { return mode == DatasetMode::interpreter ? Targets{0.01, 0.99} : Targets{1.5, 0.70}; }

EvalReport run_eval(const EvalOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  const runtime::LoadedModel model(o.model);
  std::unique_ptr<infer::Adapter> adapter;
  if (!o.adapter.empty()) adapter = std::make_unique<infer::Adapter>(o.adapter, model.model);
  std::unique_ptr<runtime::LoadedModel> reference;
  if (o.compare) {
    reference = std::make_unique<runtime::LoadedModel>(*o.compare, &model);
    if (reference->vocabulary != model.vocabulary || reference->model.hparams().n_vocab != model.model.hparams().n_vocab)
      throw Error(o.compare->string() + ": another vocabulary than " + o.model.string() + " (--compare needs the same tokens)");
  }
  auto dataset = data::tokenize_dataset(o.data, o.mode, *model.tokenizer, o.max_seq_length);
  auto& examples = dataset.examples;
  if (o.role_targets) {
    const bool requests = *o.role_targets == DatasetMode::interpreter;
    std::erase_if(examples, [&](const data::TokenizedExample& e) { return data::is_request_target(e.target) != requests; });
    if (examples.empty())
      throw Error(o.data.string() + ": no examples with " + (requests ? "request" : "text") + " targets");
  }
  if (o.limit > 0 && examples.size() > o.limit) examples.resize(o.limit);

  EvalReport r;
  r.model = o.model.string() + (adapter ? " + " + o.adapter.string() : "") +
            (o.kv_type == infer::KvType::f16 ? "" : " with a q8_0 KV cache");
  r.data = o.data.string();
  const DatasetMode role_mode = o.role_targets.value_or(o.mode);
  r.mode = data::mode_name(role_mode);
  r.examples = examples.size();
  base::ThreadPool pool(o.threads);
  TeacherForcing scorer(model.model, adapter.get(), pool, o.max_seq_length, o.kv_type);
  std::unique_ptr<TeacherForcing> reference_scorer;
  if (reference) reference_scorer = std::make_unique<TeacherForcing>(reference->model, nullptr, pool, o.max_seq_length);
  std::unique_ptr<base::Progress> progress;
  if (o.progress) progress = std::make_unique<base::Progress>("eval", examples.size() * (o.generate ? 2 : 1), "passes");

  // Teacher forcing, on the model and on the reference.
  double loss = 0, reference_loss = 0;
  int64_t correct = 0, agree = 0;
  std::vector<double> kl, lp, lp_ref;
  const auto vocab = static_cast<size_t>(scorer.n_vocab());
  for (const auto& e : examples) {
    // Each scorer keeps its own logits until its next call: both rows are at hand.
    const auto logits = scorer.answer_logits(e);
    const auto ref = reference_scorer ? reference_scorer->answer_logits(e) : std::span<const float>();
    const int64_t rows = e.completion_tokens();
    for (int64_t t = 0; t < rows; ++t) {
      const auto row = logits.subspan(static_cast<size_t>(t) * vocab, vocab);
      const auto target = static_cast<size_t>(e.ids[static_cast<size_t>(e.prompt_tokens + t)]);
      log_softmax(row, lp);
      loss -= lp[target];
      const size_t best = argmax(row);
      correct += best == target;
      if (!reference_scorer) continue;
      const auto ref_row = ref.subspan(static_cast<size_t>(t) * vocab, vocab);
      log_softmax(ref_row, lp_ref);
      double d = 0;
      for (size_t i = 0; i < vocab; ++i) d += std::exp(lp_ref[i]) * (lp_ref[i] - lp[i]);
      kl.push_back(std::max(0.0, d));
      agree += argmax(ref_row) == best;
      reference_loss -= lp_ref[target];
    }
    r.answer_tokens += rows;
    if (progress) progress->advance(1, "teacher forcing");
  }
  const auto n = static_cast<double>(std::max<int64_t>(1, r.answer_tokens));
  r.eval_loss = loss / n;
  r.token_accuracy = static_cast<double>(correct) / n;
  if (reference) r.comparison = EvalReport::Comparison{o.compare->string(), stats_of(kl), static_cast<double>(agree) / n, reference_loss / n};

  // The generative pass, one role session per system prompt (there is one).
  if (o.generate) {
    if (role_mode == DatasetMode::interpreter) r.interpreter.emplace();
    else r.explainer.emplace();
    std::map<std::string, std::unique_ptr<runtime::RoleSession>> roles;
    std::unique_ptr<runtime::RequestConstraint> constraints;
    if (role_mode == DatasetMode::interpreter && o.constrain)
      constraints = std::make_unique<runtime::RequestConstraint>(*model.tokenizer, vocab);
    std::vector<double> characters, tokens;
    for (size_t i = 0; i < examples.size(); ++i) {
      const auto& e = examples[i];
      if (progress) progress->advance(1, "generating");
      if (e.prompt.size() != 2 || e.prompt[0].role != "system" || e.prompt[1].role != "user") continue;
      auto& role = roles[e.prompt[0].content];
      if (!role) {
        role = std::make_unique<runtime::RoleSession>(r.mode, model, adapter.get(), pool, o.max_seq_length,
                                                     e.prompt[0].content, o.kv_type);
        role->prepare(std::nullopt);
      }
      std::unique_ptr<constrain::SchemaConstraint> constraint;
      if (constraints) constraint = constraints->start(o.settings.max_tokens);
      const auto run = role->run({e.prompt[1]}, o.settings, o.seed + i, constraint.get(), true);
      score_generation(role_mode, e, run, r, characters, tokens);
      ++r.generated;
    }
    if (r.explainer) {
      r.explainer->characters = stats_of(characters);
      r.explainer->tokens = stats_of(tokens);
    }
  }
  if (progress) progress->done();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

namespace {

Json stats_json(const Stats& s) {
  return {{"mean", s.mean}, {"median", s.median}, {"p95", s.p95}, {"p99", s.p99}, {"max", s.max}};
}

std::string percent(size_t part, size_t whole) {
  return fmt::format("{} ({:.1f}%)", part, whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0);
}

}  // namespace

Json to_json(const EvalReport& r) {
  const Targets t = seed_targets(r.mode == "interpreter" ? DatasetMode::interpreter : DatasetMode::explainer);
  Json out = {{"model", r.model}, {"data", r.data}, {"mode", r.mode}, {"examples", r.examples},
              {"answer_tokens", r.answer_tokens}, {"eval_loss", r.eval_loss}, {"token_accuracy", r.token_accuracy},
              {"targets", {{"eval_loss_below", t.loss}, {"token_accuracy_above", t.accuracy}}},
              {"meets_targets", r.eval_loss < t.loss && r.token_accuracy > t.accuracy}, {"seconds", r.seconds}};
  if (r.comparison) {
    const auto& c = *r.comparison;
    out["compare"] = {{"reference", c.reference}, {"kl", stats_json(c.kl)}, {"top1_agreement", c.top1_agreement},
                      {"reference_eval_loss", c.reference_loss}, {"delta_eval_loss", r.eval_loss - c.reference_loss}};
  }
  if (r.interpreter) {
    const auto& s = *r.interpreter;
    Json fields = Json::object();
    for (const auto& [k, v] : s.fields) fields[k] = {{"right", v.first}, {"of", v.second}};
    out["generation"] = {{"examples", r.generated}, {"raw_json", s.json}, {"valid_after_postprocess", s.valid},
                         {"action_right", s.action}, {"exact_match", s.exact}, {"fields", fields}};
  }
  if (r.explainer) {
    const auto& s = *r.explainer;
    out["generation"] = {{"examples", r.generated}, {"governor_unchanged", s.governed_unchanged}, {"brace_free", s.brace_free},
                         {"characters", stats_json(s.characters)}, {"tokens", stats_json(s.tokens)}};
  }
  return out;
}

std::string to_text(const EvalReport& r) {
  const Targets t = seed_targets(r.mode == "interpreter" ? DatasetMode::interpreter : DatasetMode::explainer);
  std::string out = fmt::format("eval {} on {}: {} ({} examples, {} answer tokens) in {:.1f} s\n", r.mode, r.model, r.data,
                                r.examples, r.answer_tokens, r.seconds);
  out += fmt::format("  eval_loss        {:>10.4f}   target < {:<5}  {}\n", r.eval_loss, t.loss, r.eval_loss < t.loss ? "met" : "MISSED");
  out += fmt::format("  token accuracy   {:>9.2f}%   target > {:.0f}%   {}\n", 100 * r.token_accuracy, 100 * t.accuracy,
                     r.token_accuracy > t.accuracy ? "met" : "MISSED");
  if (r.comparison) {
    const auto& c = *r.comparison;
    out += fmt::format("  against {}: KL per token mean {:.3e}, median {:.3e}, p99 {:.3e} nats; top-1 agreement {:.2f}%; "
                       "eval_loss {:.4f} vs {:.4f} (delta {:+.4f})\n",
                       c.reference, c.kl.mean, c.kl.median, c.kl.p99, 100 * c.top1_agreement, r.eval_loss, c.reference_loss,
                       r.eval_loss - c.reference_loss);
  }
  if (r.interpreter) {
    const auto& s = *r.interpreter;
    out += fmt::format("  generation ({} examples): raw JSON {}, valid after post-processing {}, action right {}, whole "
                       "request right {}\n",
                       r.generated, percent(s.json, r.generated), percent(s.valid, r.generated),
                       percent(s.action, r.generated), percent(s.exact, r.generated));
    std::string fields;
    for (const auto& [k, v] : s.fields) fields += fmt::format("{}{} {}/{}", fields.empty() ? "" : ", ", k, v.first, v.second);
    out += "  fields right: " + fields + "\n";
  }
  if (r.explainer) {
    const auto& s = *r.explainer;
    out += fmt::format("  generation ({} examples): governor leaves unchanged {}, no brace {}, characters mean {:.0f} / "
                       "median {:.0f} / p95 {:.0f}, tokens mean {:.0f}\n",
                       r.generated, percent(s.governed_unchanged, r.generated), percent(s.brace_free, r.generated),
                       s.characters.mean, s.characters.median, s.characters.p95, s.tokens.mean);
  }
  return out;
}

}  // namespace josi::check
