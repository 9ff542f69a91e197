/**
 * Prints `VModule`s (ast.ts) as Verilog-2005 text that both Verilator and Icarus accept.
 * It decides nothing: widths, names and expressions come from the generator.
 */
import type { Item, Port, Stmt, VModule } from "./ast.ts";

const range = (width: number): string => (width > 1 ? `[${width - 1}:0] ` : "");

function port(p: Port): string {
  return `${p.dir} ${p.reg ? "reg " : "wire "}${range(p.width)}${p.name}`;
}

function stmt(s: Stmt, ind: string, out: string[]): void {
  switch (s.k) {
    case "nb": out.push(`${ind}${s.lhs} <= ${s.rhs};`); return;
    case "set": out.push(`${ind}${s.lhs} = ${s.rhs};`); return;
    case "comment": out.push(`${ind}// ${s.text}`); return;
    case "if":
      out.push(`${ind}if (${s.cond}) begin`);
      block(s.then, ind, out);
      if (s.else && s.else.length > 0) {
        out.push(`${ind}end else begin`);
        block(s.else, ind, out);
      }
      out.push(`${ind}end`);
      return;
    case "case":
      out.push(`${ind}case (${s.expr})`);
      for (const arm of s.arms) {
        out.push(`${ind}  ${arm.when}: begin`);
        block(arm.body, ind + "  ", out);
        out.push(`${ind}  end`);
      }
      out.push(`${ind}  default: begin`);
      block(s.default ?? [], ind + "  ", out);
      out.push(`${ind}  end`);
      out.push(`${ind}endcase`);
      return;
    case "for":
      out.push(`${ind}for (${s.v} = 0; ${s.v} < ${s.n}; ${s.v} = ${s.v} + 1) begin`);
      block(s.body, ind, out);
      out.push(`${ind}end`);
      return;
  }
}

function block(body: readonly Stmt[], ind: string, out: string[]): void {
  for (const s of body) stmt(s, ind + "  ", out);
}

function item(it: Item, out: string[]): void {
  switch (it.k) {
    case "comment": out.push(`  // ${it.text}`); return;
    case "localparam": out.push(`  localparam ${it.name} = ${it.value};`); return;
    case "wire": case "reg":
      out.push(`  ${it.k} ${it.signed ? "signed " : ""}${range(it.width)}${it.name}${it.depth ? ` [0:${it.depth - 1}]` : ""}${it.init !== undefined ? ` = ${it.init}` : ""};`);
      return;
    case "integer": out.push(`  integer ${it.name};`); return;
    case "assign": out.push(`  assign ${it.lhs} = ${it.rhs};`); return;
    case "always":
      out.push(it.on === "clk" ? "  always @(posedge clk) begin" : "  always @* begin");
      block(it.body, "  ", out);
      out.push("  end");
      return;
    case "inst": {
      const params = it.params ? ` #(${Object.entries(it.params).map(([k, v]) => `.${k}(${v})`).join(", ")})` : "";
      out.push(`  ${it.module}${params} ${it.name} (`);
      const conns = Object.entries(it.conns);
      conns.forEach(([k, v], i) => out.push(`    .${k}(${v})${i < conns.length - 1 ? "," : ""}`));
      out.push("  );");
      return;
    }
  }
}

export function printModule(m: VModule): string {
  const out: string[] = [];
  if (m.doc) for (const line of m.doc.split("\n")) out.push(`// ${line}`);
  out.push(`module ${m.name} (`);
  m.ports.forEach((p, i) => out.push(`  ${port(p)}${i < m.ports.length - 1 ? "," : ""}`));
  out.push(");");
  for (const it of m.items) item(it, out);
  out.push("endmodule", "");
  return out.join("\n");
}

/** Several modules as one source file, with a header line. */
export function printDesign(header: string, modules: readonly VModule[]): string {
  return [`// ${header}`, "`timescale 1ns/1ps", "`default_nettype none", "", ...modules.map(printModule), "`default_nettype wire", ""].join("\n");
}
