// The context each role needs on a set of chat rows (unrolled as training
// unrolls them): the prompt's tokens in ChatML, the role's system prompt
// added where a row has none (the app always sends one), plus the answer's
// token budget. Reads JSONL rows on stdin-file argv[2]; writes one JSON
// string per example for `josi tokenize --jsonl --special --count`, and
// with argv[3] = counts file, the per-role summary.
// Usage: node role_context.js ROWS.jsonl PROMPTS_DIR            (texts)
//        node role_context.js ROWS.jsonl PROMPTS_DIR COUNTS     (summary)
const fs = require("fs");
const [rowsFile, promptsDir, countsFile] = process.argv.slice(2);
const prompts = {
  interpreter: fs.readFileSync(`${promptsDir}/josi_v6_interpreter.txt`, "utf8").trim(),
  coach: fs.readFileSync(`${promptsDir}/josi_v6_coach.txt`, "utf8").trim(),
};
const isRequest = (t) => { try { const j = JSON.parse(t); return j && typeof j === "object" && "action" in j; } catch { return false; } };
const chatml = (msgs) => msgs.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join("") + "<|im_start|>assistant\n";
const examples = [];
for (const line of fs.readFileSync(rowsFile, "utf8").split("\n")) {
  if (!line.trim()) continue;
  const msgs = JSON.parse(line).messages;
  msgs.forEach((m, i) => {
    if (m.role !== "assistant") return;
    const role = isRequest(m.content) ? "interpreter" : "coach";
    let prompt = msgs.slice(0, i);
    if (prompt[0].role !== "system") prompt = [{ role: "system", content: prompts[role] }, ...prompt];
    examples.push({ role, text: chatml(prompt) });
  });
}
if (!countsFile) {
  for (const e of examples) console.log(JSON.stringify(e.text));
} else {
  const counts = fs.readFileSync(countsFile, "utf8").trim().split("\n").map(Number);
  const budget = { interpreter: 200, coach: 400 };
  for (const role of ["interpreter", "coach"]) {
    const need = examples.map((e, i) => [e.role, counts[i]]).filter(([r]) => r === role).map(([, c]) => c + budget[role]).sort((a, b) => a - b);
    const q = (p) => need[Math.min(need.length - 1, Math.floor(p * need.length))];
    console.log(`${role.padEnd(12)} ${String(need.length).padStart(4)} examples: prompt + ${budget[role]} answer tokens: min ${need[0]}, median ${q(0.5)}, p95 ${q(0.95)}, max ${need[need.length - 1]}`);
  }
}
