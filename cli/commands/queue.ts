/** `lathe queue status --queue URL`: the queue's live workers and its depth per device key. */
import { Command } from "commander";
import { formatTable } from "../../bench/lib/report.ts";
import { QueueClient } from "../../compiler/distributed/client.ts";
import { parseQueueUrl } from "../../compiler/distributed/queue-url.ts";
import { queueStatus } from "../../compiler/distributed/status.ts";

/** "3m12s" for a start time. */
export function aliveFor(since: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(since)) / 1000));
  if (!Number.isFinite(s)) return "?";
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, "0")}m` : m > 0 ? `${m}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

function statusCommand(): Command {
  return new Command("status")
    .description("list the live workers (device key, host, alive since, jobs done, failures) and each device key's queue depth")
    .requiredOption("--queue <url>", "the queue: redis://[:password@]host[:port] (rediss:// for TLS)")
    .action(async (opts: { queue: string }) => {
      const client = await QueueClient.open(parseQueueUrl(opts.queue));
      try {
        const s = await queueStatus(client);
        console.log(`queue ${s.server}`);
        console.log(`workers: ${s.workers.length}`);
        if (s.workers.length > 0) {
          console.log(formatTable(
            ["device", "worker", "host", "alive since", "jobs done", "failures", "jobs at once", "version"],
            s.workers.map((w) => [w.device, w.id, w.host, `${w.since.replace(/\.\d+Z$/, "Z")} (${aliveFor(w.since)})`, String(w.done), String(w.failed), String(w.concurrency), w.version]),
          ));
        }
        console.log(`queues: ${s.queues.length}`);
        if (s.queues.length > 0) {
          console.log(formatTable(
            ["device", "waiting", "active", "delayed", "completed", "failed"],
            s.queues.map((q) => [q.device, String(q.waiting), String(q.active), String(q.delayed), String(q.completed), String(q.failed)]),
          ));
        }
      } finally {
        await client.close();
      }
    });
}

export function queueCommand(): Command {
  return new Command("queue").description("inspect a job queue that lathe workers serve").addCommand(statusCommand());
}
