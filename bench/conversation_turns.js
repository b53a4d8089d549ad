// Prints N turns of one athlete's conversation for `josi chat --jsonl
// --conversation`: the users' v7 .conv exchanges in order (USER messages,
// JOSI replies replayed as the coach's answers), each with the interpreter's
// answer replayed as an answer_question request so that every turn reaches
// the coach; the context is Josi's sample ChatContext with a capped zone.
// Usage: node bench/conversation_turns.js CONV_DIR CONTEXT.json N
const fs = require("fs");
const path = require("path");
const [dir, contextFile, count] = process.argv.slice(2);
const pairs = [];
for (const name of fs.readdirSync(dir).filter((f) => f.endsWith(".conv")).sort()) {
  for (const block of fs.readFileSync(path.join(dir, name), "utf8").split(/^---$/m)) {
    const m = block.match(/^USER:\n([\s\S]*?)\n\nJOSI:\n([\s\S]*?)\s*$/m);
    if (m) pairs.push([m[1].trim(), m[2].trim()]);
  }
}
const context = JSON.parse(fs.readFileSync(contextFile, "utf8"));
context.history = [];
context.grounding = { max_zone_allowed: "Z3", zone_cap_reason: "Accumulated fatigue", zone_load_factor: 1.0, age: 52,
  meso_position: "overload", weekly_load: "82% of target" };
for (let i = 0; i < +count; i++) {
  const [message, reply] = pairs[i % pairs.length];
  // The request as the interpreter writes it (json.dumps spacing, which its output constraint keeps).
  const replay = `{"action": "answer_question", "question": ${JSON.stringify(message)}}`;
  const options = { seed: i + 1, interpreter: { replay }, explainer: { replay: reply } };
  console.log(JSON.stringify({ message, context, options }));
}
