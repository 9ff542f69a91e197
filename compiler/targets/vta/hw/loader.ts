/**
 * The 2D strided DRAM → SRAM loader with zero padding, shared by the load module (inp/wgt)
 * and the compute module (uop/acc). `sel` picks which of the two entry sizes to move.
 * One entry at a time: padding entries take one cycle, data entries one DRAM read per beat.
 */
import { type Stmt, type VModule, always, assign, cases, iff, input, localparam, nb, output, reg, wire } from "../../../codegen/verilog/ast.ts";
import { type HwConfig, beats } from "./config.ts";

export interface LoaderSpec {
  readonly name: string;
  /** Entry bytes for sel = 0 and sel = 1. */
  readonly bytes: readonly [number, number];
}

export function loader(c: HwConfig, s: LoaderSpec): VModule {
  const nb0 = beats(c, s.bytes[0]), nb1 = beats(c, s.bytes[1]);
  const NB = Math.max(nb0, nb1);
  const BUFW = NB * c.W;
  const lg = (b: number): number => Math.round(Math.log2(b));
  const advance: Stmt[] = [
    iff("c == cols - 1", [
      nb("c", 0),
      iff("r == rows - 1", [nb("st", "S_IDLE"), nb("done", 1)], [nb("r", "r + 1"), nb("st", "S_ELEM")]),
    ], [nb("c", "c + 1"), nb("st", "S_ELEM")]),
  ];
  return {
    name: s.name,
    doc: `2D loader: entries of ${s.bytes[0]} (sel=0) or ${s.bytes[1]} (sel=1) bytes, ${c.WB}-byte DRAM beats.`,
    ports: [
      input("clk"), input("rst"), input("start"), input("sel"),
      input("sram_base", 16), input("dram_base", 32), input("y_size", 16), input("x_size", 16), input("x_stride", 16),
      input("y_pad0", 4), input("y_pad1", 4), input("x_pad0", 4), input("x_pad1", 4),
      output("done", 1, true),
      output("rd_req"), output("rd_addr", 32), input("rd_ack"), input("rd_data", c.W),
      output("we", 1, true), output("waddr", 16, true), output("wdata", BUFW, true),
    ],
    items: [
      localparam("S_IDLE", "2'd0"), localparam("S_ELEM", "2'd1"), localparam("S_READ", "2'd2"), localparam("S_WRITE", "2'd3"),
      reg("st", 2), reg("r", 18), reg("c", 18), reg("rows", 18), reg("cols", 18),
      reg("base", 16), reg("dbase", 32), reg("ys", 16), reg("xs", 16), reg("xstride", 16), reg("yp0", 4), reg("xp0", 4),
      reg("sel_q"), reg("beat", 16), reg("addr", 32), reg("buffer", BUFW),
      wire("rows_in", 18), wire("cols_in", 18), wire("pad", 1), wire("last_beat", 1),
      assign("rows_in", "{14'd0, y_pad0} + {2'd0, y_size} + {14'd0, y_pad1}"),
      assign("cols_in", "{14'd0, x_pad0} + {2'd0, x_size} + {14'd0, x_pad1}"),
      assign("pad", "(r < {14'd0, yp0}) || (r >= {14'd0, yp0} + {2'd0, ys}) || (c < {14'd0, xp0}) || (c >= {14'd0, xp0} + {2'd0, xs})"),
      assign("last_beat", `beat == (sel_q ? 16'd${nb1 - 1} : 16'd${nb0 - 1})`),
      assign("rd_req", "st == S_READ"),
      assign("rd_addr", "addr"),
      always([
        nb("we", 0), nb("done", 0),
        iff("rst", [nb("st", "S_IDLE")], [
          cases("st", {
            S_IDLE: [iff("start", [
              nb("sel_q", "sel"), nb("base", "sram_base"), nb("dbase", "dram_base"), nb("ys", "y_size"), nb("xs", "x_size"),
              nb("xstride", "x_stride"), nb("yp0", "y_pad0"), nb("xp0", "x_pad0"), nb("rows", "rows_in"), nb("cols", "cols_in"),
              nb("r", 0), nb("c", 0),
              iff("rows_in == 18'd0 || cols_in == 18'd0", [nb("done", 1)], [nb("st", "S_ELEM")]),
            ])],
            S_ELEM: [iff("pad", [
              nb("we", 1), nb("waddr", "base + r[15:0] * cols[15:0] + c[15:0]"), nb("wdata", 0), ...advance,
            ], [
              nb("addr", `(dbase + {16'd0, r[15:0] - {12'd0, yp0}} * {16'd0, xstride} + {16'd0, c[15:0] - {12'd0, xp0}}) << (sel_q ? ${lg(s.bytes[1])} : ${lg(s.bytes[0])})`),
              nb("beat", 0), nb("st", "S_READ"),
            ])],
            S_READ: [iff("rd_ack", [
              nb(`buffer[beat * ${c.W} +: ${c.W}]`, "rd_data"),
              nb("beat", "beat + 1"), nb("addr", `addr + ${c.WB}`),
              iff("last_beat", [nb("st", "S_WRITE")]),
            ])],
            S_WRITE: [nb("we", 1), nb("waddr", "base + r[15:0] * cols[15:0] + c[15:0]"), nb("wdata", "buffer"), ...advance],
          }),
        ]),
      ]),
    ],
  };
}

export const loaderBufferWidth = (c: HwConfig, bytes: readonly [number, number]): number =>
  Math.max(beats(c, bytes[0]), beats(c, bytes[1])) * c.W;
