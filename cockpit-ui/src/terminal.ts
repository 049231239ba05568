// A terminal pane: xterm.js on the daemon's attach WebSocket, through the cockpit's proxy.
//
// Wire (the daemon's attach protocol): binary frames out are terminal output;
// text frames are control ({type: attached|live|exit|overflow}); binary frames in
// are input bytes; text {type: "resize", rows, cols} resizes the session's PTY.
// A finished session replays its whole log and ends, so it shows its final output.
//
// When the daemon goes away while the session runs (`coven daemon restart`, a crash),
// the pane waits for the next daemon, writes the output it missed from the stored
// events (skipping the bytes it already showed after the last known seq), attaches
// again after that seq, and writes one line saying the daemon restarted — as the
// `coven attach` command does. Keys typed meanwhile are kept and sent on reattaching.

import { FitAddon } from "@xterm/addon-fit";
import { Terminal } from "@xterm/xterm";
import { h } from "./dom";
import { apiRoot, sessionGet } from "./api";
import { isLive, sessionKey, shortId, type SessionRecord } from "./model";

// An ended session's pane shows its final screen and the lines above it, rebuilt by
// the daemon from the stored output: instant at any size, where replaying the whole
// raw log through the browser grows with it.
const FINAL_HISTORY = 2000;
// How long a pane that lost its daemon waits for the next one, and how often it looks.
const RECONNECT_MS = 60_000;
const RECONNECT_POLL_MS = 200;
// Keys typed while reconnecting are kept up to this many bytes.
const MAX_HELD_INPUT = 64 * 1024;
// The CLI's line, on the bottom row with the cursor saved and restored, so an agent
// that draws relative to the cursor stays put; its next redraw of that row replaces it.
const RESTARTED_LINE = "\x1b7\x1b[999;1H\x1b[0m\x1b[2K[coven: the daemon restarted; still attached]\x1b8";

export type PaneState =
  | "connecting"
  | "replaying"
  | "live"
  | "reconnecting"
  | "ended"
  | "disconnected"
  | "closed";

/** Where the pane is in the session's output: `delivered` bytes after event `seq`. */
interface Position {
  seq: number;
  delivered: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface PaneHooks {
  close(pane: TerminalPane): void;
  kill(session: SessionRecord): void;
  changes?(session: SessionRecord): void;
  leave(): void;
}

export class TerminalPane {
  readonly element: HTMLElement;
  readonly term: Terminal;
  state: PaneState = "connecting";
  private readonly fit = new FitAddon();
  private readonly host: HTMLElement;
  private readonly banner: HTMLElement;
  private readonly statusEl: HTMLElement;
  private readonly killButton: HTMLButtonElement;
  private readonly encoder = new TextEncoder();
  private readonly observer: ResizeObserver;
  private ws: WebSocket | null = null;
  private size = { rows: 0, cols: 0 };
  private resizeQueued = false;
  private position: Position = { seq: 0, delivered: 0 };
  /** While waiting for a daemon that went away: when to give up (epoch ms). */
  private resumeBy: number | null = null;
  private heldInput: Uint8Array[] = [];
  private heldBytes = 0;

  constructor(
    public session: SessionRecord,
    private readonly hooks: PaneHooks,
  ) {
    this.statusEl = h("span", { class: `status s-${session.status}` }, session.status);
    this.killButton = h(
      "button",
      { type: "button", class: "danger", onclick: () => this.hooks.kill(this.session) },
      "Kill",
    );
    this.killButton.hidden = !isLive(session);
    const changes = hooks.changes
      ? h("button", { type: "button", onclick: () => hooks.changes?.(this.session) }, "Changes")
      : null;
    this.banner = h("div", { class: "pane-banner", role: "status" });
    this.banner.hidden = true;
    this.host = h("div", { class: "pane-term" });
    this.element = h(
      "article",
      {
        class: "pane",
        "data-session": sessionKey(session),
        "data-host": session.host,
        "aria-label": `Terminal: ${session.title}${session.host ? ` on ${session.host}` : ""}`,
      },
      h(
        "header",
        { class: "pane-head" },
        this.statusEl,
        h("strong", { class: "pane-title", title: session.title }, session.title || session.id),
        h("code", {}, shortId(session.id)),
        session.host ? h("span", { class: "host-tag", title: `on ${session.host}` }, session.host) : null,
        h("span", { class: "muted" }, session.harness),
        h("span", { class: "spacer" }),
        changes,
        this.killButton,
        h(
          "button",
          { type: "button", "aria-label": "Close terminal", onclick: () => this.hooks.close(this) },
          "×",
        ),
      ),
      this.banner,
      this.host,
    );
    this.term = new Terminal({
      cursorBlink: true,
      fontSize: 13,
      scrollback: 10000,
      fontFamily: "ui-monospace, 'DejaVu Sans Mono', Menlo, monospace",
      theme: { background: "#111317" },
    });
    this.term.loadAddon(this.fit);
    // Ctrl-] leaves the terminal (like the CLI's detach key) without sending it.
    this.term.attachCustomKeyEventHandler((event) => {
      if (event.type === "keydown" && event.ctrlKey && (event.key === "]" || event.code === "BracketRight")) {
        event.preventDefault();
        this.hooks.leave();
        return false;
      }
      return true;
    });
    this.term.onData((data) => this.send(this.encoder.encode(data)));
    this.term.onBinary((data) => {
      const bytes = new Uint8Array(data.length);
      for (let i = 0; i < data.length; i++) bytes[i] = data.charCodeAt(i) & 0xff;
      this.send(bytes);
    });
    this.observer = new ResizeObserver(() => this.queueResize());
  }

  /** Put the terminal into the page (its element must be attached) and connect. */
  open(): void {
    this.term.open(this.host);
    this.observer.observe(this.host);
    this.fitNow();
    if (isLive(this.session)) this.connect(0);
    else void this.showFinal();
  }

  private async showFinal(): Promise<void> {
    this.state = "replaying";
    let view: { text?: unknown };
    try {
      view = await sessionGet(this.session, `/screen?ansi=true&history=${FINAL_HISTORY}`);
    } catch {
      this.connect(0); // a daemon without final screens: replay the raw log
      return;
    }
    if (this.state !== "replaying") return; // closed meanwhile
    this.term.write(String(view.text ?? "").replace(/\n/g, "\r\n"));
    this.ended(this.session.status, this.session.exit_code);
  }

  private ended(status: string, exitCode: number | null | undefined): void {
    this.state = "ended";
    this.resumeBy = null;
    const code = exitCode === null || exitCode === undefined ? "" : `, exit code ${exitCode}`;
    this.update({ ...this.session, status });
    this.term.options.disableStdin = true;
    this.showBanner(`Session ended: ${status}${code}.`);
  }

  focus(): void {
    this.term.focus();
  }

  /** The text in the terminal's buffer (scrollback included), one line per row. */
  text(): string {
    const buffer = this.term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < buffer.length; i++) {
      lines.push(buffer.getLine(i)?.translateToString(true) ?? "");
    }
    return lines.join("\n");
  }

  update(session: SessionRecord): void {
    // The daemon's own records do not say which machine they are on; the pane does.
    this.session = { ...session, host: this.session.host };
    this.statusEl.textContent = session.status;
    this.statusEl.className = `status s-${session.status}`;
    this.killButton.hidden = !isLive(session);
  }

  dispose(): void {
    this.state = "closed";
    this.observer.disconnect();
    this.ws?.close();
    this.ws = null;
    this.term.dispose();
  }

  private connect(afterSeq: number): void {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const id = encodeURIComponent(this.session.id);
    const root = apiRoot(this.session.host);
    const ws = new WebSocket(`${scheme}://${location.host}${root}/sessions/${id}/attach?afterSeq=${afterSeq}`);
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    this.state = "connecting";
    this.position = { seq: afterSeq, delivered: 0 };
    ws.onmessage = (event) => {
      if (event.data instanceof ArrayBuffer) {
        this.position.delivered += event.data.byteLength;
        this.term.write(new Uint8Array(event.data));
      } else {
        this.control(String(event.data));
      }
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      const attached = this.state === "replaying" || this.state === "live";
      if (attached || (this.state === "connecting" && this.resumeBy !== null)) {
        // The stream ended while the session had not: the daemon went away.
        void this.resume();
      } else if (this.state === "connecting") {
        this.disconnected();
      }
    };
  }

  private disconnected(): void {
    this.state = "disconnected";
    this.resumeBy = null;
    this.showBanner("Disconnected from the session. ", "Reconnect", () => {
      this.term.reset();
      this.connect(0);
    });
  }

  /** Wait for the next daemon, write what the pane missed, and attach again after it. */
  private async resume(): Promise<void> {
    const retry = this.resumeBy !== null;
    this.resumeBy ??= Date.now() + RECONNECT_MS;
    this.state = "reconnecting";
    this.showBanner("The Coven daemon went away; waiting for it to come back…");
    if (retry) await sleep(RECONNECT_POLL_MS);
    const { seq: after, delivered } = this.position;
    let seq = after;
    let skip = delivered;
    let page: any;
    for (;;) {
      if (this.state !== "reconnecting") return; // closed meanwhile
      try {
        page = await sessionGet(this.session, `/events?afterSeq=${seq}`);
        break;
      } catch {
        if (Date.now() > (this.resumeBy ?? 0)) {
          this.disconnected();
          return;
        }
        await sleep(RECONNECT_POLL_MS);
      }
    }
    try {
      for (;;) {
        if (this.state !== "reconnecting") return;
        for (const event of page?.events ?? []) {
          seq = Number(event.seq);
          const doc = JSON.parse(String(event.payload_json));
          if (event.kind === "exit") {
            this.ended(String(doc.status), doc.exitCode ?? null);
            return;
          }
          if (event.kind !== "output") continue;
          const data = this.encoder.encode(String(doc.data ?? ""));
          if (skip >= data.length) {
            skip -= data.length;
            continue;
          }
          this.term.write(data.subarray(skip));
          skip = 0;
        }
        // What was written is now behind `seq`: a failure from here resumes after it.
        this.position = { seq, delivered: 0 };
        if (!page?.hasMore || !page?.nextCursor) break;
        page = await sessionGet(this.session, `/events?afterSeq=${seq}`);
      }
    } catch {
      void this.resume(); // the daemon went away again: wait for the next one
      return;
    }
    this.connect(seq);
  }

  private control(text: string): void {
    let doc: any;
    try {
      doc = JSON.parse(text);
    } catch {
      return;
    }
    switch (doc?.type) {
      case "attached":
        this.state = "replaying";
        if (doc.session) this.update(doc.session as SessionRecord);
        this.hideBanner();
        if (this.resumeBy !== null) {
          this.resumeBy = null;
          this.term.write(RESTARTED_LINE);
          this.sendSize(true);
          this.sendHeldInput();
        } else {
          this.sendSize(true);
        }
        break;
      case "live":
        this.state = "live";
        this.position = { seq: Number(doc.seq) || this.position.seq, delivered: 0 };
        break;
      case "exit":
        this.ended(String(doc.status), doc.exitCode);
        break;
      case "overflow":
        // We read too slowly: resume exactly where the delivered output ended.
        this.state = "connecting";
        this.ws = null;
        this.connect(Number(doc.resumeAfterSeq) || 0);
        break;
      default:
        break; // unknown control frames are additive
    }
  }

  private send(data: Uint8Array): void {
    if (this.resumeBy !== null) {
      // Reconnecting: keep what is typed for the next daemon (bounded).
      if (this.heldBytes + data.length <= MAX_HELD_INPUT) {
        this.heldInput.push(data);
        this.heldBytes += data.length;
      }
      return;
    }
    if (this.ws && this.ws.readyState === WebSocket.OPEN && this.state !== "ended") {
      this.ws.send(data);
    }
  }

  private sendHeldInput(): void {
    const held = this.heldInput;
    this.heldInput = [];
    this.heldBytes = 0;
    for (const data of held) this.send(data);
  }

  private queueResize(): void {
    if (this.resizeQueued) return;
    this.resizeQueued = true;
    requestAnimationFrame(() => {
      this.resizeQueued = false;
      if (this.state !== "closed") this.fitNow();
    });
  }

  private fitNow(): void {
    if (!this.host.isConnected || this.host.clientWidth === 0) return;
    try {
      this.fit.fit();
    } catch {
      return;
    }
    this.sendSize(false);
  }

  private sendSize(force: boolean): void {
    const rows = this.term.rows;
    const cols = this.term.cols;
    if (!force && rows === this.size.rows && cols === this.size.cols) return;
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN || !isLive(this.session)) return;
    this.size = { rows, cols };
    this.ws.send(JSON.stringify({ type: "resize", rows, cols }));
  }

  private showBanner(text: string, action?: string, onAction?: () => void): void {
    this.banner.replaceChildren(text);
    if (action && onAction) {
      this.banner.append(h("button", { type: "button", onclick: onAction }, action));
    }
    this.banner.hidden = false;
  }

  private hideBanner(): void {
    this.banner.hidden = true;
  }
}
