// The cockpit app: wires Cast Agent's context to the views and the terminal panes.
// One poll of /cockpit/context every POLL_MS keeps the list, health and activity live;
// sessions are sent again only when their digest changed. With machines named in
// hosts.toml, /cockpit/hosts is polled beside it and each host's sessions get a section.

import { ActivityView } from "./activity";
import {
  type Context,
  describe,
  type Features,
  getContext,
  getHosts,
  type HostsDoc,
  type HostView,
  sessionPost,
} from "./api";
import { confirmKill, confirmSacrifice } from "./dialogs";
import { DiagnosticsView } from "./diagnostics";
import { byId, inField } from "./dom";
import { ChangesPane } from "./changes";
import { LaunchView } from "./launch";
import { isLive, newlyFinished, newlyWaiting, type SessionRecord, sessionKey } from "./model";
import { Notifier } from "./notify";
import { SessionsView } from "./sessions";
import type { TerminalPane } from "./terminal";

// xterm.js is most of the app's bytes: load it after the first paint, not before.
const terminalModule = () => import("./terminal");

const POLL_MS = 1500;
type View = "sessions" | "launch" | "diagnostics" | "activity";

class Cockpit {
  private ctx: Context | null = null;
  private digest = "";
  private activitySeq = 0;
  private known = new Map<string, SessionRecord>();
  // Other machines: their sessions (tagged with ``host``), digests and features, by host name.
  private hostsWanted = false;
  private hostsTimer = 0;
  private hostViews: HostView[] = [];
  private hostSessions = new Map<string, SessionRecord[]>();
  private hostDigests = new Map<string, string>();
  private hostKnown = new Map<string, SessionRecord>();
  readonly panes = new Map<string, TerminalPane>();
  readonly changes = new Map<string, ChangesPane>();
  private readonly sessions: SessionsView;
  private readonly launch: LaunchView;
  private readonly diagnostics: DiagnosticsView;
  private readonly activity: ActivityView;
  private readonly notifier: Notifier;
  private readonly panesEl = byId("panes");
  private timer = 0;
  firstPaint = 0;

  constructor() {
    this.sessions = new SessionsView(byId("view-sessions"), {
      open: (s) => void this.openPane(s),
      kill: (s) => void this.kill(s),
      archive: (s) => void this.archive(s),
      sacrifice: (s) => void this.sacrifice(s),
      events: (s) => {
        this.show("diagnostics");
        void this.diagnostics.show(s, this.featuresFor(s)?.attention ?? false);
      },
      changes: (s) => void this.openChanges(s),
    });
    this.launch = new LaunchView(byId("view-launch"), (session, open) => {
      this.show("sessions");
      if (open) void this.openPane(session);
      void this.refresh();
      if (this.hostsWanted) void this.pollHosts();
    });
    this.diagnostics = new DiagnosticsView(byId("view-diagnostics"));
    this.activity = new ActivityView(byId("view-activity"));
    this.notifier = new Notifier(byId<HTMLButtonElement>("notify-toggle"));
    for (const tab of document.querySelectorAll<HTMLButtonElement>("[role=tab]")) {
      tab.addEventListener("click", () => this.show(tab.dataset.view as View));
    }
    document.addEventListener("keydown", (event) => this.globalKey(event));
  }

  async start(): Promise<void> {
    await this.refresh();
    this.firstPaint = performance.now();
    document.body.dataset.ready = "1";
    void terminalModule();
  }

  show(view: View): void {
    for (const tab of document.querySelectorAll<HTMLButtonElement>("[role=tab]")) {
      const on = tab.dataset.view === view;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
    }
    for (const name of ["sessions", "launch", "diagnostics", "activity"]) {
      byId(`view-${name}`).hidden = name !== view;
    }
    if (view === "launch") this.launch.focus();
    if (view === "sessions") this.sessions.focusList();
  }

  async refresh(): Promise<void> {
    window.clearTimeout(this.timer);
    try {
      const ctx = await getContext(this.digest, this.activitySeq);
      this.apply(ctx);
    } catch (error) {
      this.pill(false, `cockpit unreachable: ${describe(error)}`);
    } finally {
      this.timer = window.setTimeout(() => void this.refresh(), POLL_MS);
    }
  }

  private apply(ctx: Context): void {
    this.ctx = ctx;
    if (ctx.daemon.reachable) {
      const h = ctx.daemon.health;
      this.pill(true, `daemon ${h.covenVersion ?? ""} · ${h.liveSessions ?? 0} live`);
    } else {
      this.pill(false, ctx.daemon.reason);
    }
    this.sessions.attention = ctx.features.attention;
    this.sessions.changes = ctx.features.changes;
    this.sessions.review = ctx.features.review;
    if (ctx.sessions) {
      const sessions = ctx.sessions;
      for (const s of newlyFinished(this.known, sessions)) this.notifier.finished(s);
      if (ctx.features.attention) for (const s of newlyWaiting(this.known, sessions)) this.notifier.waiting(s);
      this.known = new Map(sessions.map((s) => [s.id, s]));
      this.digest = ctx.sessionsDigest;
      this.sessions.setSessions(sessions);
      for (const [id, pane] of this.panes) {
        const fresh = this.known.get(id);
        if (fresh) pane.update(fresh);
      }
      for (const [id, pane] of this.changes) {
        const fresh = this.known.get(id);
        if (fresh) pane.update(fresh);
      }
    }
    this.launch.update(ctx.harnesses, ctx.features, ctx.cockpit.defaultProjectRoot);
    this.diagnostics.update(ctx);
    this.activity.add(ctx.activity);
    this.activitySeq = ctx.activitySeq;
    const wanted = (ctx.hosts?.configured ?? 0) > 0 || Boolean(ctx.hosts?.rosterError);
    if (wanted && !this.hostsWanted) {
      this.hostsWanted = true;
      void this.pollHosts();
    } else if (!wanted && this.hostsWanted) {
      this.hostsWanted = false;
      window.clearTimeout(this.hostsTimer);
      this.applyHosts({ hosts: [], rosterError: null });
    }
  }

  private async pollHosts(): Promise<void> {
    window.clearTimeout(this.hostsTimer);
    try {
      const doc = await getHosts(this.hostDigests);
      if (this.hostsWanted) this.applyHosts(doc);
    } catch {
      // The cockpit itself is unreachable: the pill already says so.
    } finally {
      if (this.hostsWanted) this.hostsTimer = window.setTimeout(() => void this.pollHosts(), POLL_MS);
    }
  }

  private applyHosts(doc: HostsDoc): void {
    const views: HostView[] = [];
    for (const host of doc.hosts) {
      if (host.state !== "reachable") {
        this.hostSessions.delete(host.name);
        this.hostDigests.delete(host.name);
      } else if (host.sessions) {
        const tagged = host.sessions.map((s) => ({ ...s, host: host.name }));
        for (const s of newlyFinished(this.hostKnown, tagged)) this.notifier.finished(s);
        if (host.features?.attention) for (const s of newlyWaiting(this.hostKnown, tagged)) this.notifier.waiting(s);
        this.hostSessions.set(host.name, tagged);
        this.hostDigests.set(host.name, host.sessionsDigest ?? "");
      }
      views.push({ ...host, sessions: this.hostSessions.get(host.name) ?? [] });
    }
    const names = new Set(views.map((view) => view.name));
    for (const name of [...this.hostSessions.keys()]) {
      if (!names.has(name)) {
        this.hostSessions.delete(name);
        this.hostDigests.delete(name);
      }
    }
    this.hostViews = views;
    this.hostKnown = new Map(views.flatMap((view) => view.sessions ?? []).map((s) => [sessionKey(s), s]));
    this.sessions.setHosts(views, doc.rosterError);
    this.launch.setHosts(views);
    for (const [key, pane] of this.panes) {
      const fresh = this.hostKnown.get(key);
      if (fresh) pane.update(fresh);
    }
    for (const [key, pane] of this.changes) {
      const fresh = this.hostKnown.get(key);
      if (fresh) pane.update(fresh);
    }
  }

  /** The features of the session's own daemon: this machine's, or its host's. */
  private featuresFor(session: SessionRecord): Features | undefined {
    if (!session.host) return this.ctx?.features;
    return this.hostViews.find((view) => view.name === session.host)?.features;
  }

  private pill(ok: boolean, text: string): void {
    const pill = byId("daemon-pill");
    pill.textContent = text;
    pill.className = `pill ${ok ? "ok" : "bad"}`;
  }

  async openPane(session: SessionRecord): Promise<void> {
    const key = sessionKey(session);
    const existing = this.panes.get(key);
    if (existing) {
      existing.focus();
      return;
    }
    const { TerminalPane } = await terminalModule();
    if (this.panes.has(key)) return;
    byId("panes-empty").hidden = true;
    const features = this.featuresFor(session);
    const pane = new TerminalPane(session, {
      close: (p) => this.closePane(p),
      kill: (s) => void this.kill(s),
      leave: () => {
        this.show("sessions");
      },
      changes: features?.changes && session.git_root ? (s) => void this.openChanges(s) : undefined,
    });
    this.panes.set(key, pane);
    this.panesEl.append(pane.element);
    pane.open();
    pane.focus();
  }

  private closePane(pane: TerminalPane): void {
    pane.dispose();
    pane.element.remove();
    this.panes.delete(sessionKey(pane.session));
    byId("panes-empty").hidden = this.panes.size + this.changes.size > 0;
    this.sessions.focusList();
  }

  /** The session's Changes pane beside the terminals (one per session; opening again focuses it). */
  async openChanges(session: SessionRecord): Promise<void> {
    const features = this.featuresFor(session);
    if (!features?.changes) {
      this.toast("Changes: not available on this daemon");
      return;
    }
    const key = sessionKey(session);
    const existing = this.changes.get(key);
    if (existing) {
      existing.focus();
      return;
    }
    byId("panes-empty").hidden = true;
    const fresh = session.host ? this.hostKnown.get(key) : this.known.get(key);
    const pane = new ChangesPane(fresh ?? session, features, {
      close: (p) => {
        p.element.remove();
        this.changes.delete(sessionKey(p.session));
        byId("panes-empty").hidden = this.panes.size + this.changes.size > 0;
        this.sessions.focusList();
      },
      changed: () => {
        void this.refresh();
        if (this.hostsWanted) void this.pollHosts();
      },
    });
    this.changes.set(key, pane);
    this.panesEl.append(pane.element);
    await pane.load();
    pane.focus();
  }

  private async ritual(label: string, run: () => Promise<unknown>): Promise<void> {
    try {
      await run();
      this.toast(`${label}: done`);
    } catch (error) {
      this.toast(`${label} refused: ${describe(error)}`);
    }
    await this.refresh();
    if (this.hostsWanted) await this.pollHosts();
  }

  private async kill(session: SessionRecord): Promise<void> {
    if (!isLive(session) || !(await confirmKill(session))) return;
    await this.ritual("Kill", () => sessionPost(session, "/kill"));
  }

  private async archive(session: SessionRecord): Promise<void> {
    const summon = Boolean(session.archived_at);
    await this.ritual(summon ? "Summon" : "Archive", () =>
      sessionPost(session, summon ? "/summon" : "/archive"),
    );
  }

  private async sacrifice(session: SessionRecord): Promise<void> {
    if (isLive(session) || !(await confirmSacrifice(session))) return;
    const pane = this.panes.get(sessionKey(session));
    await this.ritual("Sacrifice", async () => {
      await sessionPost(session, "/sacrifice", { confirm: session.id });
      if (pane) this.closePane(pane);
    });
  }

  private toast(text: string): void {
    const toast = byId("toast");
    toast.textContent = text;
    toast.hidden = false;
    window.setTimeout(() => {
      if (toast.textContent === text) toast.hidden = true;
    }, 5000);
  }

  private globalKey(event: KeyboardEvent): void {
    if (event.ctrlKey || event.metaKey || event.altKey || inField(event)) return;
    if (document.querySelector("dialog[open]")) return;
    const views: Record<string, View> = { s: "sessions", n: "launch", d: "diagnostics", a: "activity" };
    if (event.key === "/") {
      event.preventDefault();
      this.show("sessions");
      this.sessions.search.focus();
    } else if (views[event.key]) {
      event.preventDefault();
      this.show(views[event.key]);
    } else if (event.key === "Escape") {
      this.show("sessions");
    }
  }
}

declare global {
  interface Window {
    __cockpit?: { app: Cockpit; paneText(id: string): string; terminal(id: string): unknown };
  }
}

const app = new Cockpit();
// A read-only handle for the end-to-end tests and benchmarks (they read terminal buffers).
window.__cockpit = {
  app,
  paneText: (id) => app.panes.get(id)?.text() ?? "",
  terminal: (id) => app.panes.get(id)?.term,
};
void app.start();
