// Pure helpers for the Changes pane: reading a unified diff, review labels, and the
// message that tells the agent what a review asked for. No DOM, no I/O.

import type { SessionRecord } from "./model";

export type ReviewState = "unreviewed" | "approved" | "changes_requested" | "merged" | "discarded";

export interface ReviewComment {
  body: string;
  path?: string;
  line?: number;
}

export interface DiffLine {
  text: string;
  kind: "file" | "hunk" | "add" | "del" | "ctx" | "meta";
  /** The file the line belongs to (its new path), when known. */
  path: string | null;
  /** The line's number in the new file (added and context lines only). */
  line: number | null;
}

const HUNK = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/;

/** Split a unified diff into typed lines, numbering added and context lines as in the new file. */
export function parseDiff(diff: string): DiffLine[] {
  const lines = diff.split("\n");
  if (lines.length && lines[lines.length - 1] === "") lines.pop();
  const result: DiffLine[] = [];
  let path: string | null = null;
  let next = 0;
  let inHunk = false;
  for (const text of lines) {
    if (text.startsWith("diff --git ")) {
      inHunk = false;
      const named = / b\/(.*)$/.exec(text);
      path = named ? named[1] : null;
      result.push({ text, kind: "file", path, line: null });
      continue;
    }
    const hunk = HUNK.exec(text);
    if (hunk) {
      inHunk = true;
      next = Number(hunk[1]);
      result.push({ text, kind: "hunk", path, line: null });
      continue;
    }
    if (!inHunk) {
      // Headers between "diff --git" and the first hunk: the new path wins.
      if (text.startsWith("+++ b/")) path = text.slice(6);
      result.push({ text, kind: "file", path, line: null });
      continue;
    }
    if (text.startsWith("+")) result.push({ text, kind: "add", path, line: next++ });
    else if (text.startsWith("-")) result.push({ text, kind: "del", path, line: null });
    else if (text.startsWith("\\")) result.push({ text, kind: "meta", path, line: null });
    else result.push({ text, kind: "ctx", path, line: next++ });
  }
  return result;
}

export function reviewLabel(state: string | null | undefined): string {
  return (state || "unreviewed").replace("_", " ");
}

export function reviewClosed(state: string | null | undefined): boolean {
  return state === "merged" || state === "discarded";
}

/** Whether the session worked in a lane of its own (a worktree and branch to merge or discard). */
export function hasLane(session: SessionRecord): boolean {
  return Boolean(session.worktree_path && session.branch);
}

export function commentTarget(comment: ReviewComment): string {
  if (!comment.path) return "in general";
  return comment.line ? `${comment.path}:${comment.line}` : comment.path;
}

/**
 * The requested changes as one line of input for the agent. One line, because an
 * agent's prompt takes Enter as "send": a multi-line message would arrive in pieces.
 */
export function agentMessage(comments: ReviewComment[]): string {
  const items = comments.map((c, i) => `(${i + 1}) ${commentTarget(c)}: ${c.body.replace(/\s*\n\s*/g, " ").trim()}`);
  return `Review: changes requested. Please address: ${items.join(" ")}`;
}
