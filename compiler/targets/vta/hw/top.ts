/**
 * The accelerator's top level: fetch, three instruction queues, load/compute/store, the
 * shared SRAMs (inp, wgt, out), four token counters, and counters for the harness.
 * DRAM is outside: four ports (fetch, load, compute read; store write) with a
 * request/acknowledge handshake that the simulation harness serves (native/vta, tb.v);
 * a request names a burst of `rd_len` / `wr_len` beats (harness.ts).
 */
import { type Item, type VModule, always, assign, iff, input, nb, output, wire } from "../../../codegen/verilog/ast.ts";
import type { HwConfig } from "./config.ts";

const inst = (module: string, name: string, conns: Record<string, string>): Item => ({ k: "inst", module, name, conns });

export function top(c: HwConfig): VModule {
  const rdPorts = (p: string) => [output(`${p}_rd_req`), output(`${p}_rd_addr`, 32), output(`${p}_rd_len`, 32), output(`${p}_rd_size`, 4), input(`${p}_rd_ack`), input(`${p}_rd_data`, c.W)];
  const rd = (p: string) => ({ rd_req: `${p}_rd_req`, rd_addr: `${p}_rd_addr`, rd_len: `${p}_rd_len`, rd_size: `${p}_rd_size`, rd_ack: `${p}_rd_ack`, rd_data: `${p}_rd_data` });
  const fifo = (q: string): Item[] => [
    wire(`${q}_push`), wire(`${q}_full`), wire(`${q}_pop`), wire(`${q}_dout`, 128), wire(`${q}_empty`),
    inst("vta_insn_fifo", q, { clk: "clk", rst: "rst", push: `${q}_push`, din: "insn", full: `${q}_full`, pop: `${q}_pop`, dout: `${q}_dout`, empty: `${q}_empty` }),
  ];
  const tokens = (t: string): Item[] => [
    wire(`${t}_push`), wire(`${t}_pop`), wire(`${t}_nonempty`),
    inst("vta_token_counter", t, { clk: "clk", rst: "rst", push: `${t}_push`, pop: `${t}_pop`, nonempty: `${t}_nonempty` }),
  ];
  return {
    name: "vta_top",
    doc: `VTA-style accelerator: batch ${c.p.batch}, blockIn ${c.p.blockIn}, blockOut ${c.p.blockOut}, ${c.WB}-byte DRAM beats.`,
    ports: [
      input("clk"), input("rst"), input("start"), input("insn_base", 32), input("insn_count", 32),
      output("done"), output("active"), output("gemm_cycles", 32, true), output("alu_cycles", 32, true),
      ...rdPorts("fetch"), ...rdPorts("load"), ...rdPorts("comp"),
      output("st_wr_req"), output("st_wr_addr", 32), output("st_wr_len", 32), output("st_wr_size", 4), output("st_wr_valid"), output("st_wr_data", c.W), output("st_wr_strb", c.WB), input("st_wr_ack"),
      output("state", 8),
    ],
    items: [
      wire("insn", 128), wire("fetch_idle"), wire("fetch_active"), wire("finished"), wire("gemm_busy"), wire("alu_busy"),
      wire("load_idle"), wire("load_active"), wire("comp_idle"), wire("comp_active"), wire("store_idle"), wire("store_active"),
      ...fifo("lq"), ...fifo("cq"), ...fifo("sq"),
      ...tokens("l2c"), ...tokens("c2l"), ...tokens("c2s"), ...tokens("s2c"),
      wire("inp_we"), wire("inp_waddr", c.inpAW), wire("inp_wdata", c.E.inp * 8), wire("inp_raddr", c.inpAW), wire("inp_rdata", c.E.inp * 8),
      wire("wgt_we"), wire("wgt_waddr", c.wgtAW), wire("wgt_wdata", c.E.wgt * 8), wire("wgt_raddr", c.wgtAW), wire("wgt_rdata", c.E.wgt * 8),
      wire("out_we"), wire("out_waddr", c.accAW), wire("out_wdata", c.E.out * 8), wire("out_raddr", c.accAW), wire("out_rdata", c.E.out * 8),
      inst("vta_sram_inp", "inp_buf", { clk: "clk", we: "inp_we", waddr: "inp_waddr", wdata: "inp_wdata", raddr: "inp_raddr", rdata: "inp_rdata" }),
      inst("vta_sram_wgt", "wgt_buf", { clk: "clk", we: "wgt_we", waddr: "wgt_waddr", wdata: "wgt_wdata", raddr: "wgt_raddr", rdata: "wgt_rdata" }),
      inst("vta_sram_out", "out_buf", { clk: "clk", we: "out_we", waddr: "out_waddr", wdata: "out_wdata", raddr: "out_raddr", rdata: "out_rdata" }),
      inst("vta_fetch", "fetch", {
        clk: "clk", rst: "rst", start: "start", insn_base: "insn_base", insn_count: "insn_count", ...rd("fetch"),
        lq_push: "lq_push", lq_full: "lq_full", cq_push: "cq_push", cq_full: "cq_full", sq_push: "sq_push", sq_full: "sq_full",
        insn: "insn", idle: "fetch_idle", active: "fetch_active",
      }),
      inst("vta_load", "load", {
        clk: "clk", rst: "rst", q_empty: "lq_empty", q_dout: "lq_dout", q_pop: "lq_pop",
        c2l_nonempty: "c2l_nonempty", c2l_pop: "c2l_pop", l2c_push: "l2c_push", ...rd("load"),
        inp_we: "inp_we", inp_waddr: "inp_waddr", inp_wdata: "inp_wdata", wgt_we: "wgt_we", wgt_waddr: "wgt_waddr", wgt_wdata: "wgt_wdata",
        idle: "load_idle", active: "load_active",
      }),
      inst("vta_compute", "compute", {
        clk: "clk", rst: "rst", q_empty: "cq_empty", q_dout: "cq_dout", q_pop: "cq_pop",
        l2c_nonempty: "l2c_nonempty", l2c_pop: "l2c_pop", s2c_nonempty: "s2c_nonempty", s2c_pop: "s2c_pop",
        c2l_push: "c2l_push", c2s_push: "c2s_push", ...rd("comp"),
        inp_raddr: "inp_raddr", inp_rdata: "inp_rdata", wgt_raddr: "wgt_raddr", wgt_rdata: "wgt_rdata",
        out_we: "out_we", out_waddr: "out_waddr", out_wdata: "out_wdata",
        finished: "finished", gemm_busy: "gemm_busy", alu_busy: "alu_busy", idle: "comp_idle", active: "comp_active",
      }),
      inst("vta_store", "store", {
        clk: "clk", rst: "rst", q_empty: "sq_empty", q_dout: "sq_dout", q_pop: "sq_pop",
        c2s_nonempty: "c2s_nonempty", c2s_pop: "c2s_pop", s2c_push: "s2c_push",
        out_raddr: "out_raddr", out_rdata: "out_rdata",
        wr_req: "st_wr_req", wr_addr: "st_wr_addr", wr_len: "st_wr_len", wr_size: "st_wr_size", wr_valid: "st_wr_valid", wr_data: "st_wr_data", wr_strb: "st_wr_strb", wr_ack: "st_wr_ack",
        idle: "store_idle", active: "store_active",
      }),
      // Done: FINISH ran, everything fetched, every queue drained and every module idle.
      assign("done", "finished && fetch_idle && !start && lq_empty && cq_empty && sq_empty && load_idle && comp_idle && store_idle"),
      // Nothing active for a few cycles before done means a deadlock (the harness watches this).
      assign("active", "fetch_active || load_active || comp_active || store_active"),
      assign("state", "{fetch_idle, load_idle, comp_idle, store_idle, l2c_nonempty, c2l_nonempty, c2s_nonempty, s2c_nonempty}"),
      // Cycles the compute module spends in GEMM (non-reset) and ALU micro-op iterations.
      always([iff("rst", [nb("gemm_cycles", 0), nb("alu_cycles", 0)], [
        iff("gemm_busy", [nb("gemm_cycles", "gemm_cycles + 1")]),
        iff("alu_busy", [nb("alu_cycles", "alu_cycles + 1")]),
      ])]),
    ],
  };
}

