// Diagnostics: the daemon's health and store state, what it can do, its harnesses, and
// per session its events (kinds, times), exit details, log and attention history.

import { type Context, describe, sessionGet } from "./api";
import { clear, h } from "./dom";
import type { SessionRecord } from "./model";

interface EventRecord {
  seq: number;
  kind: string;
  created_at: string;
  payload_json: string;
}

function bytes(n: unknown): string {
  if (typeof n !== "number") return "–";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(1)} GiB`;
}

function facts(rows: [string, unknown][]): HTMLElement {
  return h(
    "dl",
    { class: "facts" },
    ...rows.flatMap(([name, value]) => [
      h("dt", {}, name),
      h("dd", {}, value === undefined || value === null ? "–" : String(value)),
    ]),
  );
}

export class DiagnosticsView {
  private readonly daemon: HTMLElement;
  private readonly session: HTMLElement;
  private selected: SessionRecord | null = null;
  private lastHealth = "";

  constructor(container: HTMLElement) {
    this.daemon = h("div", { id: "diag-daemon" });
    this.session = h("div", { id: "diag-session" }, h("p", { class: "muted" }, "Choose a session (e on its row) to see its events here."));
    container.append(h("h2", {}, "Diagnostics"), this.session, this.daemon);
  }

  update(ctx: Context): void {
    const key = JSON.stringify([ctx.daemon, ctx.harnesses, ctx.features]);
    if (key === this.lastHealth) return;
    this.lastHealth = key;
    clear(this.daemon);
    if (!ctx.daemon.reachable) {
      this.daemon.append(h("p", { class: "error" }, `Daemon unreachable: ${ctx.daemon.reason}`));
      return;
    }
    const health = ctx.daemon.health;
    const daemon = health.daemon ?? {};
    const storage = health.storage ?? {};
    const writer = health.eventWriter ?? {};
    this.daemon.append(
      h("h3", {}, "Daemon"),
      facts([
        ["ok", health.ok],
        ["API", health.apiVersion],
        ["Coven", health.covenVersion],
        ["pid", daemon.pid],
        ["socket", daemon.socket],
        ["started", daemon.startedAt ?? daemon.started_at],
        ["live sessions", health.liveSessions],
      ]),
      h("h3", {}, "Store"),
      facts([
        ["status", storage.status],
        ["database", bytes(storage.databaseBytes)],
        ["write-ahead log", bytes(storage.walBytes)],
        ["free disk", bytes(storage.freeDiskBytes)],
        ["writer", writer.state],
        ["writer backlog", `${writer.queuedEvents ?? 0} events, ${bytes(writer.queuedBytes)}`],
        ["committed events", writer.committedEvents],
        ["output dropped", `${writer.droppedOutputEvents ?? 0} events, ${bytes(writer.droppedOutputBytes)}`],
        ["last error", writer.lastError],
      ]),
      h("h3", {}, "Harnesses"),
      h(
        "ul",
        { class: "harnesses" },
        ...ctx.harnesses.map((x) =>
          h(
            "li",
            {},
            h("strong", {}, x.id),
            x.available === true ? " available" : x.available === false ? ` missing — ${x.reason || x.installHint || ""}` : ` availability unknown — ${x.reason ?? ""}`,
          ),
        ),
      ),
      h("h3", {}, "Capabilities"),
      facts(Object.entries(health.capabilities ?? {}).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") || "none" : v])),
      h("h3", {}, "Cockpit features on this daemon"),
      facts(Object.entries(ctx.features).map(([k, v]) => [k, v ? "available" : "not available on this daemon"])),
    );
  }

  async show(session: SessionRecord, attention: boolean): Promise<void> {
    this.selected = session;
    clear(this.session);
    const table = h("tbody");
    const more = h("button", { type: "button", hidden: true }, "Load more events");
    const exit = h("div");
    const log = h("pre", { class: "log" });
    this.session.append(
      h("h3", {}, "Session ", h("code", {}, session.id), session.host ? ` on ${session.host}` : ""),
      facts([
        ["title", session.title],
        ["harness", session.harness],
        ["status", session.status],
        ["exit code", session.exit_code],
        ["project root", session.project_root],
        ["created", session.created_at],
        ["updated", session.updated_at],
        ["archived", session.archived_at],
      ]),
      exit,
      attention ? "" : h("p", { class: "muted" }, "Attention history: not available on this daemon."),
      h("h4", {}, "Events"),
      h("table", { class: "grid", id: "diag-events" }, h("thead", {}, h("tr", {}, h("th", {}, "seq"), h("th", {}, "kind"), h("th", {}, "time"), h("th", {}, "detail"))), table),
      more,
      h("h4", {}, "Log"),
      log,
    );
    let after = 0;
    const load = async () => {
      try {
        const page = await sessionGet(session, `/events?afterSeq=${after}&limit=200`);
        if (this.selected !== session) return;
        for (const event of page.events as EventRecord[]) {
          table.append(h("tr", { class: `k-${event.kind}` }, h("td", {}, String(event.seq)), h("td", {}, event.kind), h("td", {}, event.created_at), h("td", {}, summary(event))));
          if (event.kind === "exit") {
            clear(exit);
            exit.append(h("p", {}, `Exit: ${summary(event)}`));
          }
        }
        after = page.nextCursor?.afterSeq ?? after;
        more.hidden = !page.hasMore;
      } catch (error) {
        table.append(h("tr", {}, h("td", { colspan: 4, class: "error" }, describe(error))));
      }
    };
    more.addEventListener("click", () => void load());
    this.session.scrollIntoView({ block: "start" });
    await load();
    try {
      const lines = (await sessionGet(session, "/log")) as { ts: string; level: string; message: string }[];
      log.textContent = lines.map((l) => `${l.ts} ${l.level.padEnd(5)} ${l.message}`).join("\n") || "(empty)";
    } catch (error) {
      log.textContent = describe(error);
    }
  }
}

function summary(event: EventRecord): string {
  let payload: any = null;
  try {
    payload = JSON.parse(event.payload_json);
  } catch {
    return "";
  }
  if (event.kind === "output" || event.kind === "input") {
    return `${(payload?.data ?? "").length} characters`;
  }
  if (event.kind === "exit") {
    return `${payload?.status ?? ""}${payload?.exitCode !== undefined && payload?.exitCode !== null ? `, exit code ${payload.exitCode}` : ""}`;
  }
  if (event.kind === "attention") {
    return `${payload?.state ?? ""}${payload?.reason ? `: ${payload.reason}` : ""}`;
  }
  const text = JSON.stringify(payload);
  return text.length > 160 ? `${text.slice(0, 160)}…` : text;
}
