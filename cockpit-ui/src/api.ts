// Calls to the cockpit server: Cast Agent's context and the proxied daemon API.
// Requests carry the session cookie set on first load; nothing here holds the token.

import type { SessionRecord } from "./model";

export interface Features {
  attach: boolean;
  screen: boolean;
  resize: boolean;
  rituals: boolean;
  harnessAvailability: boolean;
  attention: boolean;
  lanes: boolean;
  changes: boolean;
  review: boolean;
}

export interface Harness {
  id: string;
  label?: string;
  available: boolean | null;
  reason?: string;
  installHint?: string;
}

export interface Activity {
  seq: number;
  host?: string | null;
  at: string;
  operation: string;
  sessionId: string | null;
  outcome: "ok" | "refused" | "unreachable";
  status: number | null;
  code: string | null;
  message: string | null;
  detail: string | null;
}

export interface Context {
  cockpit: { defaultProjectRoot: string };
  daemon: { reachable: true; health: Record<string, any> } | { reachable: false; reason: string };
  features: Features;
  harnesses: Harness[];
  sessions?: SessionRecord[];
  sessionsDigest: string;
  activity: Activity[];
  activitySeq: number;
  /** Whether other machines are named (hosts.toml); with none the UI shows nothing more. */
  hosts?: { configured: number; rosterError: string | null };
}

/** One machine from hosts.toml as /cockpit/hosts reports it. */
export interface HostView {
  name: string;
  target: string;
  state: "connecting" | "reachable" | "unreachable";
  reason: string | null;
  daemon?: { covenVersion?: string; liveSessions?: number };
  features?: Features;
  harnesses?: Harness[];
  sessions?: SessionRecord[];
  sessionsDigest?: string;
}

export interface HostsDoc {
  hosts: HostView[];
  /** Why hosts.toml could not be read (the last good roster stays in use), or null. */
  rosterError: string | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

async function parse(response: Response): Promise<any> {
  const text = await response.text();
  let doc: any = null;
  try {
    doc = text ? JSON.parse(text) : null;
  } catch {
    doc = null;
  }
  if (!response.ok) {
    const error = doc && typeof doc === "object" ? doc.error : null;
    if (error && typeof error === "object") {
      throw new ApiError(response.status, String(error.code), String(error.message), error.details);
    }
    if (doc && typeof doc.reason === "string") {
      throw new ApiError(response.status, String(doc.code || "rejected"), doc.reason);
    }
    throw new ApiError(response.status, `http_${response.status}`, `HTTP ${response.status}`);
  }
  return doc;
}

export async function getContext(sessionsDigest: string, activityAfter: number): Promise<Context> {
  // The first, full context has the plain address the page preloads while this script loads.
  const query = new URLSearchParams({ sessions: sessionsDigest, activityAfter: String(activityAfter) });
  const url = sessionsDigest || activityAfter ? `/cockpit/context?${query}` : "/cockpit/context";
  return parse(await fetch(url, { credentials: "same-origin" }));
}

/** Each host's sessions are sent again only when their digest (``known``) changed. */
export async function getHosts(known: Map<string, string>): Promise<HostsDoc> {
  const query = new URLSearchParams();
  for (const [name, digest] of known) query.append("known", `${name}:${digest}`);
  const text = query.toString();
  return parse(await fetch(`/cockpit/hosts${text ? `?${text}` : ""}`, { credentials: "same-origin" }));
}

/** Where a daemon's API is proxied: this machine's, or a named host's. */
export function apiRoot(host?: string | null): string {
  return host ? `/hosts/${encodeURIComponent(host)}/api/v1` : "/api/v1";
}

export async function daemonGet(path: string, host?: string | null): Promise<any> {
  return parse(await fetch(`${apiRoot(host)}${path}`, { credentials: "same-origin" }));
}

export async function daemonPost(path: string, body: unknown = {}, host?: string | null): Promise<any> {
  return parse(
    await fetch(`${apiRoot(host)}${path}`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    }),
  );
}

export function sessionPath(id: string, suffix = ""): string {
  return `/sessions/${encodeURIComponent(id)}${suffix}`;
}

/** A GET on the session's own daemon (this machine's, or its host's). */
export function sessionGet(session: SessionRecord, suffix: string): Promise<any> {
  return daemonGet(sessionPath(session.id, suffix), session.host);
}

/** A POST to the session's own daemon (this machine's, or its host's). */
export function sessionPost(session: SessionRecord, suffix: string, body: unknown = {}): Promise<any> {
  return daemonPost(sessionPath(session.id, suffix), body, session.host);
}

/** The user-facing sentence for an error, with the daemon's stable code when there is one. */
export function describe(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 404 && error.code === "not_found") {
      return "not available on this daemon";
    }
    return `${error.message} (${error.code})`;
  }
  return error instanceof Error ? error.message : String(error);
}
