// Confirmations for destructive rituals, as modal <dialog>s (focus stays inside; Esc cancels).

import { h } from "./dom";
import type { SessionRecord } from "./model";

function modal(
  content: HTMLElement[],
  confirm: HTMLButtonElement,
  initial: HTMLElement | "cancel",
): Promise<boolean> {
  return new Promise((resolve) => {
    const cancel = h("button", { type: "button", value: "cancel" }, "Cancel");
    const dialog = h(
      "dialog",
      { class: "confirm", "aria-modal": "true" },
      h("form", { method: "dialog" }, ...content, h("menu", {}, cancel, confirm)),
    );
    confirm.type = "submit";
    confirm.value = "confirm";
    cancel.addEventListener("click", () => dialog.close("cancel"));
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "confirm");
    });
    document.body.append(dialog);
    dialog.showModal();
    (initial === "cancel" ? cancel : initial).focus();
  });
}

/** Ask before killing a live session. Resolves true only on an explicit "Kill". */
export function confirmKill(session: SessionRecord): Promise<boolean> {
  // The safe choice has the focus: Enter on an accidental open does not kill.
  return modal(
    [
      h("h2", {}, "Kill this session?"),
      h(
        "p",
        {},
        `“${session.title}” (`,
        h("code", {}, session.id),
        ") and everything its harness started will be stopped.",
      ),
    ],
    h("button", { class: "danger" }, "Kill"),
    "cancel",
  );
}

/** Ask for the full session id before sacrificing (deleting) a finished session, as the CLI does. */
export function confirmSacrifice(session: SessionRecord): Promise<boolean> {
  const confirm = h("button", { class: "danger", disabled: true }, "Sacrifice");
  const input = h("input", {
    type: "text",
    name: "confirm-id",
    autocomplete: "off",
    spellcheck: "false",
    "aria-label": "Full session id",
  });
  input.addEventListener("input", () => {
    confirm.disabled = input.value !== session.id;
  });
  return modal(
    [
      h("h2", {}, "Sacrifice this session?"),
      h("p", {}, `This permanently deletes “${session.title}” and all its events. It cannot be undone.`),
      h("p", {}, "Type the full session id to confirm: ", h("code", { class: "selectable" }, session.id)),
      input,
    ],
    confirm,
    input,
  );
}

/** Ask before a forced discard, naming the work it throws away. Focus starts on Cancel. */
export function confirmForcedDiscard(session: SessionRecord, files: string[], commits: number): Promise<boolean> {
  const lost: HTMLElement[] = [];
  if (files.length) {
    lost.push(
      h("p", {}, "Uncommitted files that will be deleted:"),
      h("ul", { class: "lost" }, ...files.map((file) => h("li", {}, h("code", {}, file)))),
    );
  }
  if (commits) lost.push(h("p", {}, `${commits} commit${commits === 1 ? "" : "s"} not merged anywhere will be lost.`));
  return modal(
    [
      h("h2", {}, "Discard this lane and its work?"),
      h(
        "p",
        {},
        `The worktree and branch ${String(session.branch ?? "")} of “${session.title}” will be removed. This cannot be undone.`,
      ),
      ...lost,
    ],
    h("button", { class: "danger" }, "Discard the work"),
    "cancel",
  );
}
