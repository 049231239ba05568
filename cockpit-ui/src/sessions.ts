// The sessions list: grouped by project, live (and waiting) first, with filter and search.
// With other machines named in hosts.toml, one section per machine: this one first, then
// each host by name with its state; without any, the list is exactly the plain one.
// Keyboard: rows use a roving tabindex (one Tab stop for the list); arrows move,
// Enter opens the terminal, k kills, r archives/summons, Delete sacrifices, e events,
// c the Changes pane (sessions that started in a git repository).

import { clear, h } from "./dom";
import type { HostView } from "./api";
import {
  age,
  type Filter,
  groupSessions,
  isLive,
  projectName,
  type SessionRecord,
  sessionKey,
  shortId,
} from "./model";
import { reviewLabel } from "./review";

export interface ListActions {
  open(session: SessionRecord): void;
  kill(session: SessionRecord): void;
  archive(session: SessionRecord): void;
  sacrifice(session: SessionRecord): void;
  events(session: SessionRecord): void;
  changes(session: SessionRecord): void;
}

const FIRST_ROWS = 80;
const BATCH_ROWS = 150;

/** One machine's part of the list; ``host`` is null for this machine. */
interface Machine {
  host: HostView | null;
  sessions: SessionRecord[];
}

const STATE_WORDS: Record<HostView["state"], string> = {
  connecting: "connecting…",
  reachable: "reachable",
  unreachable: "unreachable",
};

export class SessionsView {
  readonly filter: Filter = { text: "", status: "all", archived: false };
  readonly search: HTMLInputElement;
  private readonly list: HTMLElement;
  private readonly count: HTMLElement;
  private sessions: SessionRecord[] = [];
  private hosts: HostView[] = [];
  private hostsError: string | null = null;
  private byId = new Map<string, SessionRecord>();
  private current: string | null = null;
  private renderToken = 0;
  attention = false;
  changes = false;
  review = false;

  constructor(
    root: HTMLElement,
    private readonly actions: ListActions,
  ) {
    this.search = h("input", {
      type: "search",
      id: "session-search",
      placeholder: "Search title, harness, id, project…",
      "aria-label": "Search sessions",
      oninput: () => {
        this.filter.text = this.search.value;
        this.render();
      },
    });
    const status = h(
      "select",
      {
        id: "session-status",
        "aria-label": "Status filter",
        onchange: (event: Event) => {
          this.filter.status = (event.target as HTMLSelectElement).value as Filter["status"];
          this.render();
        },
      },
      h("option", { value: "all" }, "All"),
      h("option", { value: "live" }, "Live"),
      h("option", { value: "finished" }, "Finished"),
    );
    const archived = h("input", {
      type: "checkbox",
      id: "session-archived",
      onchange: (event: Event) => {
        this.filter.archived = (event.target as HTMLInputElement).checked;
        this.render();
      },
    });
    this.count = h("span", { class: "muted", id: "session-count", "aria-live": "polite" });
    this.list = h("div", { class: "session-list", id: "session-list", role: "listbox", "aria-label": "Sessions" });
    this.list.addEventListener("keydown", (event) => this.onKey(event));
    this.list.addEventListener("click", (event) => this.onClick(event));
    root.append(
      h(
        "div",
        { class: "toolbar" },
        this.search,
        status,
        h("label", { class: "check" }, archived, " Archived"),
        this.count,
      ),
      this.list,
    );
  }

  setSessions(sessions: SessionRecord[]): void {
    this.sessions = sessions;
    this.reindex();
    this.render();
  }

  /** The named hosts, each with its sessions tagged with ``host`` (empty: the plain list). */
  setHosts(hosts: HostView[], error: string | null): void {
    this.hosts = hosts;
    this.hostsError = error;
    this.reindex();
    this.render();
  }

  private reindex(): void {
    const all = [...this.sessions, ...this.hosts.flatMap((host) => host.sessions ?? [])];
    this.byId = new Map(all.map((s) => [sessionKey(s), s]));
  }

  get(id: string): SessionRecord | undefined {
    return this.byId.get(id);
  }

  focusList(): void {
    const row = this.rowFor(this.current) ?? this.list.querySelector<HTMLElement>(".row");
    row?.focus();
  }

  /**
   * Rebuild the list. The first FIRST_ROWS rows are built at once (what a window
   * shows); the rest follow in batches between frames, so a thousand sessions
   * do not hold up the first paint. ``data-complete`` is set when all are built.
   */
  render(): void {
    const token = ++this.renderToken;
    const hadFocus = this.list.contains(document.activeElement);
    const now = Date.now();
    const later: [HTMLElement, SessionRecord][] = [];
    const fragment = document.createDocumentFragment();
    const sectioned = this.hosts.length > 0 || this.hostsError !== null;
    const machines: Machine[] = [
      { host: null, sessions: this.sessions },
      ...this.hosts.map((host) => ({ host, sessions: host.sessions ?? [] })),
    ];
    let shown = 0;
    let total = 0;
    if (this.hostsError) fragment.append(h("p", { class: "error hosts-error" }, this.hostsError));
    for (const machine of machines) {
      total += machine.sessions.length;
      const into = sectioned ? machineSection(machine.host) : fragment;
      let here = 0;
      for (const group of groupSessions(machine.sessions, this.filter)) {
        const rows = h("div", { role: "group", "aria-label": group.projectRoot });
        for (const session of group.sessions) {
          if (shown < FIRST_ROWS) rows.append(this.row(session, now));
          else later.push([rows, session]);
          shown++;
          here++;
        }
        into.append(
          h(
            "section",
            { class: "group" },
            h(
              "h3",
              { title: group.projectRoot },
              projectName(group.projectRoot),
              h("span", { class: "muted" }, ` ${group.projectRoot}`),
              group.live ? h("span", { class: "badge" }, `${group.live} live`) : null,
            ),
            rows,
          ),
        );
      }
      if (sectioned) {
        const reachable = machine.host === null || machine.host.state === "reachable";
        if (reachable && here === 0) {
          into.append(h("p", { class: "empty" }, machine.sessions.length ? "No session matches." : "No sessions."));
        }
        fragment.append(into);
      }
    }
    if (!sectioned && shown === 0) {
      fragment.append(
        h("p", { class: "empty" }, this.sessions.length ? "No session matches." : "No sessions yet. Launch one (n)."),
      );
    }
    clear(this.list);
    this.list.append(fragment);
    this.list.dataset.complete = later.length ? "0" : "1";
    this.count.textContent = `${shown} of ${total}`;
    const settle = () => {
      if (!this.current || !this.rowFor(this.current)) {
        this.current = this.list.querySelector<HTMLElement>(".row")?.dataset.session ?? null;
      }
      const row = this.rowFor(this.current);
      if (row) {
        row.tabIndex = 0;
        if (hadFocus) row.focus();
      }
    };
    const wanted = this.current;
    let next = 0;
    const batch = () => {
      if (token !== this.renderToken) return; // a newer render replaced this one
      const end = Math.min(later.length, next + BATCH_ROWS);
      for (; next < end; next++) later[next][0].append(this.row(later[next][1], now));
      if (next < later.length) {
        window.setTimeout(batch, 0);
      } else {
        this.list.dataset.complete = "1";
        if (wanted && wanted === this.current) settle();
      }
    };
    if (later.length && (!wanted || this.rowFor(wanted))) settle();
    if (later.length) window.setTimeout(batch, 0);
    else settle();
  }

  /** Whether the session's own daemon (this machine's, or its host's) has ``feature``. */
  private has(session: SessionRecord, feature: "attention" | "changes" | "review"): boolean {
    if (!session.host) return this[feature];
    return Boolean(this.hosts.find((host) => host.name === session.host)?.features?.[feature]);
  }

  private row(session: SessionRecord, now: number): HTMLElement {
    const live = isLive(session);
    const waiting = session.attention === "awaiting_input";
    const buttons: HTMLElement[] = [
      h("button", { type: "button", tabindex: -1, "data-act": "open" }, live ? "Open" : "Log"),
    ];
    const inGit = this.has(session, "changes") && Boolean(session.git_root);
    if (inGit) buttons.push(h("button", { type: "button", tabindex: -1, "data-act": "changes" }, "Changes"));
    if (live) {
      buttons.push(h("button", { type: "button", tabindex: -1, class: "danger", "data-act": "kill" }, "Kill"));
    } else {
      buttons.push(
        h("button", { type: "button", tabindex: -1, "data-act": "archive" }, session.archived_at ? "Summon" : "Archive"),
        h("button", { type: "button", tabindex: -1, class: "danger", "data-act": "sacrifice" }, "Sacrifice"),
      );
    }
    const attention =
      this.has(session, "attention") && live && session.attention
        ? h(
            "span",
            { class: `attention a-${session.attention}`, title: session.attention_reason || "" },
            waiting ? `waiting${session.attention_reason ? `: ${session.attention_reason}` : ""}` : session.attention,
          )
        : null;
    // Two lines, so the title keeps the width of the panel: what it is, then its details.
    return h(
      "div",
      {
        class: `row${live ? " live" : ""}${waiting ? " waiting" : ""}${session.archived_at ? " archived" : ""}`,
        role: "option",
        tabindex: -1,
        "aria-selected": "false",
        "data-session": sessionKey(session),
        "data-host": session.host,
      },
      h(
        "div",
        { class: "line" },
        h("span", { class: `status s-${session.status}` }, session.status),
        h("span", { class: "title", title: session.title }, session.title || "(untitled)"),
        h("span", { class: "age", title: session.created_at }, age(session.created_at, now)),
      ),
      h(
        "div",
        { class: "line meta" },
        h("span", { class: "harness" }, session.harness),
        session.familiar_id ? h("span", { class: "familiar", title: "familiar" }, session.familiar_id) : null,
        h("code", { class: "sid", title: session.id }, shortId(session.id)),
        session.branch ? h("span", { class: "branch" }, String(session.branch)) : null,
        attention,
        inGit && this.has(session, "review") ? reviewBadge(session) : null,
        h("span", { class: "actions" }, ...buttons),
      ),
    );
  }

  private rowFor(id: string | null): HTMLElement | null {
    if (!id) return null;
    return this.list.querySelector<HTMLElement>(`.row[data-session="${CSS.escape(id)}"]`);
  }

  private sessionOf(el: Element | null): SessionRecord | undefined {
    const row = el?.closest<HTMLElement>(".row");
    return row?.dataset.session ? this.byId.get(row.dataset.session) : undefined;
  }

  private moveTo(row: HTMLElement | null): void {
    if (!row) return;
    this.rowFor(this.current)?.setAttribute("tabindex", "-1");
    this.current = row.dataset.session ?? null;
    row.tabIndex = 0;
    row.focus();
  }

  private onClick(event: MouseEvent): void {
    const target = event.target as HTMLElement;
    const session = this.sessionOf(target);
    if (!session) return;
    const row = target.closest<HTMLElement>(".row");
    if (row) this.moveTo(row);
    const act = target.closest<HTMLElement>("button")?.dataset.act;
    if (act) this.act(act, session);
  }

  private act(act: string, session: SessionRecord): void {
    if (act === "open") this.actions.open(session);
    else if (act === "kill" && isLive(session)) this.actions.kill(session);
    else if (act === "archive" && !isLive(session)) this.actions.archive(session);
    else if (act === "sacrifice" && !isLive(session)) this.actions.sacrifice(session);
    else if (act === "events") this.actions.events(session);
    else if (act === "changes" && this.has(session, "changes") && session.git_root) this.actions.changes(session);
  }

  private onKey(event: KeyboardEvent): void {
    const rows = Array.from(this.list.querySelectorAll<HTMLElement>(".row"));
    const here = (document.activeElement as HTMLElement | null)?.closest<HTMLElement>(".row") ?? null;
    const index = here ? rows.indexOf(here) : -1;
    const session = this.sessionOf(here);
    const keys: Record<string, () => void> = {
      ArrowDown: () => this.moveTo(rows[Math.min(rows.length - 1, index + 1)] ?? null),
      ArrowUp: () => this.moveTo(rows[Math.max(0, index - 1)] ?? null),
      Home: () => this.moveTo(rows[0] ?? null),
      End: () => this.moveTo(rows[rows.length - 1] ?? null),
      Enter: () => session && this.act("open", session),
      k: () => session && this.act("kill", session),
      r: () => session && this.act("archive", session),
      Delete: () => session && this.act("sacrifice", session),
      e: () => session && this.act("events", session),
      c: () => session && this.act("changes", session),
    };
    const handler = keys[event.key];
    if (handler && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      event.stopPropagation();
      handler();
    }
  }
}

/** A machine's section with its heading: "This machine", or a host's name, target and state. */
function machineSection(host: HostView | null): HTMLElement {
  if (host === null) {
    return h(
      "section",
      { class: "machine", "data-host": "", "aria-label": "This machine" },
      h("h2", { class: "machine-head" }, "This machine"),
    );
  }
  const why = host.state === "unreachable" && host.reason ? host.reason : "";
  return h(
    "section",
    { class: `machine m-${host.state}`, "data-host": host.name, "aria-label": `Host ${host.name}` },
    h(
      "h2",
      { class: "machine-head", title: host.target },
      host.name,
      h("span", { class: "muted" }, ` ${host.target}`),
      h("span", { class: `host-state h-${host.state}` }, STATE_WORDS[host.state] ?? host.state),
    ),
    why ? h("p", { class: "host-reason" }, why) : null,
  );
}

function reviewBadge(session: SessionRecord): HTMLElement {
  const state = String(session.review_state ?? "unreviewed");
  return h("span", { class: `review r-${state}`, title: `review: ${reviewLabel(state)}` }, reviewLabel(state));
}
