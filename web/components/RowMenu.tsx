"use client";

import { useEffect, useId, useLayoutEffect, useRef, useState, type KeyboardEvent } from "react";

export interface MenuAction {
  label: string;
  onSelect: () => void;
  danger?: boolean;
}

/**
 * A "⋯" button with a menu of actions (the ARIA menu button pattern):
 * arrow keys move between items, Escape closes and gives focus back, a
 * click elsewhere closes. The menu is placed with `position: fixed` next to
 * the button, so the table's rounded, clipped corners never cut it off, and
 * it stays inside the window on a phone.
 */
export function RowMenu({ label, actions }: { label: string; actions: MenuAction[] }) {
  const [open, setOpen] = useState<"first" | "last" | null>(null);
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLUListElement>(null);
  const id = useId();

  const items = () =>
    Array.from(menu.current?.querySelectorAll<HTMLElement>("[role=menuitem]") ?? []);

  const close = (refocus: boolean) => {
    setOpen(null);
    if (refocus) button.current?.focus();
  };

  /** Next to the button, inside the window; false when the button is out of sight. */
  const place = (): boolean => {
    if (!menu.current || !button.current) return false;
    const b = button.current.getBoundingClientRect();
    if (b.bottom < 0 || b.top > window.innerHeight) return false;
    const m = menu.current.getBoundingClientRect();
    const margin = 8;
    const left = Math.max(
      margin,
      Math.min(b.right - m.width, window.innerWidth - m.width - margin),
    );
    const below = b.bottom + 4;
    const top = below + m.height > window.innerHeight - margin ? b.top - m.height - 4 : below;
    menu.current.style.left = `${left}px`;
    menu.current.style.top = `${Math.max(margin, top)}px`;
    return true;
  };

  // Placed before it is painted, then the wanted item takes focus.
  useLayoutEffect(() => {
    if (!open || !place()) return;
    const list = items();
    (open === "first" ? list[0] : list.at(-1))?.focus();
    // place reads refs only.
  }, [open]);

  useEffect(() => {
    if (!open) return;
    const away = (e: Event) => {
      const t = e.target as Node;
      if (menu.current?.contains(t) || button.current?.contains(t)) return;
      setOpen(null);
    };
    // The page scrolled (a phone scrolls the tapped button into view after
    // the tap, too): the menu follows its button, and closes once the
    // button is out of sight.
    const follow = () => {
      if (!place()) setOpen(null);
    };
    document.addEventListener("pointerdown", away, true);
    window.addEventListener("scroll", follow, true);
    window.addEventListener("resize", follow);
    return () => {
      document.removeEventListener("pointerdown", away, true);
      window.removeEventListener("scroll", follow, true);
      window.removeEventListener("resize", follow);
    };
    // place reads refs only.
  }, [open]);

  const onMenuKey = (e: KeyboardEvent) => {
    const list = items();
    const at = list.indexOf(document.activeElement as HTMLElement);
    const go = (i: number) => list[(i + list.length) % list.length]?.focus();
    switch (e.key) {
      case "ArrowDown":
        e.preventDefault();
        go(at + 1);
        break;
      case "ArrowUp":
        e.preventDefault();
        go(at - 1);
        break;
      case "Home":
        e.preventDefault();
        go(0);
        break;
      case "End":
        e.preventDefault();
        go(list.length - 1);
        break;
      case "Escape":
        e.preventDefault();
        e.stopPropagation();
        close(true);
        break;
      case "Tab":
        close(false);
        break;
    }
  };

  return (
    <>
      <button
        ref={button}
        type="button"
        className="small menu-button"
        aria-label={label}
        aria-haspopup="menu"
        aria-expanded={open !== null}
        aria-controls={open ? id : undefined}
        onClick={() => (open ? close(false) : setOpen("first"))}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown") {
            e.preventDefault();
            setOpen("first");
          } else if (e.key === "ArrowUp") {
            e.preventDefault();
            setOpen("last");
          }
        }}
      >
        <span aria-hidden="true">⋯</span>
      </button>
      {open ? (
        <ul
          ref={menu}
          id={id}
          role="menu"
          aria-label={label}
          className="menu"
          onKeyDown={onMenuKey}
        >
          {actions.map((a) => (
            <li key={a.label} role="none">
              <button
                type="button"
                role="menuitem"
                tabIndex={-1}
                className={a.danger ? "danger" : undefined}
                onClick={() => {
                  close(true);
                  a.onSelect();
                }}
              >
                {a.label}
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </>
  );
}
