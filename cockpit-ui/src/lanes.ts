// Changes and review of a session's work, for daemons that advertise lanes/changes/review.
//
// Written against the lane routes' shapes: GET /sessions/:id/changes ->
// {baseCommit, head, files: [{path, status, additions, deletions}]};
// GET /sessions/:id/diff?path=P -> {diff, truncated}; POST .../merge and .../discard
// answer with the daemon's refusal (conflicting files, dirty work) when they refuse;
// POST .../review {state, comments} stores the review state. Requested changes are
// also sent to the agent as input, as typed text. The daemon decides everything.

import { daemonGet, daemonPost, describe, type Features, sessionPath } from "./api";
import { clear, h } from "./dom";
import type { SessionRecord } from "./model";

interface ChangedFile {
  path: string;
  status: string;
  additions: number;
  deletions: number;
}

export async function openChanges(session: SessionRecord, features: Features): Promise<void> {
  const status = h("p", { role: "status", class: "muted" });
  const files = h("ul", { class: "files" });
  const diff = h("pre", { class: "diff", tabindex: 0, "aria-label": "Diff" });
  const comment = h("textarea", { rows: 3, "aria-label": "Requested changes", placeholder: "path:line — what to change" });
  const close = h("button", { type: "button" }, "Close");
  const actions = h("menu", {});
  const dialog = h(
    "dialog",
    { class: "wide", "aria-label": `Changes of ${session.title}` },
    h("h2", {}, "Changes — ", session.title),
    status,
    h("div", { class: "changes" }, files, diff),
    features.review ? comment : null,
    actions,
  );
  const act = async (label: string, run: () => Promise<unknown>) => {
    status.textContent = `${label}…`;
    try {
      await run();
      status.textContent = `${label}: done`;
    } catch (error) {
      status.textContent = `${label} refused: ${describe(error)}`;
    }
  };
  if (features.lanes) {
    actions.append(
      h("button", { type: "button", class: "primary", onclick: () => void act("Approve and merge", () => daemonPost(sessionPath(session.id, "/merge"))) }, "Approve & merge"),
      h("button", { type: "button", class: "danger", onclick: () => void act("Discard", () => daemonPost(sessionPath(session.id, "/discard"))) }, "Discard lane"),
    );
  }
  if (features.review) {
    actions.append(
      h(
        "button",
        {
          type: "button",
          onclick: () =>
            void act("Request changes", async () => {
              const text = comment.value.trim();
              await daemonPost(sessionPath(session.id, "/review"), {
                state: "changes_requested",
                comments: text ? [{ body: text }] : [],
              });
              if (text) await daemonPost(sessionPath(session.id, "/input"), { data: `${text}\r` });
            }),
        },
        "Request changes",
      ),
    );
  }
  actions.append(close);
  close.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  if (!features.changes) {
    status.textContent = "Changes and review: not available on this daemon.";
    return;
  }
  try {
    const doc = await daemonGet(sessionPath(session.id, "/changes"));
    const list = (doc.files ?? []) as ChangedFile[];
    status.textContent = `${list.length} changed files since ${String(doc.baseCommit ?? "").slice(0, 10)}`;
    for (const file of list) {
      const button = h("button", { type: "button" }, `${file.status} ${file.path} +${file.additions} −${file.deletions}`);
      button.addEventListener("click", async () => {
        try {
          const answer = await daemonGet(`${sessionPath(session.id, "/diff")}?path=${encodeURIComponent(file.path)}`);
          clear(diff);
          for (const line of String(answer.diff ?? "").split("\n")) {
            const kind = line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : line.startsWith("@@") ? "hunk" : "";
            diff.append(h("span", { class: kind }, `${line}\n`));
          }
          if (answer.truncated) diff.append(h("span", { class: "muted" }, "(diff cut at the daemon's size limit)"));
        } catch (error) {
          diff.textContent = describe(error);
        }
      });
      files.append(h("li", {}, button));
    }
  } catch (error) {
    status.textContent = describe(error);
  }
}
