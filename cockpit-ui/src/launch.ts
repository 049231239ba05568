// The launch form: harness (from the daemon's availability), familiar (from its roster),
// project root, cwd, lane, title, prompt. With hosts in hosts.toml, a Machine choice
// comes first: the form then offers that machine's harnesses and launches there.

import { daemonGet, daemonPost, describe, type Features, type Harness, type HostView } from "./api";

interface Familiar {
  id: string;
  display_name: string;
  role: string;
  harness?: string | null;
}
import { clear, h } from "./dom";
import type { SessionRecord } from "./model";

export class LaunchView {
  private readonly form: HTMLFormElement;
  private readonly harness: HTMLSelectElement;
  private readonly harnessNote: HTMLElement;
  private readonly root: HTMLInputElement;
  private readonly lane: HTMLElement;
  private readonly laneBox: HTMLInputElement;
  private readonly error: HTMLElement;
  private readonly familiar: HTMLSelectElement;
  private harnesses: Harness[] = [];
  private familiars: Familiar[] = [];
  private rootTouched = false;
  private readonly machine: HTMLSelectElement;
  private readonly machineRow: HTMLElement;
  private local: { harnesses: Harness[]; features: Features; root: string } | null = null;
  private hosts: HostView[] = [];
  private roots = new Map<string, string>(); // what was typed per machine ("" is this one)
  private shownMachine = "";

  constructor(
    container: HTMLElement,
    private readonly launched: (session: SessionRecord, openTerminal: boolean) => void,
  ) {
    this.harness = h("select", { id: "launch-harness", name: "harness", required: true });
    this.harness.addEventListener("change", () => this.explainHarness());
    this.familiar = h("select", { id: "launch-familiar", name: "familiarId" });
    // A familiar's roster entry may name its harness: choosing it picks that harness.
    this.familiar.addEventListener("change", () => {
      const chosen = this.familiars.find((f) => f.id === this.familiar.value);
      const usable = this.harnesses.find((x) => x.id === chosen?.harness && x.available !== false);
      if (usable) {
        this.harness.value = usable.id;
        this.explainHarness();
      }
    });
    this.harnessNote = h("p", { class: "muted", id: "launch-harness-note", "aria-live": "polite" });
    this.root = h("input", { id: "launch-root", name: "projectRoot", required: true, spellcheck: "false" });
    this.root.addEventListener("input", () => (this.rootTouched = true));
    this.laneBox = h("input", { type: "checkbox", id: "launch-lane", name: "lane" });
    this.lane = h("label", { class: "check" }, this.laneBox, " Run in its own worktree lane");
    this.error = h("p", { class: "error", id: "launch-error", role: "alert" });
    this.machine = h("select", { id: "launch-machine", name: "machine" });
    this.machine.addEventListener("change", () => this.switchMachine());
    this.machineRow = h("div", { class: "launch-machine" }, h("label", { for: "launch-machine" }, "Machine"), this.machine);
    this.machineRow.hidden = true;
    const openTerminal = h("input", { type: "checkbox", id: "launch-open", checked: true });
    this.form = h(
      "form",
      { class: "launch", id: "launch-form", "aria-label": "Launch a session" },
      h("h2", {}, "Launch a session"),
      this.machineRow,
      h("label", { for: "launch-harness" }, "Harness"),
      this.harness,
      this.harnessNote,
      h("label", { for: "launch-familiar" }, "Familiar (optional)"),
      this.familiar,
      h("label", { for: "launch-root" }, "Project root"),
      this.root,
      h("label", { for: "launch-cwd" }, "Working directory (inside the root; optional)"),
      h("input", { id: "launch-cwd", name: "cwd", spellcheck: "false" }),
      this.lane,
      h("label", { for: "launch-title" }, "Title (optional)"),
      h("input", { id: "launch-title", name: "title" }),
      h("label", { for: "launch-prompt" }, "Prompt"),
      h("textarea", { id: "launch-prompt", name: "prompt", rows: 4, required: true }),
      h("label", { class: "check" }, openTerminal, " Open its terminal"),
      this.error,
      h("button", { type: "submit", class: "primary", id: "launch-submit" }, "Launch"),
    );
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.submit(openTerminal.checked);
    });
    container.append(this.form);
  }

  /** This machine's harnesses and features (from Cast Agent's context). */
  update(harnesses: Harness[], features: Features, defaultRoot: string): void {
    this.local = { harnesses, features, root: defaultRoot };
    if (!this.machine.value) this.show(harnesses, features, defaultRoot);
  }

  /** The named hosts; the reachable ones are offered in the Machine choice. */
  setHosts(hosts: HostView[]): void {
    this.hosts = hosts.filter((host) => host.state === "reachable" && host.features);
    this.machineRow.hidden = hosts.length === 0;
    const wanted = ["", ...this.hosts.map((host) => host.name)];
    const have = Array.from(this.machine.options).map((option) => option.value);
    if (JSON.stringify(wanted) !== JSON.stringify(have)) {
      const previous = this.machine.value;
      clear(this.machine);
      this.machine.append(h("option", { value: "" }, "This machine"));
      for (const host of this.hosts) this.machine.append(h("option", { value: host.name }, `${host.name} (${host.target})`));
      this.machine.value = wanted.includes(previous) ? previous : "";
      if (this.machine.value !== previous) this.switchMachine();
    }
    const chosen = this.hosts.find((host) => host.name === this.machine.value);
    if (chosen?.features) this.show(chosen.harnesses ?? [], chosen.features, "");
  }

  private switchMachine(): void {
    this.roots.set(this.shownMachine, this.root.value);
    this.shownMachine = this.machine.value;
    this.root.value = this.roots.get(this.machine.value) ?? "";
    this.rootTouched = this.root.value !== "";
    this.harnesses = []; // the next show() rebuilds the choice for this machine
    clear(this.harness);
    this.familiars = [];
    const chosen = this.hosts.find((host) => host.name === this.machine.value);
    this.root.placeholder = chosen ? `a directory on ${chosen.name}` : "";
    if (chosen?.features) this.show(chosen.harnesses ?? [], chosen.features, "");
    else if (this.local) this.show(this.local.harnesses, this.local.features, this.local.root);
    void this.loadFamiliars();
  }

  private show(harnesses: Harness[], features: Features, defaultRoot: string): void {
    if (!this.rootTouched && !this.root.value) this.root.value = defaultRoot;
    this.lane.hidden = !features.lanes;
    if (!features.lanes) this.laneBox.checked = false;
    if (JSON.stringify(harnesses) === JSON.stringify(this.harnesses)) return;
    this.harnesses = harnesses;
    const previous = this.harness.value;
    clear(this.harness);
    for (const harness of harnesses) {
      const missing = harness.available === false;
      const label = `${harness.label && harness.label !== harness.id ? `${harness.label} (${harness.id})` : harness.id}${missing ? " — not available" : ""}`;
      this.harness.append(h("option", { value: harness.id, disabled: missing }, label));
    }
    const firstUsable = harnesses.find((x) => x.available !== false);
    const keep = harnesses.find((x) => x.id === previous && x.available !== false);
    this.harness.value = keep?.id ?? firstUsable?.id ?? "";
    this.explainHarness();
  }

  focus(): void {
    this.harness.focus();
    void this.loadFamiliars();
  }

  /** The daemon's roster, read each time the form is shown (it is edited elsewhere). */
  private async loadFamiliars(): Promise<void> {
    let familiars: Familiar[];
    try {
      familiars = (await daemonGet("/familiars", this.machine.value)) as Familiar[];
    } catch {
      familiars = []; // an unreadable roster: launching without a familiar still works
    }
    if (JSON.stringify(familiars) === JSON.stringify(this.familiars)) return;
    this.familiars = familiars;
    const previous = this.familiar.value;
    clear(this.familiar);
    this.familiar.append(h("option", { value: "" }, "(none)"));
    for (const f of familiars) {
      const role = f.role ? ` — ${f.role}` : "";
      this.familiar.append(h("option", { value: f.id }, `${f.display_name} (${f.id})${role}`));
    }
    this.familiar.value = familiars.some((f) => f.id === previous) ? previous : "";
  }

  private explainHarness(): void {
    const lines: string[] = [];
    for (const harness of this.harnesses) {
      if (harness.available === false) {
        lines.push(`${harness.id}: ${harness.reason || harness.installHint || "not installed"}`);
      }
    }
    const chosen = this.harnesses.find((x) => x.id === this.harness.value);
    if (chosen && chosen.available === null && chosen.reason) lines.unshift(chosen.reason);
    this.harnessNote.textContent = lines.join(" · ");
  }

  private async submit(openTerminal: boolean): Promise<void> {
    const data = new FormData(this.form);
    const text = (name: string) => String(data.get(name) ?? "").trim();
    const body: Record<string, unknown> = {
      harness: text("harness"),
      projectRoot: text("projectRoot"),
      prompt: String(data.get("prompt") ?? ""),
    };
    if (text("cwd")) body.cwd = text("cwd");
    if (text("title")) body.title = text("title");
    if (text("familiarId")) body.familiarId = text("familiarId");
    if (this.laneBox.checked) body.isolation = "worktree";
    this.error.textContent = "";
    const button = this.form.querySelector<HTMLButtonElement>("#launch-submit");
    if (button) button.disabled = true;
    try {
      const host = this.machine.value;
      const made = (await daemonPost("/sessions", body, host)) as SessionRecord;
      const session = host ? { ...made, host } : made;
      (this.form.querySelector("#launch-prompt") as HTMLTextAreaElement).value = "";
      (this.form.querySelector("#launch-title") as HTMLInputElement).value = "";
      this.launched(session, openTerminal);
    } catch (error) {
      this.error.textContent = `Launch refused: ${describe(error)}`;
    } finally {
      if (button) button.disabled = false;
    }
  }
}
