// The Changes pane of one session: its changed files, a diff viewer (file by file),
// and review actions. Everything goes through the daemon's API (via the cockpit
// proxy), and the daemon decides: its refusals (a merge conflict, dirty work) are
// shown as it words them, with the files it names.
//
// Approve records `approved`, then merges the session's lane (when it has one); the
// daemon sets `merged` when the merge succeeds. Request changes records
// `changes_requested` with the typed comments (per file or line) and sends them to a
// live agent as input. Discard asks the daemon to discard the lane; a refusal for
// work that would be lost offers a forced discard, after an explicit confirmation.

import { ApiError, describe, type Features, sessionGet, sessionPost } from "./api";
import { confirmForcedDiscard } from "./dialogs";
import { clear, h } from "./dom";
import { isLive, sessionKey, shortId, type SessionRecord } from "./model";
import {
  agentMessage,
  commentTarget,
  hasLane,
  parseDiff,
  type ReviewComment,
  reviewClosed,
  reviewLabel,
} from "./review";

interface ChangedFile {
  path: string;
  status: string;
  additions: number;
  deletions: number;
  binary?: boolean;
}

export interface ChangesHooks {
  close(pane: ChangesPane): void;
  /** Something changed on the daemon: refresh what the app shows. */
  changed(): void;
}

export class ChangesPane {
  readonly element: HTMLElement;
  private readonly stateEl: HTMLElement;
  private readonly statusEl: HTMLElement;
  private readonly refusalEl: HTMLElement;
  private readonly filesEl: HTMLElement;
  private readonly diffEl: HTMLElement;
  private readonly pathSelect: HTMLSelectElement;
  private readonly lineInput: HTMLInputElement;
  private readonly commentBox: HTMLTextAreaElement;
  private readonly pendingEl: HTMLElement;
  private readonly approveButton: HTMLButtonElement;
  private readonly requestButton: HTMLButtonElement;
  private readonly discardButton: HTMLButtonElement;
  private readonly forceButton: HTMLButtonElement;
  private readonly commitMergeButton: HTMLButtonElement;
  private files: ChangedFile[] = [];
  private pending: ReviewComment[] = [];
  private current: string | null = null;
  private refused: { files: string[]; commits: number } = { files: [], commits: 0 };
  private busy = false;

  constructor(
    public session: SessionRecord,
    private readonly features: Features,
    private readonly hooks: ChangesHooks,
  ) {
    this.stateEl = h("span", { class: "review" });
    this.statusEl = h("p", { class: "review-status muted", role: "status", "aria-live": "polite" });
    this.refusalEl = h("div", { class: "refusal", role: "alert" });
    this.refusalEl.hidden = true;
    this.filesEl = h("ul", { class: "files", "aria-label": "Changed files" });
    this.diffEl = h("div", { class: "diff", tabindex: 0, "aria-label": "Diff", role: "region" });
    this.diffEl.addEventListener("click", (event) => this.pickLine(event));
    this.pathSelect = h("select", { "aria-label": "Comment on file" });
    this.lineInput = h("input", { type: "number", min: 1, placeholder: "line", "aria-label": "Comment on line", class: "line-no" });
    this.commentBox = h("textarea", { rows: 2, "aria-label": "Comment", placeholder: "What should change? (click a diff line to comment on it)" });
    this.pendingEl = h("ol", { class: "pending", "aria-label": "Comments to send" });
    const add = h("button", { type: "button", onclick: () => this.addComment() }, "Add comment");
    this.approveButton = h("button", { type: "button", class: "primary", onclick: () => void this.approve() }, "Approve");
    this.requestButton = h("button", { type: "button", onclick: () => void this.requestChanges() }, "Request changes");
    this.discardButton = h("button", { type: "button", class: "danger", onclick: () => void this.discard(false) }, "Discard lane");
    this.forceButton = h("button", { type: "button", class: "danger", onclick: () => void this.discard(true) }, "Discard anyway…");
    this.commitMergeButton = h("button", { type: "button", onclick: () => void this.commitAndMerge() }, "Commit the lane's work and merge");
    this.forceButton.hidden = true;
    this.commitMergeButton.hidden = true;
    const review = this.features.review
      ? h(
          "section",
          { class: "review-form", "aria-label": "Review" },
          h("div", { class: "target" }, h("span", { class: "muted" }, "Comment on"), this.pathSelect, this.lineInput),
          this.commentBox,
          h("div", { class: "target" }, add, this.pendingEl),
        )
      : null;
    this.element = h(
      "article",
      { class: "pane changes-pane", "data-changes": sessionKey(session), "aria-label": `Changes: ${session.title}` },
      h(
        "header",
        { class: "pane-head" },
        h("strong", {}, "Changes"),
        h("span", { class: "pane-title", title: session.title }, session.title || session.id),
        h("code", {}, shortId(session.id)),
        session.branch ? h("span", { class: "branch muted" }, String(session.branch)) : null,
        this.stateEl,
        h("span", { class: "spacer" }),
        h("button", { type: "button", onclick: () => void this.load() }, "Refresh"),
        h("button", { type: "button", "aria-label": "Close changes", onclick: () => this.hooks.close(this) }, "×"),
      ),
      this.statusEl,
      this.refusalEl,
      h("div", { class: "changes-body" }, this.filesEl, this.diffEl),
      review,
      h(
        "menu",
        { class: "review-actions" },
        this.approveButton,
        this.commitMergeButton,
        this.features.review ? this.requestButton : null,
        this.discardButton,
        this.forceButton,
      ),
    );
    this.update(session);
  }

  focus(): void {
    (this.filesEl.querySelector("button") ?? this.diffEl).focus();
  }

  /** A fresh record from the daemon: its review state and which actions still apply. */
  update(session: SessionRecord): void {
    this.session = { ...session, host: this.session.host };
    const state = String(session.review_state ?? "unreviewed");
    this.stateEl.textContent = this.features.review ? reviewLabel(state) : "";
    this.stateEl.className = `review r-${state}`;
    const lane = hasLane(session) && this.features.lanes;
    const closed = reviewClosed(state);
    this.approveButton.textContent = lane ? "Approve & merge" : "Approve";
    this.approveButton.hidden = !lane && !this.features.review;
    this.discardButton.hidden = !lane;
    for (const button of [this.approveButton, this.requestButton, this.discardButton]) {
      button.disabled = closed || this.busy;
    }
    if (closed) {
      this.forceButton.hidden = true;
      this.commitMergeButton.hidden = true;
    }
  }

  /** (Re)load the changed files and show the chosen file's diff (the first, at first). */
  async load(quiet = false): Promise<void> {
    try {
      const doc = await sessionGet(this.session, "/changes");
      this.files = (doc.files ?? []) as ChangedFile[];
      const base = String(doc.baseCommit ?? "").slice(0, 10);
      const count = `${this.files.length} changed file${this.files.length === 1 ? "" : "s"}`;
      if (!quiet) this.note(`${count} since ${base || "the start"}`);
    } catch (error) {
      this.files = [];
      if (!quiet) this.note(describe(error));
    }
    clear(this.filesEl);
    for (const file of this.files) {
      const button = h(
        "button",
        { type: "button", class: "file", "data-path": file.path, onclick: () => void this.showFile(file.path) },
        h("span", { class: `fs fs-${file.status}` }, file.status),
        h("span", { class: "path" }, file.path),
        h("span", { class: "add" }, `+${file.additions}`),
        h("span", { class: "del" }, `−${file.deletions}`),
      );
      this.filesEl.append(h("li", {}, button));
    }
    const keep = this.pathSelect.value;
    clear(this.pathSelect);
    this.pathSelect.append(h("option", { value: "" }, "the work in general"));
    for (const file of this.files) this.pathSelect.append(h("option", { value: file.path }, file.path));
    this.pathSelect.value = this.files.some((f) => f.path === keep) ? keep : "";
    const show = this.files.find((f) => f.path === this.current)?.path ?? this.files[0]?.path ?? null;
    if (show) await this.showFile(show);
    else {
      this.current = null;
      clear(this.diffEl);
    }
  }

  async showFile(path: string): Promise<void> {
    this.current = path;
    for (const button of this.filesEl.querySelectorAll<HTMLElement>("button.file")) {
      button.setAttribute("aria-current", String(button.dataset.path === path));
    }
    try {
      const answer = await sessionGet(this.session, `/diff?path=${encodeURIComponent(path)}`);
      if (this.current !== path) return; // another file was chosen meanwhile
      clear(this.diffEl);
      for (const line of parseDiff(String(answer.diff ?? ""))) {
        const attrs: Record<string, string | number> = { class: `dl ${line.kind}` };
        if (line.line !== null && line.path) {
          attrs["data-path"] = line.path;
          attrs["data-line"] = line.line;
          attrs.title = `Comment on ${line.path}:${line.line}`;
        }
        this.diffEl.append(h("div", attrs, line.line !== null ? h("span", { class: "ln" }, String(line.line)) : h("span", { class: "ln" }), line.text || " "));
      }
      if (answer.truncated) this.diffEl.append(h("div", { class: "dl meta" }, "(the diff was cut at the daemon's size limit)"));
    } catch (error) {
      this.diffEl.textContent = describe(error);
    }
  }

  private pickLine(event: MouseEvent): void {
    const line = (event.target as HTMLElement).closest<HTMLElement>(".dl[data-line]");
    if (!line || !this.features.review) return;
    this.pathSelect.value = line.dataset.path ?? "";
    this.lineInput.value = line.dataset.line ?? "";
    this.commentBox.focus();
  }

  /** The comment being typed, if any, with its target; null (and a note) when it is not valid. */
  private typedComment(): ReviewComment | null | undefined {
    const body = this.commentBox.value.trim();
    if (!body) return undefined;
    const comment: ReviewComment = { body };
    if (this.pathSelect.value) {
      comment.path = this.pathSelect.value;
      const line = Number(this.lineInput.value);
      if (this.lineInput.value && (!Number.isInteger(line) || line < 1)) {
        this.note("A line number is a whole number, 1 or more.");
        return null;
      }
      if (line) comment.line = line;
    }
    return comment;
  }

  private addComment(): void {
    const comment = this.typedComment();
    if (!comment) return;
    this.pending.push(comment);
    this.commentBox.value = "";
    this.lineInput.value = "";
    this.renderPending();
  }

  private renderPending(): void {
    clear(this.pendingEl);
    this.pending.forEach((comment, index) => {
      const remove = h("button", { type: "button", class: "quiet", "aria-label": "Remove comment" }, "×");
      remove.addEventListener("click", () => {
        this.pending.splice(index, 1);
        this.renderPending();
      });
      this.pendingEl.append(h("li", {}, h("code", {}, commentTarget(comment)), " ", comment.body, " ", remove));
    });
  }

  private note(text: string): void {
    this.statusEl.textContent = text;
  }

  private showRefusal(label: string, error: unknown): void {
    clear(this.refusalEl);
    this.refused = { files: [], commits: 0 };
    const lines: HTMLElement[] = [h("p", {}, `${label} refused: ${describe(error)}`)];
    if (error instanceof ApiError && error.details) {
      const files = error.details.files;
      if (Array.isArray(files) && files.length) {
        this.refused.files = files.map(String);
        lines.push(h("ul", { class: "refused-files" }, ...this.refused.files.map((f) => h("li", {}, h("code", {}, f)))));
      }
      const commits = error.details.commits;
      if (typeof commits === "number") this.refused.commits = commits;
    }
    this.refusalEl.append(...lines);
    this.refusalEl.hidden = false;
    // In a narrow window the pane scrolls: bring the daemon's answer into view.
    this.refusalEl.scrollIntoView({ block: "nearest" });
  }

  private clearRefusal(): void {
    this.refusalEl.hidden = true;
    clear(this.refusalEl);
    this.forceButton.hidden = true;
    this.commitMergeButton.hidden = true;
  }

  /** Run one daemon call; on refusal, show it. Resolves to the refusal (or null on success). */
  private async act(label: string, run: () => Promise<unknown>): Promise<unknown> {
    if (this.busy) return null;
    this.busy = true;
    this.update(this.session);
    this.clearRefusal();
    this.note(`${label}…`);
    let refusal: unknown = null;
    try {
      await run();
      this.note(`${label}: done`);
    } catch (error) {
      refusal = error;
      this.note(`${label}: refused`);
      this.showRefusal(label, error);
    } finally {
      this.busy = false;
      this.update(this.session);
      this.hooks.changed();
    }
    return refusal;
  }

  private async approve(): Promise<void> {
    const lane = hasLane(this.session) && this.features.lanes;
    const refusal = await this.act(lane ? "Approve and merge" : "Approve", async () => {
      if (this.features.review) await sessionPost(this.session, "/review", { state: "approved" });
      if (lane) await sessionPost(this.session, "/merge", {});
    });
    // Uncommitted work: committing it is the reviewer's second, explicit choice (the
    // daemon refuses that too while the agent still runs, and says so).
    if (refusal instanceof ApiError && refusal.code === "lane_dirty") this.commitMergeButton.hidden = false;
    await this.load(true);
  }

  private async commitAndMerge(): Promise<void> {
    const message = `${this.session.title || "Coven session"} (coven session ${shortId(this.session.id)})`;
    await this.act("Commit and merge", () => sessionPost(this.session, "/merge", { commitMessage: message }));
    await this.load(true);
  }

  private async requestChanges(): Promise<void> {
    const typed = this.typedComment();
    if (typed === null) return;
    const comments = typed ? [...this.pending, typed] : [...this.pending];
    if (!comments.length) {
      this.note("Write what should change first (a comment on a file, a line, or the work in general).");
      this.commentBox.focus();
      return;
    }
    const live = isLive(this.session);
    const refusal = await this.act("Request changes", async () => {
      await sessionPost(this.session, "/review", { state: "changes_requested", comments });
      if (live) await sessionPost(this.session, "/input", { data: `${agentMessage(comments)}\r` });
    });
    if (refusal) return;
    this.pending = [];
    this.commentBox.value = "";
    this.lineInput.value = "";
    this.renderPending();
    this.note(
      live
        ? `Changes requested: ${comments.length} comment${comments.length === 1 ? "" : "s"} sent to the agent.`
        : "Changes requested and recorded (the session has ended: no agent to tell).",
    );
  }

  private async discard(force: boolean): Promise<void> {
    if (force && !(await confirmForcedDiscard(this.session, this.refused.files, this.refused.commits))) {
      this.note("Discard cancelled: nothing was removed.");
      return;
    }
    const refusal = await this.act(force ? "Forced discard" : "Discard", () =>
      sessionPost(this.session, "/discard", force ? { force: true } : {}),
    );
    if (refusal instanceof ApiError && (refusal.code === "lane_dirty" || refusal.code === "lane_unmerged")) {
      this.forceButton.hidden = false;
    }
    if (refusal) {
      await this.load(true);
      return;
    }
    // The lane is gone: there is nothing left to list or diff.
    this.files = [];
    clear(this.filesEl);
    clear(this.diffEl);
    this.note("Discarded: the lane's worktree and branch were removed.");
  }
}
