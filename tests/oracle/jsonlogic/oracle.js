"use strict";
// The reference JsonLogic implementation, json-logic-js, behind a pipe.
//
// Reads one JSON line per case from stdin, `[rule, data]`, and writes one JSON line per case
// to stdout, in order: `{"ok": result}` or `{"error": message}`. Values JSON cannot carry are
// written as markers: {"$js": "NaN" | "Infinity" | "-Infinity" | "-0" | "undefined" | "function"}.
const readline = require("readline");
const jsonLogic = require("json-logic-js");

// The `log` operation calls console.log: keep it off the answers.
console.log = () => {};

function encode(value) {
  if (value === undefined) return { $js: "undefined" };
  if (typeof value === "function") return { $js: "function" };
  if (typeof value === "number") {
    if (Number.isNaN(value)) return { $js: "NaN" };
    if (value === Infinity) return { $js: "Infinity" };
    if (value === -Infinity) return { $js: "-Infinity" };
    if (Object.is(value, -0)) return { $js: "-0" };
    return value;
  }
  if (Array.isArray(value)) return value.map(encode);
  if (value !== null && typeof value === "object") {
    const out = {};
    for (const key of Object.keys(value)) out[key] = encode(value[key]);
    return out;
  }
  return value;
}

function answer(line) {
  let rule;
  let data;
  try {
    [rule, data] = JSON.parse(line);
  } catch (error) {
    return { error: "oracle: bad input: " + String(error) };
  }
  try {
    return { ok: encode(jsonLogic.apply(rule, data)) };
  } catch (error) {
    return { error: String(error && error.message ? error.message : error) };
  }
}

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on("line", (line) => {
  process.stdout.write(JSON.stringify(answer(line)) + "\n");
});
