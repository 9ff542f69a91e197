/**
 * The load module: LOAD of inp and wgt. Takes an instruction when idle, waits for its
 * popNext token from compute, runs the 2D loader, then pushes its token to compute.
 */
import { type VModule, always, assign, cases, iff, input, localparam, nb, output, reg, wire } from "../../../codegen/verilog/ast.ts";
import { type HwConfig, field } from "./config.ts";
import { loaderBufferWidth } from "./loader.ts";

export function loadModule(c: HwConfig): VModule {
  const BUFW = loaderBufferWidth(c, [c.E.wgt, c.E.inp]);
  const memType = field("load", "memType");
  return {
    name: "vta_load",
    doc: "Load module (inp, wgt).",
    ports: [
      input("clk"), input("rst"),
      input("q_empty"), input("q_dout", 128), output("q_pop"),
      input("c2l_nonempty"), output("c2l_pop"), output("l2c_push"),
      output("rd_req"), output("rd_addr", 32), output("rd_len", 32), output("rd_size", 4), input("rd_ack"), input("rd_data", c.W),
      output("inp_we"), output("inp_waddr", c.inpAW), output("inp_wdata", c.E.inp * 8),
      output("wgt_we"), output("wgt_waddr", c.wgtAW), output("wgt_wdata", c.E.wgt * 8),
      output("idle"), output("active"),
    ],
    items: [
      localparam("S_IDLE", "2'd0"), localparam("S_WAIT", "2'd1"), localparam("S_RUN", "2'd2"), localparam("S_DONE", "2'd3"),
      reg("st", 2), reg("insn", 128), reg("start"),
      wire("ready"), wire("is_inp"), wire("ld_done"), wire("ld_we"), wire("ld_waddr", 16), wire("ld_wdata", BUFW),
      assign("ready", `!${field("load", "popNext")} || c2l_nonempty`),
      assign("is_inp", `${memType} == 3'd2`),
      assign("q_pop", "st == S_IDLE && !q_empty"),
      assign("c2l_pop", `st == S_WAIT && ready && ${field("load", "popNext")}`),
      assign("l2c_push", `st == S_DONE && ${field("load", "pushNext")}`),
      assign("inp_we", "ld_we && is_inp"), assign("inp_waddr", `ld_waddr[${c.inpAW - 1}:0]`), assign("inp_wdata", `ld_wdata[${c.E.inp * 8 - 1}:0]`),
      assign("wgt_we", "ld_we && !is_inp"), assign("wgt_waddr", `ld_waddr[${c.wgtAW - 1}:0]`), assign("wgt_wdata", `ld_wdata[${c.E.wgt * 8 - 1}:0]`),
      assign("idle", "st == S_IDLE"),
      assign("active", "(st == S_IDLE && !q_empty) || (st == S_WAIT && ready) || st == S_RUN || st == S_DONE"),
      {
        k: "inst", module: "vta_loader_load", name: "loader", conns: {
          clk: "clk", rst: "rst", start: "start", sel: "is_inp",
          sram_base: field("load", "sramBase"), dram_base: field("load", "dramBase"), y_size: field("load", "ySize"),
          x_size: field("load", "xSize"), x_stride: field("load", "xStride"), y_pad0: field("load", "yPad0"),
          y_pad1: field("load", "yPad1"), x_pad0: field("load", "xPad0"), x_pad1: field("load", "xPad1"),
          done: "ld_done", rd_req: "rd_req", rd_addr: "rd_addr", rd_len: "rd_len", rd_size: "rd_size", rd_ack: "rd_ack", rd_data: "rd_data",
          we: "ld_we", waddr: "ld_waddr", wdata: "ld_wdata",
        },
      },
      always([
        nb("start", 0),
        iff("rst", [nb("st", "S_IDLE")], [
          cases("st", {
            S_IDLE: [iff("!q_empty", [nb("insn", "q_dout"), nb("st", "S_WAIT")])],
            S_WAIT: [iff("ready", [nb("start", 1), nb("st", "S_RUN")])],
            S_RUN: [iff("ld_done", [nb("st", "S_DONE")])],
            S_DONE: [nb("st", "S_IDLE")],
          }),
        ]),
      ]),
    ],
  };
}
