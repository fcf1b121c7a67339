import { render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { Preview } from "./Preview";

describe("Preview", () => {
  it("reads a text file once per URL, however often it re-renders", async () => {
    const read = vi.fn<(url: string, max: number) => Promise<string>>(async () => "hello");
    const { rerender } = render(
      <Preview
        contentType="text/plain"
        name="a.txt"
        url="/blob/1"
        readText={(u, n) => read(u, n)}
      />,
    );
    expect(await screen.findByText("hello")).toBeTruthy();
    for (let i = 0; i < 3; i++) {
      rerender(
        <Preview
          contentType="text/plain"
          name="a.txt"
          url="/blob/1"
          readText={(u, n) => read(u, n)}
        />,
      );
    }
    expect(read).toHaveBeenCalledTimes(1);
    expect(read).toHaveBeenCalledWith("/blob/1", 65536);
  });

  it("shows images, video and audio from the signed URL, and nothing for unsafe types", () => {
    const { rerender } = render(<Preview contentType="image/png" name="p.png" url="/blob/p" />);
    expect(screen.getByRole("img", { name: "Preview of p.png" }).getAttribute("src")).toBe(
      "/blob/p",
    );
    rerender(<Preview contentType="video/mp4" name="v.mp4" url="/blob/v" />);
    expect(document.querySelector("video")!.getAttribute("src")).toBe("/blob/v");
    rerender(<Preview contentType="audio/mpeg" name="s.mp3" url="/blob/s" />);
    expect(document.querySelector("audio")!.getAttribute("src")).toBe("/blob/s");
    rerender(<Preview contentType="text/html" name="x.html" url="/blob/x" />);
    expect(screen.getByText("No preview for this type of file.")).toBeTruthy();
  });
});
