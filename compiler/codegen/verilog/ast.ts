/**
 * A small structural model of Verilog-2005 modules: declarations, continuous assignments,
 * always blocks with statement trees, instances. Expressions are strings: the hardware
 * generators (compiler/targets/vta/hw) build them; the printer only lays them out.
 */

export interface Port {
  readonly dir: "input" | "output";
  readonly name: string;
  readonly width: number;
  /** Outputs driven from an always block are `output reg`. */
  readonly reg?: boolean;
}

export type Item =
  | { readonly k: "comment"; readonly text: string }
  | { readonly k: "localparam"; readonly name: string; readonly value: string }
  | { readonly k: "wire" | "reg"; readonly name: string; readonly width: number; readonly signed?: boolean; readonly depth?: number; readonly init?: string }
  | { readonly k: "integer"; readonly name: string }
  | { readonly k: "assign"; readonly lhs: string; readonly rhs: string }
  | { readonly k: "always"; readonly on: "clk" | "comb"; readonly body: readonly Stmt[] }
  | { readonly k: "inst"; readonly module: string; readonly name: string; readonly params?: Readonly<Record<string, string>>; readonly conns: Readonly<Record<string, string>> };

export type Stmt =
  | { readonly k: "nb"; readonly lhs: string; readonly rhs: string }
  | { readonly k: "set"; readonly lhs: string; readonly rhs: string }
  | { readonly k: "if"; readonly cond: string; readonly then: readonly Stmt[]; readonly else?: readonly Stmt[] }
  | { readonly k: "case"; readonly expr: string; readonly arms: readonly { readonly when: string; readonly body: readonly Stmt[] }[]; readonly default?: readonly Stmt[] }
  | { readonly k: "for"; readonly v: string; readonly n: string; readonly body: readonly Stmt[] }
  | { readonly k: "comment"; readonly text: string };

export interface VModule {
  readonly name: string;
  readonly doc?: string;
  readonly ports: readonly Port[];
  readonly items: readonly Item[];
}

// Builders: short names keep the generators readable.
export const nb = (lhs: string, rhs: string | number): Stmt => ({ k: "nb", lhs, rhs: String(rhs) });
export const set = (lhs: string, rhs: string | number): Stmt => ({ k: "set", lhs, rhs: String(rhs) });
export const iff = (cond: string, then: readonly Stmt[], els?: readonly Stmt[]): Stmt => ({ k: "if", cond, then, ...(els ? { else: els } : {}) });
export const cases = (expr: string, arms: Record<string, readonly Stmt[]>, dflt?: readonly Stmt[]): Stmt =>
  ({ k: "case", expr, arms: Object.entries(arms).map(([when, body]) => ({ when, body })), ...(dflt ? { default: dflt } : {}) });
export const forLoop = (v: string, n: string | number, body: readonly Stmt[]): Stmt => ({ k: "for", v, n: String(n), body });
export const input = (name: string, width = 1): Port => ({ dir: "input", name, width });
export const output = (name: string, width = 1, reg = false): Port => ({ dir: "output", name, width, reg });
export const wire = (name: string, width = 1): Item => ({ k: "wire", name, width });
export const reg = (name: string, width = 1, depth?: number): Item => ({ k: "reg", name, width, ...(depth ? { depth } : {}) });
export const assign = (lhs: string, rhs: string | number): Item => ({ k: "assign", lhs, rhs: String(rhs) });
export const localparam = (name: string, value: string | number): Item => ({ k: "localparam", name, value: String(value) });
export const always = (body: readonly Stmt[]): Item => ({ k: "always", on: "clk", body });
export const comb = (body: readonly Stmt[]): Item => ({ k: "always", on: "comb", body });
export const comment = (text: string): Item => ({ k: "comment", text });
