/**
 * The 2D strided DRAM → SRAM loader with zero padding, shared by the load module (inp/wgt)
 * and the compute module (uop/acc). `sel` picks which of the two entry sizes to move.
 * SRAM entries are written in order: a padding entry takes one cycle; data comes in bursts
 * (harness.ts's DRAM model: rd_req with rd_addr, rd_len beats and rd_size, held until the
 * last beat arrives, the beats one per cycle after the latency). A data row is contiguous in
 * DRAM, so each data row is one burst and an entry is written the cycle its last beat
 * arrives; entries smaller than a beat come as a narrow burst (one entry per beat, in the
 * beat's low bytes, so no lane selection is needed). Addresses are running sums (the SRAM address
 * steps by one entry; the DRAM address by one entry per data element and by x_stride per
 * data row), so the loader needs no multiplier.
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
  // An entry of fewer beats than the buffer holds sits in its top part after shifting in.
  const top = (n: number): string => (n === NB ? "shifted" : `(shifted >> ${(NB - n) * c.W})`);
  const aligned = nb0 === NB && nb1 === NB ? "shifted" : `sel_q ? ${top(nb1)} : ${top(nb0)}`;
  // A burst per data row: its entries' beats, each beat a whole bus word or one smaller entry.
  const len = (k: 0 | 1): string => `({16'd0, xs} << ${lg(k ? nb1 : nb0)})`;
  const size = (k: 0 | 1): string => `4'd${lg(Math.min(s.bytes[k], c.WB))}`;
  const pick = (f: (k: 0 | 1) => string): string => (f(0) === f(1) ? f(0) : `(sel_q ? ${f(1)} : ${f(0)})`);
  const advance: Stmt[] = [
    nb("wa", "wa + 16'd1"),
    iff("c1 == cols", [
      nb("c", 0),
      iff("r1 == rows", [nb("st", "S_IDLE"), nb("done", 1)], [
        nb("r", "r1"), nb("st", "S_ELEM"),
        iff("data_row", [nb("row_dram", "row_next"), nb("col_dram", "row_next")], [nb("col_dram", "row_dram")]),
      ]),
    ], [nb("c", "c1"), nb("st", "S_ELEM")]),
  ];
  return {
    name: s.name,
    doc: `2D loader: entries of ${s.bytes[0]} (sel=0) or ${s.bytes[1]} (sel=1) bytes, ${c.WB}-byte DRAM beats in bursts.`,
    ports: [
      input("clk"), input("rst"), input("start"), input("sel"),
      input("sram_base", 16), input("dram_base", 32), input("y_size", 16), input("x_size", 16), input("x_stride", 16),
      input("y_pad0", 4), input("y_pad1", 4), input("x_pad0", 4), input("x_pad1", 4),
      output("done", 1, true),
      output("rd_req"), output("rd_addr", 32), output("rd_len", 32), output("rd_size", 4), input("rd_ack"), input("rd_data", c.W),
      output("we", 1, true), output("waddr", 16, true), output("wdata", BUFW, true),
    ],
    items: [
      localparam("S_IDLE", "2'd0"), localparam("S_ELEM", "2'd1"), localparam("S_READ", "2'd2"),
      reg("st", 2), reg("r", 18), reg("c", 18), reg("rows", 18), reg("cols", 18), reg("yend", 18), reg("xend", 18),
      reg("xstride", 16), reg("xs", 16), reg("yp0", 4), reg("xp0", 4),
      reg("sel_q"), reg("beat", 16), reg("addr", 32), reg("buffer", BUFW),
      // wa: the SRAM address (one entry per element); row_dram: DRAM entry of the current data
      // row's first element; col_dram: DRAM entry of the current element (valid on data).
      reg("wa", 16), reg("row_dram", 32), reg("col_dram", 32),
      wire("rows_in", 18), wire("cols_in", 18), wire("r1", 18), wire("c1", 18), wire("row_next", 32),
      wire("pad", 1), wire("data_row", 1), wire("last_beat", 1), wire("shifted", BUFW),
      assign("rows_in", "{14'd0, y_pad0} + {2'd0, y_size} + {14'd0, y_pad1}"),
      assign("cols_in", "{14'd0, x_pad0} + {2'd0, x_size} + {14'd0, x_pad1}"),
      assign("r1", "r + 18'd1"), assign("c1", "c + 18'd1"),
      assign("row_next", "row_dram + {16'd0, xstride}"),
      assign("data_row", "(r >= {14'd0, yp0}) && (r < yend)"),
      assign("pad", "!data_row || (c < {14'd0, xp0}) || (c >= xend)"),
      assign("last_beat", `beat == (sel_q ? 16'd${nb1 - 1} : 16'd${nb0 - 1})`),
      // Beats shift in from the top (no beat-indexed write: that costs a decoder per bit).
      assign("shifted", NB === 1 ? "rd_data" : `{rd_data, buffer[${BUFW - 1}:${c.W}]}`),
      assign("rd_req", "st == S_READ"),
      assign("rd_addr", "addr"),
      assign("rd_len", pick(len)),
      assign("rd_size", pick(size)),
      always([
        nb("we", 0), nb("done", 0),
        iff("rst", [nb("st", "S_IDLE")], [
          cases("st", {
            S_IDLE: [iff("start", [
              nb("sel_q", "sel"), nb("xstride", "x_stride"), nb("xs", "x_size"), nb("yp0", "y_pad0"), nb("xp0", "x_pad0"),
              nb("rows", "rows_in"), nb("cols", "cols_in"),
              nb("yend", "{14'd0, y_pad0} + {2'd0, y_size}"), nb("xend", "{14'd0, x_pad0} + {2'd0, x_size}"),
              nb("r", 0), nb("c", 0), nb("wa", "sram_base"), nb("row_dram", "dram_base"), nb("col_dram", "dram_base"),
              iff("rows_in == 18'd0 || cols_in == 18'd0", [nb("done", 1)], [nb("st", "S_ELEM")]),
            ])],
            // A padding entry is written at once; a data entry starts a burst (held in S_READ).
            S_ELEM: [iff("pad", [
              nb("we", 1), nb("waddr", "wa"), nb("wdata", 0), ...advance,
            ], [
              nb("addr", `col_dram << (sel_q ? ${lg(s.bytes[1])} : ${lg(s.bytes[0])})`),
              nb("beat", 0), nb("st", "S_READ"),
            ])],
            // One beat per acknowledge; an entry is written the cycle its last beat arrives.
            S_READ: [iff("rd_ack", [
              nb("buffer", "shifted"),
              iff("last_beat", [
                nb("beat", 0), nb("we", 1), nb("waddr", "wa"), nb("wdata", aligned), nb("col_dram", "col_dram + 32'd1"),
                // The burst ends with the row's last data entry.
                iff("c1 == xend", advance, [nb("wa", "wa + 16'd1"), nb("c", "c1")]),
              ], [nb("beat", "beat + 1")]),
            ])],
          }),
        ]),
      ]),
    ],
  };
}

export const loaderBufferWidth = (c: HwConfig, bytes: readonly [number, number]): number =>
  Math.max(beats(c, bytes[0]), beats(c, bytes[1])) * c.W;
