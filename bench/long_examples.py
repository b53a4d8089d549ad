#!/usr/bin/env python3
"""Writes the training benchmark's data: N explainer-style examples that each
fill the seed's 2,048-token context (a ~1,700-token prompt and a longer answer
that the trainer cuts to fit), so every micro-batch is exactly 4 x 2,048
tokens for josi and for transformers + PEFT alike. Deterministic text, no
tokenizer needed. Usage: long_examples.py N OUT.jsonl"""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPORTS = ["run", "bike", "ski", "strength", "skate"]
SESSIONS = ["easy aerobic", "tempo intervals", "long endurance", "hill repeats", "recovery spin", "threshold blocks"]
ANSWER = [
    "Today is an easy day because yesterday's intervals put real load on your legs, and adaptation happens while you recover.",
    "Keeping the effort conversational lets your aerobic system build capillaries and mitochondria without adding fatigue.",
    "Your readiness is amber, so the plan trades intensity for volume until your heart-rate variability comes back up.",
    "If the session feels too easy, that is the point: the hard work is scheduled for Thursday, when you will be fresh.",
    "Sleep and food matter as much as the training itself this week, so aim for eight hours and a proper dinner.",
]


def example(i: int, system: str) -> dict:
    sport = SPORTS[i % len(SPORTS)]
    request = {"action": "explain", "question": "Why is today an easy day?", "sport": sport}
    lines = []
    for day in range(70):
        session = SESSIONS[(i + day) % len(SESSIONS)]
        lines.append(f"- Day {day + 1}: {session} {sport}, {30 + (i * 7 + day * 5) % 90} min, felt {'good' if (i + day) % 3 else 'tired'}")
    user = ("Why is today an easy day?\n\n[INTERPRETER]\n" + json.dumps(request) + "\n\nCONTEXT:\n- Sport: " + sport +
            "\n- Readiness: Amber\n- Session: Z2 60min Easy aerobic\nHISTORY:\n" + "\n".join(lines))
    answer = " ".join(ANSWER[(i + k) % len(ANSWER)] for k in range(45))
    return {"messages": [{"role": "system", "content": system}, {"role": "user", "content": user},
                         {"role": "assistant", "content": answer}]}


def main() -> None:
    count, out = int(sys.argv[1]), Path(sys.argv[2])
    system = (ROOT / "data" / "prompts" / "explainer_sequential_system.txt").read_text().rstrip("\n")
    out.write_text("".join(json.dumps(example(i, system)) + "\n" for i in range(count)))


if __name__ == "__main__":
    main()
