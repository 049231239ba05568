// Browser notifications when a session finishes (or starts waiting): opt-in, asked once.

import type { SessionRecord } from "./model";

const KEY = "coven-cockpit-notify";

export class Notifier {
  constructor(private readonly button: HTMLButtonElement) {
    button.addEventListener("click", () => void this.toggle());
    this.paint();
  }

  get enabled(): boolean {
    return "Notification" in window && Notification.permission === "granted" && localStorage.getItem(KEY) === "on";
  }

  private async toggle(): Promise<void> {
    if (!("Notification" in window)) return;
    if (this.enabled) {
      localStorage.setItem(KEY, "off");
    } else {
      const permission =
        Notification.permission === "default" ? await Notification.requestPermission() : Notification.permission;
      localStorage.setItem(KEY, permission === "granted" ? "on" : "off");
    }
    this.paint();
  }

  private paint(): void {
    if (!("Notification" in window)) {
      this.button.textContent = "Notifications unsupported";
      this.button.disabled = true;
      return;
    }
    if (Notification.permission === "denied") {
      this.button.textContent = "Notifications blocked";
      this.button.title = "The browser denied notifications for this page";
      return;
    }
    this.button.textContent = this.enabled ? "Notifications on" : "Notify me";
    this.button.setAttribute("aria-pressed", String(this.enabled));
  }

  finished(session: SessionRecord): void {
    const code = session.exit_code === null ? "" : ` (exit ${session.exit_code})`;
    this.show(`Session ${session.status}`, `${session.title} — ${session.harness}${code}`, session.id);
  }

  waiting(session: SessionRecord): void {
    this.show("Session waiting for you", `${session.title}: ${session.attention_reason ?? "input needed"}`, session.id);
  }

  private show(title: string, body: string, tag: string): void {
    if (!this.enabled) return;
    try {
      new Notification(title, { body, tag });
    } catch {
      // Some browsers only allow notifications from a service worker; nothing to do then.
    }
  }
}
