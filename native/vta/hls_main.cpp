// Lathe VTA: C-simulation driver for the generated HLS C++ (vta_hls.h). Same command line
// and result line as the Verilator harness; latency and max_cycles are accepted and
// ignored (C-simulation has no clock).
//
// usage: vta_csim <dram-in.bin> <dram-out.bin> <insn_base> <insn_count> <latency> <max_cycles>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include "vta_hls.h"

static vta::Buffers buffers;  // static: large, and zero like a freshly configured FPGA's BRAM

int main(int argc, char** argv) {
  if (argc != 7) { std::fprintf(stderr, "usage: %s dram-in dram-out insn_base insn_count latency max_cycles\n", argv[0]); return 2; }
  FILE* f = std::fopen(argv[1], "rb");
  if (!f) { std::fprintf(stderr, "cannot open %s\n", argv[1]); return 2; }
  std::fseek(f, 0, SEEK_END); long n = std::ftell(f); std::fseek(f, 0, SEEK_SET);
  std::vector<uint8_t> bytes(n);
  if (n > 0 && std::fread(bytes.data(), 1, n, f) != static_cast<size_t>(n)) { std::fprintf(stderr, "short read\n"); return 2; }
  std::fclose(f);
  vta::Dram dram{bytes.data(), bytes.size(), 0, 0};
  const vta::Status st = vta::vta(std::strtoul(argv[3], nullptr, 10), std::strtoul(argv[4], nullptr, 10), dram, buffers);
  FILE* o = std::fopen(argv[2], "wb");
  if (!o || (n > 0 && std::fwrite(bytes.data(), 1, n, o) != static_cast<size_t>(n))) { std::fprintf(stderr, "cannot write %s\n", argv[2]); return 2; }
  std::fclose(o);
  std::printf("{\"status\":\"%s\",\"cycles\":0,\"gemmCycles\":0,\"busBytesRead\":%llu,\"busBytesWritten\":%llu}\n",
              st == vta::OK ? "ok" : "deadlock", (unsigned long long)dram.bus_read, (unsigned long long)dram.bus_written);
  return st == vta::OK ? 0 : 3;
}
