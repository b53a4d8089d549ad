#!/usr/bin/env node
// The report of bench/turn.sh (and of bench/phone.sh's device run) from the
// josi chat --jsonl results in WORK: first (interpreter turns filling the
// prefix cache), cached (full turns from the cache), uncached (--no-cache)
// and free (--no-constrain), each NAME.jsonl with its NAME.err log.
// Usage: node bench/turn_report.js WORK INTERPRETER_BYTES EXPLAINER_BYTES PEAK_KIB|-
const fs = require("fs");
const [work, f1, f2, kib] = process.argv.slice(2);  // kib: peak resident KiB, "-" when not measured
const read = (n) => fs.readFileSync(`${work}/${n}.jsonl`, "utf8").trim().split("\n").map(JSON.parse);
const prefixes = (n) => fs.readFileSync(`${work}/${n}.err`, "utf8").split("\n").filter((l) => l.includes(" prefix "));
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const cached = read("cached"), uncached = read("uncached"), free = read("free"), first = read("first");
const t = (rows, k) => mean(rows.map((r) => r.timings_ms[k]));
const row = (name, value, note = "") => console.log(name.padEnd(44) + String(value).padStart(14) + "  " + note);
const prefixSeconds = (lines) => lines.map((l) => Number(l.match(/in ([\d.]+) s/)[1])).reduce((a, b) => a + b, 0);

console.log(`${cached.length} turns, messages from val_interpreter.jsonl, the users' prompts; models of ${(f1 / 1e6).toFixed(0)} and ${(f2 / 1e6).toFixed(0)} MB`);
const ttftCached = t(cached, "interpreter_first_token"), ttftUncached = t(uncached, "interpreter_first_token");
row("interpreter first token, cached prefix (ms)", ttftCached.toFixed(0));
row("interpreter first token, --no-cache (ms)", ttftUncached.toFixed(0), `cached/uncached ${(ttftCached / ttftUncached).toFixed(3)} (target <= 0.1)`);
row("  prompt tokens: prefix reused / whole", `${mean(cached.map((r) => r.cache.interpreter_prefix_tokens)).toFixed(0)} / ${mean(cached.map((r) => r.interpreter.prompt_tokens)).toFixed(0)}`);
const evaluated = prefixSeconds(prefixes("first")), loaded = prefixSeconds(prefixes("cached"));
row("prefixes at start: evaluated (s)", evaluated.toFixed(2), prefixes("first").join("; ").replace(/chat: /g, ""));
row("prefixes at restart: from cache files (s)", loaded.toFixed(2), `${(evaluated / loaded).toFixed(0)}x faster; ${prefixes("cached").join("; ").replace(/chat: /g, "")}`);
const interp = cached.map((r) => r.timings_ms.interpreter_prompt + r.timings_ms.interpreter_generate);
row("interpreter turn (ms)", mean(interp).toFixed(0), `${mean(cached.map((r) => r.interpreter.tokens)).toFixed(0)} tokens generated on average`);
const ex = cached.filter((r) => r.explainer);
if (ex.length) row("explainer turn (ms)", mean(ex.map((r) => r.timings_ms.explainer_prompt + r.timings_ms.explainer_generate)).toFixed(0),
  `${ex.length} of ${cached.length} turns; ${mean(ex.map((r) => r.explainer.tokens)).toFixed(0)} tokens, prompt ${mean(ex.map((r) => r.explainer.prompt_tokens - r.cache.explainer_prefix_tokens)).toFixed(0)} uncached tokens`);
row("whole turn (ms)", t(cached, "total").toFixed(0));
const perToken = (rows, k) => 1000 * mean(rows.map((r) => r.timings_ms[k] / Math.max(1, r.interpreter.tokens)));
const constraint = perToken(first.concat(cached), "interpreter_constraint");
const sampleC = perToken(first.concat(cached), "interpreter_sample"), sampleF = perToken(free, "interpreter_sample");
const genToken = perToken(first.concat(cached), "interpreter_generate");
row("constraint per token (us)", constraint.toFixed(1), `${(100 * constraint / genToken).toFixed(2)}% of a generated token's ${(genToken / 1000).toFixed(1)} ms (target <= 10%)`);
row("sampler per token, constrained (us)", sampleC.toFixed(1));
row("sampler per token, --no-constrain (us)", sampleF.toFixed(1));
const valid = (rows) => rows.filter((r) => r.interpreter.valid).length;
row("interpreter output valid: constrained", `${valid(first.concat(cached))}/${first.length + cached.length}`, `--no-constrain: ${valid(free)}/${free.length}`);
const kv = 2 * 28 * 2048 * 256 * 2 * 2;  // both roles: layers x context x kv width x (K, V) x f16
const target = Number(f1) + Number(f2) + kv + 250e6, rss = Number(kib) * 1024;
const targetText = `target ${(Number(f1) / 1e6).toFixed(0)} + ${(Number(f2) / 1e6).toFixed(0)} + KV ${(kv / 1e6).toFixed(0)} + 250 = ${(target / 1e6).toFixed(0)} MB`;
if (kib === "-") row("peak resident, both models + a turn (MB)", "-", `not measured; ${targetText}`);
else row("peak resident, both models + a turn (MB)", (rss / 1e6).toFixed(0), `${targetText} (${(rss / target).toFixed(2)}x)`);

// Replays of the users' real answers, forced-token batching and speculation on
// against off (plain constrained decoding, one forward pass per token).
// WORK/bench.json (josi bench --json on the interpreter file), when there, gives the
// read bandwidth that bounds a pass.
const exists = (n) => fs.existsSync(`${work}/${n}.jsonl`);
const bench = fs.existsSync(`${work}/bench.json`) ? JSON.parse(fs.readFileSync(`${work}/bench.json`, "utf8")) : null;
for (const role of ["interpreter", "explainer"]) {
  if (!exists(`replay_${role}_on`) || !exists(`replay_${role}_off`)) continue;
  const on = read(`replay_${role}_on`).map((r) => r[role]), off = read(`replay_${role}_off`).map((r) => r[role]);
  // With batching on, the prompt's pass also carries the answer's first drafts;
  // what that pass takes beyond the plain prompt pass counts as generation.
  const ms = (run, k) => read(run).map((r) => r.timings_ms[`${role}_${k}`]);
  const offPrompt = ms(`replay_${role}_off`, "prompt"), offMs = ms(`replay_${role}_off`, "generate");
  const onPrompt = ms(`replay_${role}_on`, "prompt");
  const onMs = ms(`replay_${role}_on`, "generate").map((g, i) => g + onPrompt[i] - offPrompt[i]);
  const sum = (rows, f) => rows.reduce((a, r) => a + f(r), 0);
  const same = on.every((r, i) => r.raw === off[i].raw);
  const tokens = sum(on, (r) => r.tokens), passesOn = sum(on, (r) => r.decoding.forward_passes + 1);
  const passesOff = sum(off, (r) => r.decoding.forward_passes + 1);  // + the prompt's pass, which picks the first token
  const drafted = sum(on, (r) => r.decoding.drafted_tokens), kept = sum(on, (r) => r.decoding.accepted_draft_tokens);
  const fixed = sum(on, (r) => r.decoding.fixed_text_tokens), fixedKept = sum(on, (r) => r.decoding.accepted_fixed_text_tokens);
  console.log(`\n${role}: ${on.length} replayed answers of the users' val split, ${(tokens / on.length).toFixed(1)} tokens each; answers identical on and off: ${same}`);
  row("  passes per answer: on / off", `${(passesOn / on.length).toFixed(1)} / ${(passesOff / on.length).toFixed(1)}`,
    `${(passesOff / passesOn).toFixed(2)}x fewer; ${(tokens / passesOn).toFixed(2)} tokens per pass`);
  row("  generation per answer (ms): on / off", `${mean(onMs).toFixed(0)} / ${mean(offMs).toFixed(0)}`,
    `${(mean(offMs) / mean(onMs)).toFixed(2)}x faster (prompt pass ${mean(offPrompt).toFixed(0)} ms off, its drafts counted as generation on)`);
  row("  drafts kept", `${kept} / ${drafted}`, `${(100 * kept / Math.max(1, drafted)).toFixed(1)}% acceptance; fixed text ${fixedKept} / ${fixed}, forced tokens ${sum(on, (r) => r.decoding.forced_tokens)}`);
  if (bench) {
    const msPerToken = sum(offMs, (x) => x) / Math.max(1, tokens - off.length);  // the first token comes from the prompt's pass
    const limitMs = 1000 * bench.bytes_per_token / bench.read_bandwidth_bytes_per_s;
    row("  plain decoding per token (ms)", msPerToken.toFixed(1), `${(100 * limitMs / msPerToken).toFixed(0)}% of the read-bandwidth limit (${limitMs.toFixed(1)} ms: ${(bench.bytes_per_token / 1e6).toFixed(0)} MB at ${(bench.read_bandwidth_bytes_per_s / 1e9).toFixed(1)} GB/s)`);
  }
}
