// Lathe VTA: Verilator harness. Drives the generated vta_top with a DRAM model and reports
// the result. The DRAM model serves four ports (fetch/load/compute reads, store writes) with
// a fixed latency, one burst at a time per port, exactly as tb.v does under Icarus
// (compiler/targets/vta/hw/harness.ts states the protocol): a request is a burst of
// rd_len / wr_len beats; after the latency, one beat per cycle. Port data of any width goes
// through vta_ports.h, generated with the design.
//
// usage: Vvta_top <dram-in.bin> <dram-out.bin> <insn_base> <insn_count> <latency> <max_cycles>
// prints one line: {"status":"ok"|"deadlock"|"timeout", "cycles":N, ...}; exit 0, 3 (deadlock), 4 (timeout)
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include "Vvta_top.h"
#include "verilated.h"
#include "vta_ports.h"

namespace {

std::vector<uint8_t> dram;
uint64_t bus_read = 0, bus_written = 0;

void read_beat(uint64_t addr, uint8_t* out) {
  for (int i = 0; i < VTA_WB; i++) out[i] = addr + i < dram.size() ? dram[addr + i] : 0;
  bus_read += VTA_WB;
}

struct Port { bool ack = false; int wait = 0; uint32_t left = 0; uint64_t at = 0, step = 0; };

// One read port's model: given the request sampled before the clock edge, decide the
// acknowledge (and data) visible after it.
bool step_read(Port& p, bool rst, bool req, uint64_t addr, uint32_t len, unsigned size, int latency, uint8_t* data) {
  if (rst) return false;
  if (p.left > 0) { p.left--; read_beat(p.at, data); p.at += p.step; return true; }  // the rest of a burst
  if (req && !p.ack) {
    if (p.wait >= latency) {
      p.wait = 0; p.left = len > 1 ? len - 1 : 0; p.step = uint64_t(1) << size;
      read_beat(addr, data); p.at = addr + p.step;
      return true;
    }
    p.wait++;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) { std::fprintf(stderr, "usage: %s dram-in dram-out insn_base insn_count latency max_cycles\n", argv[0]); return 2; }
  FILE* f = std::fopen(argv[1], "rb");
  if (!f) { std::fprintf(stderr, "cannot open %s\n", argv[1]); return 2; }
  std::fseek(f, 0, SEEK_END); long n = std::ftell(f); std::fseek(f, 0, SEEK_SET);
  dram.resize(n);
  if (n > 0 && std::fread(dram.data(), 1, n, f) != static_cast<size_t>(n)) { std::fprintf(stderr, "short read\n"); return 2; }
  std::fclose(f);
  const uint32_t insn_base = std::strtoul(argv[3], nullptr, 10), insn_count = std::strtoul(argv[4], nullptr, 10);
  const int latency = std::atoi(argv[5]);
  const uint64_t max_cycles = std::strtoull(argv[6], nullptr, 10);

  Verilated::randReset(2);  // registers start random, not zero: reset bugs show up here too
  Vvta_top* t = new Vvta_top;
  Port pf, pl, pc, ps;
  uint8_t df[VTA_WB], dl[VTA_WB], dc[VTA_WB], ds[VTA_WB];
  t->clk = 0; t->rst = 1; t->start = 0;
  t->fetch_rd_ack = 0; t->load_rd_ack = 0; t->comp_rd_ack = 0; t->st_wr_ack = 0;
  t->eval();

  // One clock: sample the outputs, step the DRAM model, rising edge, then apply the model's outputs.
  auto tick = [&]() {
    if (t->rst) pf = pl = pc = ps = Port{};  // the DRAM model resets with the design, as tb.v's does
    const bool af = step_read(pf, t->rst, t->fetch_rd_req, t->fetch_rd_addr, t->fetch_rd_len, t->fetch_rd_size, latency, df);
    const bool al = step_read(pl, t->rst, t->load_rd_req, t->load_rd_addr, t->load_rd_len, t->load_rd_size, latency, dl);
    const bool ac = step_read(pc, t->rst, t->comp_rd_req, t->comp_rd_addr, t->comp_rd_len, t->comp_rd_size, latency, dc);
    // The write port: ready (st_wr_ack) from `latency` + 1 edges after a burst request until
    // its last beat is taken; a beat is taken at an edge where it is offered while ready.
    bool aw = false;
    if (!t->rst && ps.left > 0) {
      aw = true;
      if (t->st_wr_valid) {
        uint8_t bytes[VTA_WB];
        vta_get_st_wr_data(t, bytes);
        for (int i = 0; i < VTA_WB; i++) {
          if (vta_strb(t, i) && ps.at + i < dram.size()) { dram[ps.at + i] = bytes[i]; bus_written++; }
        }
        ps.at += ps.step;
        aw = --ps.left > 0;
      }
    } else if (!t->rst && t->st_wr_req) {
      if (ps.wait >= latency) { ps.wait = 0; ps.left = t->st_wr_len > 1 ? t->st_wr_len : 1; ps.at = t->st_wr_addr; ps.step = uint64_t(1) << t->st_wr_size; aw = true; }
      else ps.wait++;
    }
    t->clk = 1; t->eval();
    pf.ack = af; pl.ack = al; pc.ack = ac; ps.ack = aw;
    t->fetch_rd_ack = af; t->load_rd_ack = al; t->comp_rd_ack = ac; t->st_wr_ack = aw;
    if (af) vta_set_fetch_rd_data(t, df);
    if (al) vta_set_load_rd_data(t, dl);
    if (ac) vta_set_comp_rd_data(t, dc);
    t->clk = 0; t->eval();
  };

  for (int i = 0; i < 3; i++) tick();
  t->rst = 0; tick();
  t->insn_base = insn_base; t->insn_count = insn_count; t->start = 1; tick(); t->start = 0;
  uint64_t cycles = 1, idle = 0;
  const char* status = "ok";
  int rc = 0;
  // VTA_TRACE=1: one line per cycle (the Icarus testbench prints the same with +TRACE) to diff the two.
  const bool trace = std::getenv("VTA_TRACE") != nullptr;
  while (!t->done) {
    tick(); cycles++;
    if (trace) {
      std::fprintf(stderr, "%llu req=%d%d%d%d ack=%d%d%d%d state=%02x active=%d\n", (unsigned long long)cycles,
                   t->fetch_rd_req, t->load_rd_req, t->comp_rd_req, t->st_wr_req,
                   t->fetch_rd_ack, t->load_rd_ack, t->comp_rd_ack, t->st_wr_ack, (unsigned)t->state, t->active);
    }
    idle = t->active ? 0 : idle + 1;
    if (idle > 64) { status = "deadlock"; rc = 3; break; }
    if (cycles > max_cycles) { status = "timeout"; rc = 4; break; }
  }
  FILE* o = std::fopen(argv[2], "wb");
  if (!o || (dram.size() > 0 && std::fwrite(dram.data(), 1, dram.size(), o) != dram.size())) { std::fprintf(stderr, "cannot write %s\n", argv[2]); return 2; }
  std::fclose(o);
  std::printf("{\"status\":\"%s\",\"cycles\":%llu,\"gemmCycles\":%llu,\"aluCycles\":%llu,\"busBytesRead\":%llu,\"busBytesWritten\":%llu,\"state\":%u}\n",
              status, (unsigned long long)cycles, (unsigned long long)t->gemm_cycles, (unsigned long long)t->alu_cycles, (unsigned long long)bus_read,
              (unsigned long long)bus_written, (unsigned)t->state);
  t->final();
  delete t;
  return rc;
}
