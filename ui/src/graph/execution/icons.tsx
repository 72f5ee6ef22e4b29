// Step kind icons as inline SVG (a font may lack symbol glyphs; these draw the same everywhere).
const PATHS: Record<string, string> = {
  action: "M5 3.5v9l7-4.5z",
  condition: "M8 2.5 13.5 8 8 13.5 2.5 8z",
  loop: "M12.5 6A5 5 0 1 0 13 9.5M12.5 2.5V6H9",
  parallel: "M3 4h10M3 8h10M3 12h10M10 2l3 2-3 2",
  subprocess: "M3 3h7v7H3zM6 6h7v7H6z",
  wait: "M5.5 3.5v9M10.5 3.5v9",
  branch: "M8 2v12",
};

export function KindIcon({ kind, size = 14 }: { kind: string; size?: number }) {
  const filled = kind === "action" || kind === "condition";
  return (
    <svg width={size} height={size} viewBox="0 0 16 16" aria-hidden="true" focusable="false"
      fill={filled ? "currentColor" : "none"} stroke="currentColor" strokeWidth={filled ? 0 : 1.6}
      strokeLinecap="round" strokeLinejoin="round">
      <path d={PATHS[kind] ?? PATHS.action} />
    </svg>
  );
}
