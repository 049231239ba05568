// Pure view-model functions over the daemon's session records: no DOM, no I/O.

export interface SessionRecord {
  id: string;
  project_root: string;
  harness: string;
  title: string;
  status: string;
  exit_code: number | null;
  archived_at: string | null;
  created_at: string;
  updated_at: string;
  attention?: string | null;
  attention_reason?: string | null;
  branch?: string | null;
  git_root?: string | null;
  worktree_path?: string | null;
  review_state?: string | null;
  familiar_id?: string | null;
  /** Set by the cockpit for a session on a named host (hosts.toml); absent for this machine. */
  host?: string;
  [key: string]: unknown;
}

/** A session's key in the UI: its id here, ``host/id`` on another machine (ids never hold "/"). */
export function sessionKey(session: SessionRecord): string {
  return session.host ? `${session.host}/${session.id}` : session.id;
}

export interface SessionGroup {
  projectRoot: string;
  sessions: SessionRecord[];
  live: number;
}

export interface Filter {
  text: string;
  status: "all" | "live" | "finished";
  archived: boolean;
}

const LIVE = new Set(["running", "created"]);

export function isLive(session: SessionRecord): boolean {
  return LIVE.has(session.status);
}

/** Awaiting input first, then other live sessions, then the rest; newest first within each. */
export function rank(session: SessionRecord): number {
  if (session.attention === "awaiting_input") return 0;
  return isLive(session) ? 1 : 2;
}

function newestFirst(a: SessionRecord, b: SessionRecord): number {
  return a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0;
}

export function matches(session: SessionRecord, filter: Filter): boolean {
  if (!filter.archived && session.archived_at) return false;
  if (filter.status === "live" && !isLive(session)) return false;
  if (filter.status === "finished" && isLive(session)) return false;
  const needle = filter.text.trim().toLowerCase();
  if (!needle) return true;
  return [session.title, session.harness, session.id, session.project_root, session.status]
    .some((field) => (field || "").toLowerCase().includes(needle));
}

/** The project a session belongs to: a lane's repository, not its private worktree. */
export function projectOf(session: SessionRecord): string {
  return session.worktree_path && session.git_root ? session.git_root : session.project_root;
}

/** Sessions that pass ``filter``, grouped by project; groups with live work first. */
export function groupSessions(sessions: SessionRecord[], filter: Filter): SessionGroup[] {
  const groups = new Map<string, SessionRecord[]>();
  for (const session of sessions) {
    if (!matches(session, filter)) continue;
    const project = projectOf(session);
    const list = groups.get(project);
    if (list) list.push(session);
    else groups.set(project, [session]);
  }
  const result: SessionGroup[] = [];
  for (const [projectRoot, list] of groups) {
    list.sort((a, b) => rank(a) - rank(b) || newestFirst(a, b));
    result.push({ projectRoot, sessions: list, live: list.filter(isLive).length });
  }
  result.sort(
    (a, b) =>
      rank(a.sessions[0]) - rank(b.sessions[0]) ||
      newestFirst(a.sessions[0], b.sessions[0]) ||
      a.projectRoot.localeCompare(b.projectRoot),
  );
  return result;
}

/** "42s", "5m", "3h", "2d": how long ago ``iso`` was, from ``now`` (ms). */
export function age(iso: string, now: number): string {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return "?";
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

export function shortId(id: string): string {
  return id.length > 8 ? id.slice(0, 8) : id;
}

export function projectName(root: string): string {
  const parts = root.split("/").filter(Boolean);
  return parts.length ? parts[parts.length - 1] : root;
}

/** Sessions that were live in ``before`` and are finished in ``after`` (for notifications). */
export function newlyFinished(
  before: Map<string, SessionRecord>,
  after: SessionRecord[],
): SessionRecord[] {
  return after.filter((s) => {
    const old = before.get(sessionKey(s));
    return old !== undefined && isLive(old) && !isLive(s);
  });
}

/** Sessions whose attention became ``awaiting_input`` between two snapshots. */
export function newlyWaiting(
  before: Map<string, SessionRecord>,
  after: SessionRecord[],
): SessionRecord[] {
  return after.filter((s) => {
    const old = before.get(sessionKey(s));
    return old !== undefined && old.attention !== "awaiting_input" && s.attention === "awaiting_input";
  });
}
