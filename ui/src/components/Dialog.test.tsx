import { fireEvent, render, screen } from "@testing-library/react";
import { useState } from "react";
import { describe, expect, it, vi } from "vitest";

import { Dialog } from "./Dialog";

function Live({ onClose }: { onClose: () => void }) {
  const [n, setN] = useState(0);
  return (
    <Dialog title="Send" onClose={() => onClose()}>
      <input aria-label="Name" />
      <textarea aria-label="Payload" onChange={() => setN(n + 1)} />
    </Dialog>
  );
}

describe("Dialog", () => {
  it("focuses its first field once, not again when its parent re-renders", () => {
    const onClose = vi.fn();
    render(<Live onClose={onClose} />);
    expect(document.activeElement).toBe(screen.getByLabelText("Name"));
    const payload = screen.getByLabelText("Payload");
    payload.focus();
    fireEvent.change(payload, { target: { value: "{}" } });
    expect(document.activeElement).toBe(payload);
    fireEvent.keyDown(document, { key: "Escape" });
    expect(onClose).toHaveBeenCalledOnce();
  });
});
