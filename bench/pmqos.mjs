// pmqos.mjs — hold a CPU-latency request of 0 us for the rest of this
// process (Linux PM QoS, /dev/cpu_dma_latency: the interface tuned's
// latency-performance profile uses). Idle CPUs then poll instead of
// halting. On a VM a halted vCPU takes 0.3-1 ms to wake when a packet
// arrives, which otherwise dominates any latency figure below saturation
// (docs/openai.md). Needs root; the request ends when the process exits.
import { openSync, writeSync } from 'node:fs';

// mode: 'auto' (hold it when possible), '1' (must), '0' (do not).
// Returns true when the request is held.
export function holdCpuLatency(mode = 'auto') {
  if (mode === '0') return false;
  try {
    const fd = openSync('/dev/cpu_dma_latency', 'w');   // kept open on purpose
    const b = Buffer.alloc(4);
    b.writeInt32LE(0);
    writeSync(fd, b);
    return true;
  } catch (e) {
    if (mode === '1') throw e;
    return false;
  }
}

export const describe = (held) =>
  held ? 'CPU latency request: 0 us (idle CPUs poll)' : 'CPU latency request: none (idle CPUs may halt)';
