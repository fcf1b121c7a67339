"use client";

import { useEffect, useState } from "react";

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Clipboard API refused (no permission, plain http): the old way.
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch {
      ok = false;
    }
    area.remove();
    return ok;
  }
}

export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  useEffect(() => {
    if (state === "idle") return;
    const t = setTimeout(() => setState("idle"), 2000);
    return () => clearTimeout(t);
  }, [state]);
  return (
    <button
      type="button"
      className="small"
      onClick={async () => setState((await copyText(text)) ? "copied" : "failed")}
      aria-live="polite"
    >
      {/* Same width whatever it says, so the row does not jump. */}
      <span style={{ minWidth: "4.5em", display: "inline-block" }}>
        {state === "copied" ? "Copied ✓" : state === "failed" ? "Select it" : label}
      </span>
    </button>
  );
}

/**
 * A value to copy: shown read-only (selected on focus, for copying by hand)
 * with a Copy button. Named by `label` (aria-label), or by a `<label>`
 * pointing at `id`.
 */
export function CopyField({ value, id, label }: { value: string; id?: string; label?: string }) {
  return (
    <div className="row" style={{ flexWrap: "nowrap" }}>
      <input
        id={id}
        readOnly
        value={value}
        className="mono"
        aria-label={label}
        onFocus={(e) => e.target.select()}
      />
      <CopyButton text={value} />
    </div>
  );
}
