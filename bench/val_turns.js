// Turn inputs for `josi chat --jsonl` from the users' validation split: each
// user turn's message, with a ChatContext rebuilt from its CONTEXT, PROFILE
// and HISTORY blocks, so the runtime lays out the same user turn the model
// was trained on.
// Usage: node bench/val_turns.js VAL.jsonl COUNT [OPTIONS_JSON] [replay] > turns.jsonl
//        COUNT turns, cycling through the file when it has fewer lines; turn i
//        gets seed i, and OPTIONS_JSON is merged into each turn's "options".
//        With "replay" each role replays the users' own answer: the target
//        of val_interpreter.jsonl, or of val_explainer_sequential.jsonl the
//        [INTERPRETER] JSON its user turn shows and the explainer's answer.
const fs = require("fs");
const [file, count, extra, mode] = process.argv.slice(2);
const lines = fs.readFileSync(file, "utf8").split("\n").filter((l) => l.trim());
const options = extra ? JSON.parse(extra) : {};

function contextOf(user) {
  const ctx = {
    athlete_id: "bench", tier: "coach", mode: "coach", persona_id: "balanced", today: "2026-03-14",
    readiness: { state: "Recovered", confidence: 0.8, level: "Green", data_tier: "Good" },
    has_session_context: false, history: [],
  };
  const profile = {};
  for (const block of user.split("\n\n").slice(1)) {
    const [head, ...rows] = block.split("\n");
    for (const row of rows) {
      let m;
      if (head === "CONTEXT:") {
        if ((m = row.match(/^- Readiness: (\w+) \((\w+)\)$/))) Object.assign(ctx.readiness, { level: m[1], state: m[2] });
        else if ((m = row.match(/^- Session: (\S+) ([\d.]+)min "(.*)"(?: \((\w+) phase\))?$/))) {
          ctx.has_session_context = true;
          ctx.planned_session = { intent: m[1], target_zone: m[1], target_duration_min: Number(m[2]), structure_label: m[3] };
          if (m[4]) ctx.planned_session.phase = m[4];
        } else if ((m = row.match(/^- Sport: (.*)$/))) profile.sport = m[1];
        else if ((m = row.match(/^- Level: (.*)$/))) profile.level = m[1];
      } else if (head === "PROFILE:") {
        if ((m = row.match(/^  Name: (.*)$/))) profile.name = m[1];
        else if ((m = row.match(/^  Goal: (.*)$/))) profile.goal_type = m[1];
        else if ((m = row.match(/^  Phase: (.*)$/))) profile.current_phase = m[1];
      } else if (head === "HISTORY:") {
        if ((m = row.match(/^  \[(user|assistant)\]: (.*)$/))) ctx.history.push({ role: m[1], message: m[2], ts: "2026-03-13" });
      }
    }
  }
  if (Object.keys(profile).length) ctx.profile_summary = profile;
  return ctx;
}

const n = Number(count) || lines.length;
for (let i = 0; i < n; i++) {
  const messages = JSON.parse(lines[i % lines.length]).messages;
  const user = messages.find((m) => m.role === "user").content;
  const answer = messages.find((m) => m.role === "assistant").content;
  const message = user.split("\n\nCONTEXT:")[0];
  const turn = { message, context: contextOf(user), options: { seed: i, ...options } };
  if (mode === "replay") {
    const [, interpreted] = user.split("\n\n[INTERPRETER]\n");
    const add = (role, text) => (turn.options[role] = { ...turn.options[role], replay: text });
    if (interpreted === undefined) add("interpreter", answer);
    else {
      add("interpreter", interpreted);
      add("explainer", answer);
    }
  }
  console.log(JSON.stringify(turn));
}
