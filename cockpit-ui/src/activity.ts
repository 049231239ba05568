// Cast Agent's activity log: every operation the cockpit performed and the daemon's answer.

import type { Activity } from "./api";
import { clear, h } from "./dom";
import { shortId } from "./model";

export class ActivityView {
  private readonly body: HTMLElement;
  private entries: Activity[] = [];

  constructor(container: HTMLElement) {
    this.body = h("tbody");
    container.append(
      h("h2", {}, "Activity"),
      h("p", { class: "muted" }, "Every operation this cockpit performed through the daemon's API, newest first."),
      h(
        "table",
        { class: "grid", id: "activity-table" },
        h("thead", {}, h("tr", {}, h("th", {}, "time"), h("th", {}, "operation"), h("th", {}, "session"), h("th", {}, "outcome"), h("th", {}, "detail"))),
        this.body,
      ),
    );
  }

  add(entries: Activity[]): void {
    if (!entries.length) return;
    this.entries = [...entries.slice().reverse(), ...this.entries].slice(0, 500);
    clear(this.body);
    for (const entry of this.entries) {
      const said = entry.outcome === "ok" ? "" : ` ${entry.message ?? ""}${entry.code ? ` (${entry.code})` : ""}`;
      this.body.append(
        h(
          "tr",
          { class: `o-${entry.outcome}` },
          h("td", {}, entry.at.replace("T", " ").replace("Z", "")),
          h("td", {}, entry.operation),
          h(
            "td",
            {},
            entry.host ? h("span", { class: "host-tag", title: `on ${entry.host}` }, entry.host) : "",
            entry.sessionId ? h("code", { title: entry.sessionId }, shortId(entry.sessionId)) : "",
          ),
          h("td", {}, entry.outcome + (entry.status ? ` ${entry.status}` : "")),
          h("td", {}, (entry.detail ?? "") + said),
        ),
      );
    }
  }
}
