import { describe, expect, it } from "vitest";
import { makeStyler, stripAnsi, visibleWidth } from "../src/output/style.ts";
import { renderKeyValues, renderTable, truncate, type Column } from "../src/output/table.ts";

interface Row { readonly name: string; readonly n: number; readonly note: string }
const rows: Row[] = [{ name: "n1", n: 7, note: "follower" }, { name: "node-22", n: 1234, note: "leader" }];
const columns: Column<Row>[] = [
  { header: "NAME", value: (r) => r.name },
  { header: "N", value: (r) => String(r.n), align: "right" },
  { header: "NOTE", value: (r) => r.note, style: (r) => (r.note === "leader" ? "green" : undefined) },
];

describe("table formatting", () => {
  it("pads columns to the widest cell, aligns numbers right, leaves no trailing blanks", () => {
    expect(renderTable(columns, rows)).toEqual([
      "NAME        N  NOTE",
      "n1          7  follower",
      "node-22  1234  leader",
    ]);
  });

  it("gives the header alone for no rows", () => {
    expect(renderTable(columns, [])).toEqual(["NAME  N  NOTE"]);
  });

  it("measures widths without colour escapes, so styled tables line up", () => {
    const plain = renderTable(columns, rows);
    const styled = renderTable(columns, rows, { style: makeStyler(true) });
    expect(styled.join("\n")).toContain("\u001b[");
    expect(styled.map(stripAnsi)).toEqual(plain);
  });

  it("shrinks a shrinkable column with an ellipsis to fit the width", () => {
    const wide: Column<Row>[] = [columns[0]!, { header: "NOTE", value: () => "x".repeat(50), shrink: true, minWidth: 8 }];
    const lines = renderTable(wide, rows, { maxWidth: 30 });
    for (const line of lines) expect(visibleWidth(line)).toBeLessThanOrEqual(30);
    expect(lines[1]).toMatch(/x…$/);
  });

  it("keeps cells on one line", () => {
    const lines = renderTable([{ header: "V", value: () => "a\nb\tc" }], [1]);
    expect(lines).toEqual(["V", "a b c"]);
  });

  it("truncates by code points", () => {
    expect(truncate("héllo wörld", 5)).toBe("héll…");
    expect(truncate("short", 10)).toBe("short");
    expect(truncate("x", 0)).toBe("");
  });

  it("aligns key: value pairs and skips undefined values", () => {
    expect(renderKeyValues([["topic", "demo"], ["skipped", undefined], ["dead letters", "0"]])).toEqual([
      "topic:         demo",
      "dead letters:  0",
    ]);
  });
});
