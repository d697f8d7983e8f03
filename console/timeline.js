// The history drawn as SVG: one lane per call (function and what tells calls apart), a bar per
// attempt from scheduled to completed, timers, lock waits and holds, and a row of moments
// (stages reached, events with who sent them). Time is compressed: each gap between two
// moments takes room in proportion to its logarithm, so a 5 ms activity and a 3-day wait are
// both visible; the axis labels give the real times.

import { svg, when, words } from "./dom.js";

const LANE = 26;
const LABEL_WIDTH = 250;
const MARK_ROW = 64;
const MIN_BAR = 8;
const END_ROOM = 40;

function gap(ms) {
  return ms <= 0 ? 0 : 14 + 26 * Math.log10(1 + ms / 1000);
}

function scale(timeline) {
  const times = new Set();
  for (const span of timeline.spans) {
    times.add(Date.parse(span.start));
    if (span.end) times.add(Date.parse(span.end));
  }
  for (const mark of timeline.marks) times.add(Date.parse(mark.time));
  const sorted = [...times].sort((a, b) => a - b);
  const position = new Map();
  let x = LABEL_WIDTH + 10;
  sorted.forEach((t, i) => {
    if (i) x += gap(t - sorted[i - 1]);
    position.set(t, x);
  });
  return { at: (value) => position.get(Date.parse(value)), sorted, position, right: x + END_ROOM };
}

function laneKey(span) {
  if (span.kind === "timer") return `timer · ${span.name}`;
  if (span.kind === "lock") return `lock · ${span.name}`;
  return span.label ? `${span.name} · ${span.label}` : span.name;
}

function tooltip(span) {
  const parts = [laneKey(span), `${words(span.outcome)}${span.attempt > 1 ? ` (attempt ${span.attempt})` : ""}`];
  parts.push(`from ${when(span.start)}`, span.end ? `to ${when(span.end)}` : "still open");
  if (span.detail) parts.push(span.detail);
  return parts.join("\n");
}

function bar(span, row, x) {
  const y = MARK_ROW + row * LANE + 5;
  const start = x.at(span.start);
  const end = span.end ? x.at(span.end) : x.right - 8;
  const width = Math.max(end - start, MIN_BAR);
  const failed = span.outcome === "failed" || span.outcome === "retried";
  return svg(
    "g",
    {
      class: `span ${span.kind} ${span.outcome}`,
      "data-name": span.name,
      "data-label": span.label || "",
      "data-outcome": span.outcome,
      "data-attempt": span.attempt,
    },
    svg("title", {}, tooltip(span)),
    svg("rect", { x: start, y, width, height: LANE - 10, rx: 3 }),
    failed ? svg("text", { class: "cross", x: start + width + 3, y: y + 12 }, "✕") : null,
    span.attempt > 1 ? svg("text", { class: "attempt", x: start + 2, y: y - 1 }, `#${span.attempt}`) : null,
  );
}

const MARK_ROWS = 3;
const CHAR_WIDTH = 6.5;

/** Put each moment's label on the first of three rows where it does not overlap another. */
function placeMarks(marks, x) {
  const rowEnds = new Array(MARK_ROWS).fill(-Infinity);
  return marks.map((mark) => {
    const at = x.at(mark.time);
    const text = mark.kind === "event" ? `${mark.name}${mark.actor ? ` by ${mark.actor}` : ""}` : words(mark.name);
    let row = rowEnds.findIndex((end) => end < at);
    if (row < 0) row = rowEnds.indexOf(Math.min(...rowEnds));
    rowEnds[row] = at + 14 + text.length * CHAR_WIDTH;
    return { mark, at, text, row };
  });
}

function moment({ mark, at, text, row }) {
  const y = 14 + row * 16;
  return svg(
    "g",
    { class: `mark ${mark.kind}`, "data-name": mark.name, "data-actor": mark.actor || "" },
    svg("title", {}, [text, when(mark.time), mark.detail].filter(Boolean).join("\n")),
    svg("line", { x1: at, x2: at, y1: y + 3, y2: MARK_ROW - 4 }),
    mark.kind === "event"
      ? svg("path", { d: `M${at} ${y - 5} l5 5 l-5 5 l-5 -5 z` })
      : svg("circle", { cx: at, cy: y, r: 4 }),
    svg("text", { x: at + 8, y: y + 4 }, text),
  );
}

function axis(x, height) {
  const ticks = [];
  let last = -Infinity;
  let lastDay = "";
  for (const t of x.sorted) {
    const at = x.position.get(t);
    if (at - last < 90) continue;
    last = at;
    const stamp = new Date(t).toISOString();
    const day = stamp.slice(0, 10);
    const label = day === lastDay ? stamp.slice(11, 19) : `${day} ${stamp.slice(11, 19)}`;
    lastDay = day;
    ticks.push(
      svg("g", { class: "tick" }, svg("line", { x1: at, x2: at, y1: MARK_ROW - 4, y2: height - 18 }), svg("text", { x: at, y: height - 4 }, label)),
    );
  }
  return ticks;
}

/** The SVG picture of a timeline from GET /api/workflows/{id}/history. */
export function drawTimeline(timeline) {
  const x = scale(timeline);
  const lanes = [];
  const laneOf = new Map();
  for (const span of timeline.spans) {
    const key = laneKey(span);
    if (!laneOf.has(key)) {
      laneOf.set(key, lanes.length);
      lanes.push(key);
    }
  }
  const height = MARK_ROW + lanes.length * LANE + 28;
  const width = Math.max(x.right + 120, 900);
  return svg(
    "svg",
    { id: "timeline", class: "timeline", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "History timeline" },
    ...axis(x, height),
    ...lanes.map((key, row) =>
      svg(
        "g",
        { class: "lane" },
        svg("rect", { class: "lane-band", x: 0, y: MARK_ROW + row * LANE, width, height: LANE }),
        svg("text", { class: "lane-label", x: 6, y: MARK_ROW + row * LANE + 17 }, key),
      ),
    ),
    ...timeline.spans.map((span) => bar(span, laneOf.get(laneKey(span)), x)),
    ...placeMarks(timeline.marks, x).map(moment),
  );
}
